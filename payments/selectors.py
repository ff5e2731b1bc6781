"""Reads of the payments app that pages, the admin and the services share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
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


@dataclass(frozen=True)
class DirectDebitTerms:
    """How an invoice is paid by SEPA direct debit, as its PDF says it: the day the debit is
    (or was) collected, from which account (masked), under which mandate."""

    day: date
    masked_iban: str
    mandate_reference: str
    collected: bool
    iban: str = ""  # in full, for the e-invoice's debited account (BT-91); never printed


def invoice_direct_debit(invoice: Invoice) -> DirectDebitTerms | None:
    """The direct debit that pays `invoice`: its live debit in a batch (collected on the
    batch's date), or else, while it is open, the one the daily batch will write under the
    customer's default mandate — collected on its due date, or SEPA_PRENOTIFICATION_DAYS after
    it was issued when that is later (sepa_batch_create's rule). None when the invoice is not
    paid by direct debit (a transfer: the PDF gives our IBAN and its RF reference)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.currency != "EUR" or not invoice.number:
        return None
    debit = (
        SepaDebit.objects.filter(invoice=invoice, status__in=SepaDebit.LIVE)
        .select_related("batch", "mandate")
        .first()
    )
    if debit is not None:
        return DirectDebitTerms(
            day=debit.batch.collection_date,
            masked_iban=debit.mandate.masked_iban,
            mandate_reference=debit.mandate.mandate_reference or "",
            collected=debit.status == SepaDebit.Status.COLLECTED,
            iban=debit.mandate.iban,
        )
    if invoice.status not in Invoice.OPEN_STATUSES or invoice.issue_date is None:
        return None
    mandate = PaymentMethod.objects.filter(
        customer_id=invoice.customer_id,
        kind=PaymentMethod.Kind.SEPA_DEBIT,
        status=PaymentMethod.Status.ACTIVE,
        is_default=True,
    ).first()
    if mandate is None:
        return None
    earliest = invoice.issue_date + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    return DirectDebitTerms(
        day=max(invoice.due_date or earliest, earliest),
        masked_iban=mandate.masked_iban,
        mandate_reference=mandate.mandate_reference or "",
        collected=False,
        iban=mandate.iban,
    )
