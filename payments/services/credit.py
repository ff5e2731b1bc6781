"""Customer credit: a balance per customer and currency (credit notes not refunded,
over-payments), spent on the next invoices (billing-rules §13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing.models import Invoice
from billing.services import payment_from_credit
from core.pricing import ZERO, round_money
from payments.models import CreditEntry
from subscriptions.models import Customer


def credit_balance(*, customer: Customer, currency: str) -> Decimal:
    total = CreditEntry.objects.filter(customer=customer, currency=currency).aggregate(
        total=Sum("amount")
    )["total"]
    return round_money(total or ZERO, currency)


def credit_apply(*, invoice: Invoice, day: date) -> Decimal:
    """Pay what is left of an open invoice with its customer's credit in its currency, as far
    as the credit goes; returns the amount applied (0: nothing to apply). Safe to run twice."""
    with transaction.atomic():
        # The customer's row serialises everything that spends its credit.
        customer = Customer.objects.select_for_update().get(pk=invoice.customer_id)
        invoice = Invoice.objects.get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATUSES:
            return ZERO
        balance = credit_balance(customer=customer, currency=invoice.currency)
        due = invoice.total.amount - invoice.amount_paid.amount
        amount = min(balance, due)
        if amount <= 0:
            return ZERO
        payment = payment_from_credit(invoice=invoice, amount=amount, day=day)
        CreditEntry.objects.create(
            customer=customer,
            currency=invoice.currency,
            amount=-amount,
            kind=CreditEntry.Kind.APPLIED,
            invoice=invoice,
            payment=payment,
            day=day,
        )
        return amount


def credits_apply_due(*, day: date) -> int:
    """Apply every customer's credit to its open invoices, oldest first (the daily job); returns
    the number of invoices paid from credit. Safe to run twice: credit spent is gone."""
    with_credit = (
        CreditEntry.objects.values("customer_id", "currency")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
    )
    applied = 0
    for row in with_credit:
        for invoice in Invoice.objects.filter(
            customer_id=row["customer_id"],
            currency=row["currency"],
            kind=Invoice.Kind.INVOICE,
            status__in=Invoice.OPEN_STATUSES,
            issue_date__lte=day,
        ).order_by("issue_date", "id"):
            if credit_apply(invoice=invoice, day=day) > 0:
                applied += 1
            else:
                break
    return applied
