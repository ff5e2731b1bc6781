"""The camt.053 statement a French bank exports, as the payments tests build it."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

OUR_IBAN = "FR7630006000011234567890189"


@dataclass
class Tx:
    amount: str
    side: str = "CRDT"
    reference: str = ""  # structured: Strd/CdtrRefInf/Ref
    text: str = ""  # unstructured: Ustrd
    debtor: str = "Someone"
    iban: str = "DE89370400440532013000"
    booked: str = "2026-01-15"
    currency: str = "EUR"


def camt053(*txs: Tx, statement_id: str = "STMT-2026-01", currency: str = "EUR") -> bytes:
    """A camt.053.001.02 statement as French banks export it: one Ntry per transfer."""
    entries = []
    for number, tx in enumerate(txs, 1):
        remittance = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{escape(tx.reference)}</Ref></CdtrRefInf></Strd>"
            if tx.reference
            else f"<Ustrd>{escape(tx.text)}</Ustrd>"
        )
        party = "Dbtr" if tx.side == "CRDT" else "Cdtr"
        entries.append(f"""
      <Ntry>
        <NtryRef>{number}</NtryRef>
        <Amt Ccy="{tx.currency}">{tx.amount}</Amt>
        <CdtDbtInd>{tx.side}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{tx.booked}</Dt></BookgDt>
        <ValDt><Dt>{tx.booked}</Dt></ValDt>
        <AcctSvcrRef>{statement_id}-{number:05d}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>E2E-{number}</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="{tx.currency}">{tx.amount}</Amt></TxAmt></AmtDtls>
          <RltdPties>
            <{party}><Nm>{escape(tx.debtor)}</Nm></{party}>
            <{party}Acct><Id><IBAN>{tx.iban}</IBAN></Id></{party}Acct>
          </RltdPties>
          <RmtInf>{remittance}</RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-01-31T20:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <CreDtTm>2026-01-31T20:00:00</CreDtTm>
      <FrToDt><FrDtTm>2026-01-01T00:00:00</FrDtTm><ToDtTm>2026-01-31T23:59:59</ToDtTm></FrToDt>
      <Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-31</Dt></Dt></Bal>{"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()
