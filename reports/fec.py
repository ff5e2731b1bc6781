"""The FEC (Fichier des Écritures Comptables, LPF art. A47 A-1): the French legal accounting
export of a fiscal period, as a stream of lines.

Two journals, both derived from the documents and payments the back office keeps:

- **VE, sales**: each issued invoice is one entry — the customer's account 411 (with the
  customer as auxiliary account) debited with the total, each revenue account (the lines'
  ledger accounts, else FEC_REVENUE_ACCOUNT) credited with its net amounts, and VAT collected
  credited per rate (44571 and a sub-account per rate, from the invoice's tax breakdown). A
  credit note is the same entry reversed. A negative amount (a credit line on an invoice) goes
  to the other side, so that no amount is negative.
- **BQ, bank**: each payment received debits the bank (512) and credits the customer (411); a
  reversal (a returned direct debit), a refund paid by transfer or to the card, the reverse; an
  over-payment kept as customer credit is money received too (512 to 411).

Not in it, on purpose: payments made with customer credit. They move no money and no account:
the credit note (or the over-payment) already credited the customer's 411 and the invoice
debited it; spending the credit only matches the two on the customer's account (lettering),
which an accounting package does from this file. A refund to customer credit likewise is its
credit note only.

Each entry balances to the cent (an invoice's total is its net lines plus its taxes, all
rounded amounts); the generator refuses to write one that does not (FecUnbalanced), rather than
a file an auditor would reject.

Amounts are in the document's currency. Cadence keeps no exchange rates: a non-EUR entry's
Debit/Credit hold the currency amount, unconverted, and Montantdevise/Idevise repeat it with its
currency, so that an accountant can spot and convert those entries (docs/fec-and-close.md).

Streaming: documents and payments are read in id batches with `.iterator()`; each batch's lines
and taxes come aggregated in two queries. Memory is bounded by one batch, whatever the period.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine, InvoiceTax, Payment
from catalog.models import SellerProfile
from core.clock import billing_zone
from core.errors import ApplicationError
from core.pricing import ZERO
from payments.models import CreditEntry, Refund

# The columns of the norm, in its order; the header line names them exactly so.
COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)

# The accounting currency of a French company's books.
BOOK_CURRENCY = "EUR"
# The arrêté allows ASCII, ISO 8859-15 or EBCDIC: Latin-9 holds French accents and the euro sign;
# a character it lacks becomes "?" rather than failing the whole export.
ENCODING = "iso-8859-15"
# Batch of documents (or payments) read at once: bounds memory and the number of queries.
BATCH = 2000
# The longest period exported: a fiscal year, the first of which may last up to 24 months.
MAX_MONTHS = 24

# The file is a French legal document read by the tax administration: its journal and account
# labels are French whatever the operator's language, like the norm's column names (not
# translated on purpose).
SALES = ("VE", "Ventes")
BANK = ("BQ", "Banque")


def _account(name: str, default: str) -> str:
    return str(getattr(settings, name, default))


def customer_account() -> str:
    return _account("FEC_CUSTOMER_ACCOUNT", "411000")


def bank_account() -> str:
    return _account("FEC_BANK_ACCOUNT", "512000")


def revenue_account() -> str:
    """The revenue account of a line whose product or term names none (PCG 706: services)."""
    return _account("FEC_REVENUE_ACCOUNT", "706000")


def vat_account(rate: Decimal) -> str:
    """VAT collected at `rate`: 44571 and the rate's digits (20 % → 445712000, 5.5 % →
    445710550), one sub-account per rate as French VAT returns are made up."""
    return _account("FEC_VAT_ACCOUNT", "44571") + f"{rate:05.2f}".replace(".", "")


def _revenue_label(account: str) -> str:
    if account.startswith("707"):
        return "Ventes de marchandises"
    if account.startswith("708"):
        return "Produits des activités annexes"
    if account.startswith("706"):
        return "Prestations de services"
    return "Produits"


class FecUnbalanced(Exception):
    """An entry whose debits and credits differ: the data is wrong, the file is not written."""


@dataclass(frozen=True)
class FecLine:
    """One line of the file, its 18 columns as they are written (text)."""

    JournalCode: str  # the norm's column names, as it spells them
    JournalLib: str
    EcritureNum: str
    EcritureDate: str
    CompteNum: str
    CompteLib: str
    CompAuxNum: str
    CompAuxLib: str
    PieceRef: str
    PieceDate: str
    EcritureLib: str
    Debit: str
    Credit: str
    EcritureLet: str
    DateLet: str
    ValidDate: str
    Montantdevise: str
    Idevise: str

    def text(self) -> str:
        return "\t".join(getattr(self, column) for column in COLUMNS)


assert tuple(f.name for f in fields(FecLine)) == COLUMNS


def fec_date(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def fec_amount(amount: Decimal) -> str:
    """1234.5 → "1234,50": a comma, no thousands separator, two decimals."""
    return f"{amount:.2f}".replace(".", ",")


def _clean(text: str) -> str:
    """A free text as one field: no tab or line break, which would shift the columns."""
    return " ".join(str(text).split())


@dataclass(frozen=True)
class _Posting:
    account: str
    label: str
    amount: Decimal  # positive: debit; negative: credit
    aux: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class _Entry:
    journal: tuple[str, str]
    number: str
    day: date
    piece: str
    piece_day: date
    label: str
    valid_day: date
    currency: str
    postings: tuple[_Posting, ...]

    def lines(self) -> list[FecLine]:
        postings = [p for p in self.postings if p.amount != 0]
        debit = sum((p.amount for p in postings if p.amount > 0), ZERO)
        credit = -sum((p.amount for p in postings if p.amount < 0), ZERO)
        if debit != credit:
            raise FecUnbalanced(
                f"entry {self.number} of {self.day}: debit {debit} != credit {credit}"
            )
        foreign = self.currency != BOOK_CURRENCY
        return [
            FecLine(
                JournalCode=self.journal[0],
                JournalLib=self.journal[1],
                EcritureNum=self.number,
                EcritureDate=fec_date(self.day),
                CompteNum=p.account,
                CompteLib=_clean(p.label),
                CompAuxNum=p.aux[0],
                CompAuxLib=_clean(p.aux[1]),
                PieceRef=_clean(self.piece),
                PieceDate=fec_date(self.piece_day),
                EcritureLib=_clean(self.label),
                Debit=fec_amount(max(p.amount, ZERO)),
                Credit=fec_amount(max(-p.amount, ZERO)),
                EcritureLet="",
                DateLet="",
                ValidDate=fec_date(self.valid_day),
                Montantdevise=fec_amount(abs(p.amount)) if foreign else "",
                Idevise=self.currency if foreign else "",
            )
            for p in postings
        ]


def _customer(customer_id: int, name: str) -> tuple[str, str]:
    """The customer's auxiliary account: its id, stable whatever its name becomes."""
    return f"C{customer_id:06d}", name


