"""The bank's files as a bank writes them (ISO 20022, version 001.02), for the SEPA tests: a
camt.053 statement whose entries collect or return our direct debits, and a camt.054 debit
notification of returned debits. Both are valid against the schemas in payments/schemas/."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from payments import sepa

OUR_IBAN = "FR7630006000011234567890189"


@dataclass
class Entry:
    amount: Decimal
    side: str = "CRDT"  # CRDT or DBIT
    booked: date = date(2026, 2, 2)
    bank_reference: str = ""
    end_to_end_ids: tuple[str, ...] = ()
    batch_message_id: str = ""
    payment_info_id: str = ""
    mandate: str = ""
    reason: str = ""  # a return's reason code (RtrInf)
    family: str = "IDDT"  # issued direct debits
    sub_family: str = "ESDD"  # ESDD collected, UPDD unpaid (returned)


def _entry(position: int, entry: Entry) -> str:
    bank_reference = entry.bank_reference or f"BANK-{position:06d}"
    batch = ""
    if entry.batch_message_id or entry.payment_info_id:
        batch = (
            "<Btch>"
            + (f"<MsgId>{entry.batch_message_id}</MsgId>" if entry.batch_message_id else "")
            + (f"<PmtInfId>{entry.payment_info_id}</PmtInfId>" if entry.payment_info_id else "")
            + f"<NbOfTxs>{max(len(entry.end_to_end_ids), 1)}</NbOfTxs></Btch>"
        )
    transactions = "".join(
        "<TxDtls><Refs>"
        + (f"<PmtInfId>{entry.payment_info_id}</PmtInfId>" if entry.payment_info_id else "")
        + f"<EndToEndId>{e2e}</EndToEndId>"
        + (f"<MndtId>{entry.mandate}</MndtId>" if entry.mandate else "")
        + "</Refs>"
        + (
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{entry.amount}</Amt></TxAmt></AmtDtls>'
            if len(entry.end_to_end_ids) == 1
            else ""
        )
        + "<RltdPties><Dbtr><Nm>Bernard Martin</Nm></Dbtr></RltdPties>"
        + (f"<RtrInf><Rsn><Cd>{entry.reason}</Cd></Rsn></RtrInf>" if entry.reason else "")
        + "</TxDtls>"
        for e2e in entry.end_to_end_ids
    )
    details = f"<NtryDtls>{batch}{transactions}</NtryDtls>" if batch or transactions else ""
    return (
        f'<Ntry><NtryRef>{position}</NtryRef><Amt Ccy="EUR">{entry.amount}</Amt>'
        f"<CdtDbtInd>{entry.side}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{entry.booked.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{entry.booked.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{bank_reference}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{entry.family}</Cd>"
        f"<SubFmlyCd>{entry.sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{details}</Ntry>"
    )


def camt053(*entries: Entry, statement_id: str = "STMT-2026-02") -> bytes:
    body = "".join(_entry(position, entry) for position, entry in enumerate(entries, 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>{statement_id}-MSG</MsgId>"
        "<CreDtTm>2026-02-03T06:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2026-02-03T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-01</Dt></Dt></Bal>"
        f"{body}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def camt054(*entries: Entry, message_id: str = "NTF-2026-02-05") -> bytes:
    body = "".join(_entry(position, entry) for position, entry in enumerate(entries, 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'
        f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{message_id}</MsgId>"
        "<CreDtTm>2026-02-05T06:00:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{message_id}-1</Id><CreDtTm>2026-02-05T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{body}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def returned(e2e: str, amount: str, reason: str, *, mandate: str = "", **kwargs) -> Entry:
    """A debit of ours coming back: booked on our account as a debit, with its reason."""
    return Entry(
        amount=Decimal(amount),
        side="DBIT",
        end_to_end_ids=(e2e,),
        mandate=mandate,
        reason=reason,
        sub_family="UPDD",
        **kwargs,
    )


def schema_errors(content: bytes, message: str) -> list[str]:
    """Why `content` is not valid against payments/schemas/<message>.xsd (empty: it is)."""
    return sepa.schema_errors(content, sepa.SCHEMAS / f"{message}.xsd")
