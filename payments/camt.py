"""Reading a camt.053 bank statement (ISO 20022 BkToCstmrStmt), safely.

The file comes from an operator's upload: it is parsed with defusedxml, which refuses entity
declarations (the "billion laughs"), external entities and DTDs. No well-kept Python package
ships the camt.053 XSD, so the file is not validated against the schema: it is read
defensively instead, and a file that is not a camt.053 statement (another message, another
namespace, a missing account, amount, side or booking date) is refused with a message that
says what is wrong. Versions 001.02 to 001.13 share the elements read here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _

from core.banking import compact_iban
from core.errors import ApplicationError

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
# A month of a busy account is a few megabytes; this is far above it and far below harm.
MAX_BYTES = 50 * 1024 * 1024


@dataclass
class ParsedEntry:
    position: int
    booking_date: date
    amount: Decimal
    currency: str
    direction: str  # CRDT or DBIT
    booked: bool
    bank_reference: str = ""
    structured_reference: str = ""
    remittance_information: str = ""
    debtor_name: str = ""
    debtor_iban: str = ""
    # What names our own SEPA direct debits: the end-to-end ids of the entry's transactions,
    # the ids of the pain.008 message and payment information it books (a batch booking), the
    # mandate, and the reason a returned debit came back with.
    end_to_end_ids: list[str] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    mandate_reference: str = ""
    return_reason: str = ""


@dataclass
class ParsedStatement:
    file_hash: str
    message_id: str
    statement_id: str
    account_iban: str
    currency: str
    period_start: date | None
    period_end: date | None
    entries: list[ParsedEntry] = field(default_factory=list)


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise ApplicationError(
            _("This file is larger than %(size)s MB: import one statement at a time.")
            % {"size": MAX_BYTES // (1024 * 1024)},
            field="file",
        )


def parse_statement(content: bytes) -> ParsedStatement:
    """The statement a camt.053 file holds; an ApplicationError says why a file is refused."""
    check_size(len(content))
    try:
        root = fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        raise ApplicationError(
            _(
                "This file declares a DTD or XML entities, which a bank statement never does: "
                "it is refused for safety."
            ),
            field="file",
        ) from None
    except (ParseError, ValueError):
        raise ApplicationError(
            _("This file is not XML: a camt.053 statement is the XML file your bank exports."),
            field="file",
        ) from None
    namespace, _sep, name = (
        root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    )
    if not namespace.startswith(NAMESPACE_PREFIX) or name != "Document":
        raise ApplicationError(
            _(
                "This XML file is not a camt.053 bank statement (it is “%(found)s”): export the "
                "account statement in the ISO 20022 camt.053 format from your bank."
            )
            % {"found": namespace or name},
            field="file",
        )
    reader = _Reader(namespace)
    message = reader.find(root, "BkToCstmrStmt")
    if message is None:
        raise ApplicationError(
            _("This camt.053 file holds no bank-to-customer statement (BkToCstmrStmt)."),
            field="file",
        )
    statements = reader.findall(message, "Stmt")
    if len(statements) != 1:
        raise ApplicationError(
            _(
                "This file holds %(count)s statements: import a file with the statement of one "
                "account."
            )
            % {"count": len(statements)},
            field="file",
        )
    stmt = statements[0]
    iban = compact_iban(reader.text(stmt, "Acct/Id/IBAN"))
    statement_id = reader.text(stmt, "Id")
    if not iban or not statement_id:
        raise ApplicationError(
            _("This statement has no account IBAN or no statement id: it cannot be imported."),
            field="file",
        )
    currency = reader.text(stmt, "Acct/Ccy")
    entries = [
        reader.entry(ntry, position)
        for position, ntry in enumerate(reader.findall(stmt, "Ntry"), 1)
    ]
    if not currency:
        currency = entries[0].currency if entries else ""
    return ParsedStatement(
        file_hash=hashlib.sha256(content).hexdigest(),
        message_id=reader.text(message, "GrpHdr/MsgId")[:35],
        statement_id=statement_id[:35],
        account_iban=iban[:34],
        currency=currency,
        period_start=reader.date_or_none(stmt, "FrToDt/FrDtTm"),
        period_end=reader.date_or_none(stmt, "FrToDt/ToDtTm"),
        entries=entries,
    )


class _Reader:
    """Paths written without the namespace ("Acct/Id/IBAN"), read in the file's namespace."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, node: Element, path: str) -> Element | None:
        return node.find(self._path(path))

    def findall(self, node: Element, path: str) -> list[Element]:
        return node.findall(self._path(path))

    def text(self, node: Element, path: str) -> str:
        found = node.find(self._path(path))
        return " ".join((found.text or "").split()) if found is not None else ""

    def date_or_none(self, node: Element, path: str) -> date | None:
        value = self.text(node, path)
        try:
            return date.fromisoformat(value[:10]) if value else None
        except ValueError:
            return None

    def entry(self, ntry: Element, position: int) -> ParsedEntry:
        amount_node = self.find(ntry, "Amt")
        direction = self.text(ntry, "CdtDbtInd")
        booked = self.text(ntry, "BookgDt/Dt") or self.text(ntry, "BookgDt/DtTm")
        if amount_node is None or direction not in ("CRDT", "DBIT") or not booked:
            raise ApplicationError(
                _(
                    "Entry %(position)s of this statement has no amount, no credit/debit "
                    "indicator or no booking date: the file is not a complete camt.053 statement."
                )
                % {"position": position},
                field="file",
            )
        try:
            amount = Decimal((amount_node.text or "").strip())
            booking_date = date.fromisoformat(booked[:10])
        except (InvalidOperation, ValueError):
            raise ApplicationError(
                _("Entry %(position)s of this statement has an unreadable amount or date.")
                % {"position": position},
                field="file",
            ) from None
        if not amount.is_finite() or amount <= 0:
            raise ApplicationError(
                _("Entry %(position)s of this statement has an amount that is not above zero.")
                % {"position": position},
                field="file",
            )
        # One transfer per entry; a batch booking lists several: the first one's details are
        # kept (its remittance, debtor), the entry's total its amount.
        tx = self.find(ntry, "NtryDtls/TxDtls")
        status = self.text(ntry, "Sts") or self.text(ntry, "Sts/Cd")
        parsed = ParsedEntry(
            position=position,
            booking_date=booking_date,
            amount=amount,
            currency=(amount_node.get("Ccy") or "").strip().upper(),
            direction=direction,
            booked=status in ("", "BOOK"),
            bank_reference=(
                self.text(ntry, "AcctSvcrRef")
                or self.text(ntry, "NtryRef")
                or (self.text(tx, "Refs/AcctSvcrRef") if tx is not None else "")
                or (self.text(tx, "Refs/EndToEndId") if tx is not None else "")
            )[:35],
        )
        if tx is not None:
            parsed.structured_reference = self.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")[:35]
            parsed.remittance_information = " ".join(
                " ".join((node.text or "").split()) for node in self.findall(tx, "RmtInf/Ustrd")
            )[:500]
            parsed.debtor_name = (
                self.text(tx, "RltdPties/Dbtr/Nm") or self.text(tx, "RltdPties/Dbtr/Pty/Nm")
            )[:140]
            parsed.debtor_iban = compact_iban(self.text(tx, "RltdPties/DbtrAcct/Id/IBAN"))[:34]
            parsed.mandate_reference = self.text(tx, "Refs/MndtId")[:35]
            parsed.return_reason = self.text(tx, "RtrInf/Rsn/Cd")[:4]
        transactions = self.findall(ntry, "NtryDtls/TxDtls")
        parsed.end_to_end_ids = [
            e2e
            for e2e in (self.text(node, "Refs/EndToEndId")[:35] for node in transactions)
            if e2e and e2e != "NOTPROVIDED"
        ]
        batch_ids = [
            self.text(ntry, "NtryDtls/Btch/PmtInfId"),
            self.text(ntry, "NtryDtls/Btch/MsgId"),
            *(self.text(node, "Refs/PmtInfId") for node in transactions),
            *(self.text(node, "Refs/MsgId") for node in transactions),
        ]
        parsed.batch_ids = list(dict.fromkeys(ref[:35] for ref in batch_ids if ref))
        return parsed