def _batches(rows: Iterable, size: int | None = None) -> Iterator[list]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size or BATCH)):
        yield batch


# Sort keys: the file is in date order; on one date, sales before the bank, then by id.
_Keyed = tuple[tuple[date, int, int], _Entry]


def _sales(start: date, end: date) -> Iterator[_Keyed]:
    documents = (
        Invoice.objects.filter(issue_date__range=(start, end))
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("issue_date", "id")
        .values_list(
            "pk",
            "kind",
            "number",
            "issue_date",
            "total",
            "currency",
            "customer_id",
            "customer__name",
            "credited_invoice__number",
        )
    )
    customer = customer_account()
    for batch in _batches(documents.iterator(chunk_size=BATCH)):
        ids = [row[0] for row in batch]
        revenue: dict[int, dict[str, Decimal]] = defaultdict(dict)
        for invoice_id, account, net in (
            InvoiceLine.objects.filter(invoice_id__in=ids)
            .values("invoice_id", "ledger_account")
            .annotate(net=Sum("net"))
            .order_by("invoice_id", "ledger_account")
            .values_list("invoice_id", "ledger_account", "net")
        ):
            account = account or revenue_account()
            by_account = revenue[invoice_id]
            by_account[account] = by_account.get(account, ZERO) + net
        vat: dict[int, dict[Decimal, Decimal]] = defaultdict(dict)
        for invoice_id, rate, tax in (
            InvoiceTax.objects.filter(invoice_id__in=ids)
            .values("invoice_id", "rate")
            .annotate(tax=Sum("tax"))
            .order_by("invoice_id", "rate")
            .values_list("invoice_id", "rate", "tax")
        ):
            vat[invoice_id][rate] = tax
        for pk, kind, number, day, total, currency, customer_id, name, credited in batch:
            # An invoice debits its customer and credits revenue and VAT; a credit note the
            # reverse (its amounts are stored positive).
            sign = Decimal(1) if kind == Invoice.Kind.INVOICE else Decimal(-1)
            postings = [
                _Posting(customer, "Clients", sign * total, _customer(customer_id, name)),
                *(
                    _Posting(account, _revenue_label(account), -sign * net)
                    for account, net in sorted(revenue[pk].items())
                ),
                *(
                    _Posting(vat_account(rate), f"TVA collectée {fec_amount(rate)} %", -sign * tax)
                    for rate, tax in sorted(vat[pk].items())
                ),
            ]
            label = (
                f"Facture {number} {name}"
                if kind == Invoice.Kind.INVOICE
                else f"Avoir {number} sur {credited or ''} {name}"
            )
            yield (
                (day, 0, pk),
                _Entry(SALES, number, day, number, day, label, day, currency, tuple(postings)),
            )


