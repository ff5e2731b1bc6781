"""What the CII and the UBL writers share: the payment means, the legal notes and the payment
terms in the invoice's language, and how amounts, quantities, rates and prices are written.

Both writers read only the stored rows (the invoice, its lines by position, its taxes and its
party snapshots): nothing is recomputed, so the e-invoice says what the PDF and the ledger say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import override

from billing.models import Invoice, InvoiceLine, InvoiceTax

# EN 16931 identifies the specification an e-invoice follows (BT-24): the core norm, which the
# Factur-X EN 16931 profile also declares.
EN16931 = "urn:cen.eu:en16931:2017"
# UNTDID 1001 document types (BT-3).
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
UNIT_CODE = "C62"  # UN/ECE rec. 20 "one": a seat, a month of a service, a licence
# The currency French VAT is accounted in (BT-6): the French rules ask for the VAT amount in
# euros (BT-111) when an invoice is in another currency.
ACCOUNTING_CURRENCY = "EUR"
LEGAL_REGISTRATION_SCHEME = "0002"  # ISO 6523 ICD of the French SIREN (BT-30, BT-47)
SIRET_SCHEME = "0009"


@dataclass(frozen=True, slots=True)
class PaymentMeans:
    """How the invoice is to be paid (EN 16931 BG-16): UNTDID 4461 code (BT-81): "30" credit
    transfer, "58" SEPA credit transfer (both with the payee's IBAN, BT-84), "59" SEPA direct
    debit (with the mandate reference BT-89, the creditor identifier BT-90 and the debtor's
    IBAN BT-91), "48" bank card; and the remittance information the payer quotes (BT-83)."""

    code: str = "58"
    payee_iban: str = ""
    payee_bic: str = ""
    remittance: str = ""
    mandate_reference: str = ""
    creditor_id: str = ""
    debtor_iban: str = ""

    @classmethod
    def default_for(cls, invoice: Invoice) -> PaymentMeans | None:
        """A SEPA credit transfer to the seller's IBAN quoting the invoice's RF reference. A
        credit note has none: the seller pays it back, to an account the document does not
        know. Nor has an invoice whose seller gave no IBAN (BR-61 would refuse it)."""
        iban = (invoice.seller or {}).get("iban", "")
        if invoice.kind != Invoice.Kind.INVOICE or not iban:
            return None
        return cls(
            code="58",
            payee_iban=iban,
            payee_bic=(invoice.seller or {}).get("bic", ""),
            remittance=invoice.payment_reference,
        )

    @property
    def is_transfer(self) -> bool:
        return self.code in ("30", "58")

    @property
    def is_direct_debit(self) -> bool:
        return self.code == "59"


def type_code(invoice: Invoice) -> str:
    return TYPE_CREDIT_NOTE if invoice.kind == Invoice.Kind.CREDIT_NOTE else TYPE_INVOICE


def amount(value) -> str:
    """An amount of the invoice (Money or Decimal) with the currency's two decimals."""
    value = getattr(value, "amount", value)
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def quantity(value: Decimal) -> str:
    return _plain(value, places=4)


def price(value) -> str:
    """A unit price: as stored (up to 4 decimals), without trailing zeros beyond the cents."""
    value = getattr(value, "amount", value)
    text = _plain(Decimal(value), places=6)
    if "." not in text:
        return f"{text}.00"
    whole, decimals = text.split(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def rate(value: Decimal) -> str:
    """A VAT rate in percent, two decimals at most ("20.00", "5.50", "0.00")."""
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def _plain(value: Decimal, *, places: int) -> str:
    text = f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def iso_date(day) -> str:
    return day.isoformat()


def compact_date(day) -> str:
    """UNTDID 2379 format 102 (CCYYMMDD), the CII's dates."""
    return day.strftime("%Y%m%d")


def lines_of(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.order_by("position", "id"))


def taxes_of(invoice: Invoice) -> list[InvoiceTax]:
    return list(invoice.taxes.order_by("rate", "category"))


@dataclass(frozen=True, slots=True)
class LinePrice:
    """How a stored line is written so that its net amount is exactly quantity × price ÷ base
    quantity − allowances (EN 16931 BT-131): the unit price when quantity × unit price is the
    amount before discounts (the usual case), else the whole amount before discounts for the
    line's quantity (a prorated charge whose unit price is not exact to the cent)."""

    quantity: Decimal
    price: Decimal
    base_quantity: Decimal | None
    allowances: list[tuple[str, Decimal]]

    @classmethod
    def of(cls, line: InvoiceLine) -> LinePrice:
        gross = line.gross.amount
        allowances = [
            (str(d.get("label") or ""), Decimal(str(d.get("amount") or "0")))
            for d in (line.discounts or [])
        ]
        allowances = [(label, value) for label, value in allowances if value]
        if sum((v for _label, v in allowances), Decimal(0)) + line.net.amount != gross:
            # Discounts that do not account for the difference: the net amount is the price.
            gross, allowances = line.net.amount, []
        qty = line.quantity
        negative = gross < 0
        if negative:  # a credit on an invoice: a negative quantity at a positive price
            qty, gross = -qty, -gross
            allowances = [(label, -value) for label, value in allowances]
            if any(value < 0 for _label, value in allowances):
                gross, allowances = -line.net.amount, []
        if qty == 0:
            return cls(qty, gross, None, allowances)
        unit = line.unit_price.amount
        if abs(unit) * abs(qty) == gross:
            return cls(qty, abs(unit), None, allowances)
        return cls(qty, gross, abs(qty), allowances)


def notes(invoice: Invoice) -> list[tuple[str, str]]:
    """The notes (BG-1) as (subject code, text): the French legal notes every B2B invoice
    carries (Code de commerce L441-10: late-payment penalties, the 40 € recovery indemnity, and
    the discount for early payment, here none), in the invoice's language."""
    seller = invoice.seller or {}
    with override(invoice.language or "en"):
        penalty = seller.get("late_payment_penalty") or _(
            "three times the French legal interest rate"
        )
        result = [
            (
                "PMD",
                _("Late-payment penalties: %(penalty)s, from the day after the due date.")
                % {"penalty": penalty},
            ),
            (
                "PMT",
                _(
                    "A fixed indemnity of 40 € for recovery costs is due for any late payment "
                    "(article L441-10 of the French Commercial Code)."
                ),
            ),
            ("AAB", _("No discount for early payment.")),
        ]
    return result


def payment_terms(invoice: Invoice, means: PaymentMeans | None) -> str:
    """BT-20, in the invoice's language."""
    with override(invoice.language or "en"):
        if invoice.kind == Invoice.Kind.CREDIT_NOTE:
            return _("This credit note is refunded or set against your next invoices.")
        if invoice.due_date is None:
            return _("Payable on receipt.")
        day = formats.date_format(invoice.due_date, "DATE_FORMAT")
        if means is not None and means.is_direct_debit:
            return _("Paid by SEPA direct debit on %(date)s.") % {"date": day}
        return _("Payable by %(date)s.") % {"date": day}


def deliver_to_name(invoice: Invoice) -> str:
    """BT-70: whom the service is for, the end customer of a partner's sale, else the buyer."""
    return invoice.end_customer_name or (invoice.buyer or {}).get("name", "")


def last_day(start, end_excluded):
    """Cadence keeps periods half-open; EN 16931 periods (BG-14, BG-26) end on their last day
    (a period of no day, a one-off on a date, ends the day it starts)."""
    return max(start, end_excluded - timedelta(days=1))


def due_amount(invoice: Invoice) -> Decimal:
    """BT-115: the total less what was paid (BT-113)."""
    return invoice.total.amount - invoice.amount_paid.amount


def tax_total_in_accounting_currency(invoice: Invoice) -> Decimal | None:
    """BT-111, when the invoice is not in euros: known only when there is no VAT (an export);
    an invoice in another currency that bears VAT would need the exchange rate of its tax
    point, which Cadence does not keep, so it is left out there."""
    if invoice.currency == ACCOUNTING_CURRENCY:
        return None
    if invoice.tax_total.amount == 0:
        return Decimal("0.00")
    return None


def seller_vat_number(invoice: Invoice) -> str:
    """BT-31, but on an invoice outside the scope of VAT (category O), which EN 16931 BR-O-02
    forbids to carry any VAT identifier: the seller is then identified by its SIREN (BT-30)."""
    if _outside_scope(invoice):
        return ""
    return (invoice.seller or {}).get("vat_number", "")


def buyer_vat_number(invoice: Invoice) -> str:
    if _outside_scope(invoice):
        return ""
    return (invoice.buyer or {}).get("vat_number", "")


def _outside_scope(invoice: Invoice) -> bool:
    return any(tax.category == "O" for tax in invoice.taxes.all())


# How each invoice is paid is known above billing (payments: mandates, saved cards). The payments
# app registers its answer when Django starts (payments.apps); without it, a credit transfer.
_PAYMENT_MEANS_SOURCES: list[Callable[[Invoice], PaymentMeans | None]] = []


def payment_means_source(source: Callable[[Invoice], PaymentMeans | None]) -> None:
    """Register a function telling how an invoice is paid (None: it does not know)."""
    if source not in _PAYMENT_MEANS_SOURCES:
        _PAYMENT_MEANS_SOURCES.append(source)


def payment_means_for(invoice: Invoice) -> PaymentMeans | None:
    """How `invoice` is paid, for its e-invoice: the first registered source that knows, else
    a SEPA credit transfer to the seller's IBAN (`PaymentMeans.default_for`)."""
    for source in _PAYMENT_MEANS_SOURCES:
        means = source(invoice)
        if means is not None:
            return means
    return PaymentMeans.default_for(invoice)
