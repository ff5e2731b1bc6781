"""SEPA direct debit files: the pain.008.001.02 message a batch is (written by sepaxml, checked
against the ISO 20022 schema it ships) and the bank's returns read back: its pain.002 status
report, or its camt.054 debit notification.

No database here: the services hand plain values in and get bytes or rows out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import sepaxml
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from lxml import etree
from sepaxml import SepaDD

PAIN_008 = "pain.008.001.02"
SCHEMA = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_008}.xsd"
# The ISO 20022 schemas of the bank's files Cadence reads (payments/schemas/README.md): the
# test files are checked against them; what a bank sends is read defensively (other versions).
SCHEMAS = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    identifier: str


@dataclass(frozen=True)
class Debit:
    end_to_end_id: str
    amount: Decimal
    sequence_type: str  # FRST or RCUR
    collection_date: date
    mandate_reference: str
    mandate_signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    description: str


class InvalidFile(Exception):
    """A file that is not what it should be; the message says why, for the operator."""


# Our own files, and the schemas shipped with the code: nothing from outside is resolved.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@functools.cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), _PARSER))


def schema_errors(xml: bytes | str, schema: Path = SCHEMA) -> list[str]:
    """Why the message is not valid against `schema` (pain.008.001.02 unless said; empty when
    it is). libxml2 (lxml): a batch of 10,000 debits is checked in a fraction of a second,
    where xmlschema took seconds (the tests check with both)."""
    content = xml.encode() if isinstance(xml, str) else xml
    try:
        document = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as error:
        return [str(error)]
    validator = _schema(schema)
    if validator.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in validator.error_log]


def pain008(*, creditor: Creditor, debits: list[Debit]) -> tuple[str, bytes]:
    """(message id, XML) of one pain.008.001.02 message holding the debits, grouped by sequence
    type and collection date as the scheme wants. Not validated here: see schema_errors."""
    document = SepaDD(
        {
            "name": creditor.name,
            "IBAN": creditor.iban,
            "BIC": creditor.bic,
            "batch": True,
            "creditor_id": creditor.identifier,
            "currency": "EUR",
        },
        schema=PAIN_008,
        clean=True,  # names and texts transliterated to the scheme's Latin characters
    )
    for debit in debits:
        payment = {
            "name": debit.debtor_name,
            "IBAN": debit.debtor_iban,
            "amount": _cents(debit.amount),
            "type": debit.sequence_type,
            "collection_date": debit.collection_date,
            "mandate_id": debit.mandate_reference,
            "mandate_date": debit.mandate_signed_on,
            "description": debit.description,
            "endtoend_id": debit.end_to_end_id,
        }
        if debit.debtor_bic:
            payment["BIC"] = debit.debtor_bic
        document.add_payment(payment)
    return document.msg_id, document.export(validate=False)


def _cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not an amount to the cent")
    return int(cents)


# pain.002: the bank's payment status report ------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A debit the bank rejected or returned: by its end-to-end id, or a whole message by its
    id (end_to_end_id empty), with the reason code. A camt.054 entry also names the mandate and
    the amount (the debit is found by them when the end-to-end id is missing) and the day the
    bank booked it."""

    message_id: str
    end_to_end_id: str
    reason: str
    mandate_reference: str = ""
    amount: Decimal | None = None
    day: date | None = None


@dataclass(frozen=True)
class StatusReport:
    day: date | None
    rejections: list[Rejection]
    kind: str = "pain.002"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, name: str):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _path_text(element, *names: str) -> str:
    for name in names:
        if element is None:
            return ""
        element = _child(element, name)
    return (element.text or "").strip() if element is not None else ""


def _reason(element) -> str:
    info = _child(element, "StsRsnInf")
    return _path_text(info, "Rsn", "Cd") if info is not None else ""