def _received(start: date, end: date) -> Iterator[_Keyed]:
    """Payments and their reversals, but for customer credit (module docstring)."""
    payments = (
        Payment.objects.filter(received_on__range=(start, end))
        .exclude(method=Payment.Method.CUSTOMER_CREDIT)
        .order_by("received_on", "id")
        .values_list(
            "pk",
            "amount",
            "currency",
            "received_on",
            "reference",
            "method",
            "recorded_at",
            "invoice__number",
            "invoice__customer_id",
            "invoice__customer__name",
        )
    )
    zone = billing_zone()
    methods = dict(_METHODS)
    for (
        pk,
        amount,
        currency,
        day,
        reference,
        method,
        recorded_at,
        number,
        customer_id,
        name,
    ) in payments.iterator(chunk_size=BATCH):
        what = "Règlement" if amount > 0 else "Rejet du règlement"
        # Validated when it was recorded (a statement imported later), never before its date.
        valid = max(day, timezone.localtime(recorded_at, zone).date())
        yield (
            (day, 1, pk),
            _bank_entry(
                f"P{pk}",
                day,
                reference or number,
                f"{what} {number} {methods.get(method, method)} {name}",
                valid,
                currency,
                amount,
                _customer(customer_id, name),
            ),
        )


_METHODS = (
    (Payment.Method.BANK_TRANSFER, "virement"),
    (Payment.Method.CARD, "carte"),
    (Payment.Method.SEPA_DEBIT, "prélèvement"),
)


def _overpaid(start: date, end: date) -> Iterator[_Keyed]:
    """Money received beyond an invoice's balance, kept as the customer's credit."""
    entries = (
        CreditEntry.objects.filter(kind=CreditEntry.Kind.OVERPAYMENT, day__range=(start, end))
        .order_by("day", "id")
        .values_list(
            "pk",
            "amount",
            "currency",
            "day",
            "invoice__number",
            "customer_id",
            "customer__name",
            "created_at",
        )
    )
    zone = billing_zone()
    for pk, amount, currency, day, number, customer_id, name, created_at in entries.iterator(
        chunk_size=BATCH
    ):
        valid = max(day, timezone.localtime(created_at, zone).date())
        yield (
            (day, 2, pk),
            _bank_entry(
                f"E{pk}",
                day,
                number,
                f"Trop-perçu {number} {name}",
                valid,
                currency,
                amount,
                _customer(customer_id, name),
            ),
        )


