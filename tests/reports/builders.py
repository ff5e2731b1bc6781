"""Documents and payments the reports tests read (not a test module: shared by several)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.models import Invoice
from billing.services import invoice_cancel_by_credit_note, invoice_issue, payment_record
from tests.billing.builders import manual_draft
from tests.subscriptions.factories import CustomerFactory


def issued(net: str, day: date, *, currency: str = "EUR", customer=None) -> Invoice:
    """A manual invoice of `net` (20 % VAT on top) issued on `day`."""
    customer = customer or CustomerFactory(currency=currency)
    return invoice_issue(invoice=manual_draft(customer, net=net), day=day)


def paid(invoice: Invoice, amount: str, day: date) -> None:
    payment_record(invoice=invoice, amount=Decimal(amount), method="bank_transfer", received_on=day)


def cancelled(invoice: Invoice, day: date) -> Invoice:
    """The credit note cancelling `invoice` on `day`."""
    invoice_cancel_by_credit_note(invoice=invoice, reason="Wrong address", day=day)
    return Invoice.objects.get(credited_invoice=invoice)


def figures_of_2026() -> dict[str, Invoice]:
    """EUR: 100.00 in January, 250.00 and 40.00 in March, the 40.00 cancelled in April;
    120.00 paid in February on January's invoice (120.00 with VAT). CAD: 300.00 in March."""
    january = issued("100.00", date(2026, 1, 10))
    paid(january, "120.00", date(2026, 2, 5))
    march = issued("250.00", date(2026, 3, 2))
    small = issued("40.00", date(2026, 3, 20))
    credit = cancelled(small, date(2026, 4, 3))
    canadian = issued("300.00", date(2026, 3, 5), currency="CAD")
    return {
        "january": january,
        "march": march,
        "small": small,
        "credit": credit,
        "canadian": canadian,
    }
