"""Reads of the payments app that pages, the admin and the services share."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from billing.models import Invoice
from core.pricing import ZERO
from payments.models import Refund

REFUNDED = "refunded"
PARTLY_REFUNDED = "partly_refunded"


def refunded_total(invoice: Invoice) -> Decimal:
    """What was paid back on the invoice (failed refunds do not count)."""
    total = invoice.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))
    return total["total"] or ZERO


def refundable(invoice: Invoice) -> Decimal:
    """What was paid on the invoice and not refunded yet."""
    return invoice.amount_paid.amount - refunded_total(invoice)


def refund_state(invoice: Invoice) -> tuple[str, Decimal]:
    """("refunded" | "partly_refunded" | "", the amount refunded) of an invoice."""
    refunded = refunded_total(invoice)
    if refunded <= 0:
        return "", refunded
    if refunded >= invoice.amount_paid.amount:
        return REFUNDED, refunded
    return PARTLY_REFUNDED, refunded
