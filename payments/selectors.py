"""Reads of the payments app that pages, the admin and the services share."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from billing.models import Invoice
from core.pricing import ZERO, round_money
from payments.models import CardPayment, CreditEntry, DunningStep, PaymentMethod, Refund, SepaDebit
from subscriptions.models import Customer

REFUNDED = "refunded"
PARTLY_REFUNDED = "partly_refunded"


def refunded_total(invoice: Invoice) -> Decimal:
    """What was paid back on the invoice (failed refunds do not count)."""
    total = invoice.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))
    # Stored with the money columns' four decimals: back to the currency's minor unit.
    return round_money(total["total"] or ZERO, invoice.currency)


def refundable(invoice: Invoice) -> Decimal:
    """What was paid on the invoice and not refunded yet."""
    return invoice.amount_paid.amount - refunded_total(invoice)


def refund_state(invoice: Invoice, refunded: Decimal | None = None) -> tuple[str, Decimal]:
    """("refunded" | "partly_refunded" | "", the amount refunded) of an invoice; `refunded`
    when it was read already (`with_refunded_amount`)."""
    if refunded is None:
        refunded = refunded_total(invoice)
    if refunded <= 0:
        return "", refunded
    if refunded >= invoice.amount_paid.amount:
        return REFUNDED, refunded
    return PARTLY_REFUNDED, refunded


def with_refunded_amount(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`invoices` with `refunded_amount`, what refunded_total() says, read in the same query
    (a list shows it on every row)."""
    refunded = (
        Refund.objects.filter(invoice=OuterRef("pk"))
        .exclude(status=Refund.Status.FAILED)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return invoices.annotate(
        refunded_amount=Coalesce(
            Subquery(refunded),
            Value(ZERO),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )


def payment_methods_of(customer: Customer) -> list[PaymentMethod]:
    """A customer's active payment methods, the default first."""
    return list(
        PaymentMethod.objects.filter(
            customer=customer, status=PaymentMethod.Status.ACTIVE
        ).order_by("-is_default", "-id")
    )


def get_payment_method_for_customer(customer: Customer, pk: int) -> PaymentMethod:
    """One of the customer's own active payment methods; another's is a 404."""
    try:
        return PaymentMethod.objects.get(
            pk=pk, customer=customer, status=PaymentMethod.Status.ACTIVE
        )
    except PaymentMethod.DoesNotExist:
        raise Http404 from None


def credit_balances(customer: Customer) -> list[tuple[str, Decimal]]:
    """The customer's credit per currency, where it has any: (currency, balance)."""
    rows = (
        CreditEntry.objects.filter(customer=customer)
        .values("currency")
        .annotate(balance=Sum("amount"))
        .order_by("currency")
    )
    return [
        (row["currency"], round_money(row["balance"], row["currency"]))
        for row in rows
        if row["balance"] > 0
    ]


def invoice_by_number(number: str) -> Invoice | None:
    """The invoice an operator names by its number ("f2026-000001 " too), or None."""
    number = "".join((number or "").split()).upper()
    if not number:
        return None
    return Invoice.objects.filter(number=number, kind=Invoice.Kind.INVOICE).first()


def sepa_debits_of(invoice: Invoice) -> list[SepaDebit]:
    """The invoice's direct debits, oldest first, with their batch."""
    return list(invoice.sepa_debits.select_related("batch").order_by("pk"))


def dunning_steps_of(invoice: Invoice) -> list[DunningStep]:
    """The dunning steps taken on the invoice, oldest first."""
    return list(invoice.dunning_steps.order_by("day", "pk"))


# Card payments -------------------------------------------------------------------------------------


def cards_of(customer: Customer) -> list[PaymentMethod]:
    """The customer's active saved cards, the default first."""
    return [method for method in payment_methods_of(customer) if method.kind == "card"]


def latest_card_payment(invoice: Invoice) -> CardPayment | None:
    return invoice.card_payments.order_by("-id").first()


def with_card_status(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`invoices` with `card_status` and `card_failure_code`, those of each invoice's latest
    card payment ("" when none), read in the same query (a list shows them on every row)."""
    latest = CardPayment.objects.filter(invoice=OuterRef("pk")).order_by("-id")
    return invoices.annotate(
        card_status=Coalesce(Subquery(latest.values("status")[:1]), Value("")),
        card_failure_code=Coalesce(Subquery(latest.values("failure_code")[:1]), Value("")),
    )