def _root(content: bytes):
    try:
        return ElementTree.fromstring(content, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise InvalidFile(f"not an XML file ({error})") from None


def returns_report(content: bytes) -> StatusReport:
    """The returns of a pain.002 status report or a camt.054 debit notification, whichever the
    file is (told by its message element)."""
    root = _root(content)
    if _local(root.tag) == "Document" and _child(root, "BkToCstmrDbtCdtNtfctn") is not None:
        return camt054(content)
    return pain002(content)


def pain002(content: bytes) -> StatusReport:
    """The rejections a pain.002 (any version: read by the elements' names) reports: each
    transaction with status RJCT, and a message rejected as a whole."""
    root = _root(content)
    report = _child(root, "CstmrPmtStsRpt") if _local(root.tag) == "Document" else None
    if report is None:
        raise InvalidFile(
            "neither a pain.002 payment status report (no CstmrPmtStsRpt) nor a camt.054 "
            "debit notification (no BkToCstmrDbtCdtNtfctn)"
        )
    created = _path_text(report, "GrpHdr", "CreDtTm")[:10]
    try:
        day = date.fromisoformat(created) if created else None
    except ValueError:
        day = None
    group = _child(report, "OrgnlGrpInfAndSts")
    message_id = _path_text(group, "OrgnlMsgId")
    rejections: list[Rejection] = []
    transactions = [
        transaction
        for block in report
        if _local(block.tag) == "OrgnlPmtInfAndSts"
        for transaction in block
        if _local(transaction.tag) == "TxInfAndSts"
    ]
    for transaction in transactions:
        if _path_text(transaction, "TxSts") != "RJCT":
            continue
        rejections.append(
            Rejection(
                message_id=message_id,
                end_to_end_id=_path_text(transaction, "OrgnlEndToEndId"),
                reason=_reason(transaction),
            )
        )
    if not transactions and group is not None and _path_text(group, "GrpSts") == "RJCT":
        rejections.append(Rejection(message_id=message_id, end_to_end_id="", reason=_reason(group)))
    return StatusReport(day=day, rejections=rejections)


# camt.054: the bank's debit notification -------------------------------------------------------


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except (ArithmeticError, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def camt054(content: bytes) -> StatusReport:
    """The returned direct debits a camt.054 debit notification (any version: read by the
    elements' names) reports: each booked debit entry's transaction that carries return
    information (RtrInf), with its reason code, original end-to-end id, mandate and amount.
    Credits, pending entries and debits without return information are not returns."""
    root = _root(content)
    message = _child(root, "BkToCstmrDbtCdtNtfctn") if _local(root.tag) == "Document" else None
    if message is None:
        raise InvalidFile("not a camt.054 debit notification (no BkToCstmrDbtCdtNtfctn)")
    message_id = _path_text(message, "GrpHdr", "MsgId")
    rejections: list[Rejection] = []
    for notification in message:
        if _local(notification.tag) != "Ntfctn":
            continue
        for entry in notification:
            if _local(entry.tag) != "Ntry":
                continue
            status = _path_text(entry, "Sts") or _path_text(entry, "Sts", "Cd")
            if _path_text(entry, "CdtDbtInd") != "DBIT" or status not in ("", "BOOK"):
                continue
            booked = _date(
                _path_text(entry, "BookgDt", "Dt") or _path_text(entry, "BookgDt", "DtTm")
            )
            entry_amount = _amount(_path_text(entry, "Amt"))
            transactions = [
                tx
                for details in entry
                if _local(details.tag) == "NtryDtls"
                for tx in details
                if _local(tx.tag) == "TxDtls"
            ]
            for tx in transactions:
                info = _child(tx, "RtrInf")
                if info is None:
                    continue
                end_to_end_id = _path_text(tx, "Refs", "EndToEndId")
                amount = _amount(_path_text(tx, "AmtDtls", "TxAmt", "Amt")) or _amount(
                    _path_text(tx, "AmtDtls", "InstdAmt", "Amt")
                )
                if amount is None and len(transactions) == 1:
                    amount = entry_amount
                rejections.append(
                    Rejection(
                        message_id=message_id,
                        end_to_end_id="" if end_to_end_id == "NOTPROVIDED" else end_to_end_id,
                        reason=_path_text(info, "Rsn", "Cd"),
                        mandate_reference=_path_text(tx, "Refs", "MndtId"),
                        amount=amount,
                        day=booked,
                    )
                )
    created = _path_text(message, "GrpHdr", "CreDtTm")
    return StatusReport(day=_date(created), rejections=rejections, kind="camt.054")


def payment_groups(xml: str) -> dict[str, list[str]]:
    """The payment information blocks of one of our pain.008 messages: their ids (PmtInfId, what
    the bank's statement books a batch by) and the end-to-end ids each holds."""
    root = _root(xml.encode())
    groups: dict[str, list[str]] = {}
    for initiation in root:
        for info in initiation:
            if _local(info.tag) != "PmtInf":
                continue
            ids = groups.setdefault(_path_text(info, "PmtInfId"), [])
            for tx in info:
                if _local(tx.tag) == "DrctDbtTxInf":
                    ids.append(_path_text(tx, "PmtId", "EndToEndId"))
    return groups