def _refunded(start: date, end: date) -> Iterator[_Keyed]:
    """Refunds paid back by transfer or to the card (to customer credit: the credit note only)."""
    refunds = (
        Refund.objects.filter(
            day__range=(start, end),
            status=Refund.Status.SUCCEEDED,
            via__in=(Refund.Via.TRANSFER, Refund.Via.GATEWAY),
        )
        .order_by("day", "id")
        .values_list(
            "pk",
            "amount",
            "currency",
            "day",
            "credit_note__number",
            "invoice__customer_id",
            "invoice__customer__name",
        )
    )
    for pk, amount, currency, day, number, customer_id, name in refunds.iterator(chunk_size=BATCH):
        yield (
            (day, 3, pk),
            _bank_entry(
                f"R{pk}",
                day,
                number,
                f"Remboursement {number} {name}",
                day,
                currency,
                -amount,
                _customer(customer_id, name),
            ),
        )


def _bank_entry(
    number: str,
    day: date,
    piece: str,
    label: str,
    valid: date,
    currency: str,
    amount: Decimal,
    aux: tuple[str, str],
) -> _Entry:
    """Money in (`amount` > 0: the bank debited, the customer credited) or out (< 0)."""
    return _Entry(
        BANK,
        number,
        day,
        piece,
        day,
        label,
        valid,
        currency,
        (
            _Posting(bank_account(), "Banque", amount),
            _Posting(customer_account(), "Clients", -amount, aux),
        ),
    )


def fec_period_check(*, start: date, end: date) -> None:
    """Refuse a period that is not one: end before start, longer than a fiscal year can be."""
    if end < start:
        raise ApplicationError(
            _("The period ends (%(end)s) before it starts (%(start)s).")
            % {"end": end.isoformat(), "start": start.isoformat()},
            field="end",
        )
    longest = start + relativedelta(months=MAX_MONTHS) - timedelta(days=1)
    if end > longest:
        raise ApplicationError(
            _(
                "A fiscal period lasts at most %(months)s months: from %(start)s, end it on "
                "%(longest)s at the latest."
            )
            % {"months": MAX_MONTHS, "start": start.isoformat(), "longest": longest.isoformat()},
            field="end",
        )


def fec_siren() -> str:
    siren = SellerProfile.current().siren
    if not siren:
        raise ApplicationError(
            _("The FEC file is named after the seller's SIREN: enter it in the seller profile.")
        )
    return siren


def fec_filename(*, end: date, siren: str | None = None) -> str:
    """`<SIREN>FEC<closing date>.txt`, as the norm names it."""
    return f"{siren or fec_siren()}FEC{fec_date(end)}.txt"


def fec_entries(*, start: date, end: date) -> Iterator[list[FecLine]]:
    """The period's entries in date order, each as its balanced lines."""
    fec_period_check(start=start, end=end)
    sources = (
        _sales(start, end),
        _received(start, end),
        _overpaid(start, end),
        _refunded(start, end),
    )
    for _key, entry in heapq.merge(*sources, key=lambda keyed: keyed[0]):
        yield entry.lines()


def fec_lines(*, start: date, end: date) -> Iterator[str]:
    """The file's lines (each ending with CR LF, as the norm's records do): the header, then
    every line of every entry."""
    fec_period_check(start=start, end=end)
    yield "\t".join(COLUMNS) + "\r\n"
    for entry in fec_entries(start=start, end=end):
        for line in entry:
            yield line.text() + "\r\n"


def fec_chunks(*, start: date, end: date, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """The file, encoded, in chunks of a few hundred lines (a streaming response's body)."""
    for batch in _batches(fec_lines(start=start, end=end), lines_per_chunk):
        yield "".join(batch).encode(ENCODING, errors="replace")


def default_period(*, today: date) -> tuple[date, date]:
    """The last calendar year closed: what an accountant asks for most."""
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
