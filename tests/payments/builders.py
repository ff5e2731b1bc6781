"""Builders the payments tests share."""

from datetime import date
from decimal import Decimal

from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan, SeatType
from subscriptions import services


def quarterly_invoice(customer) -> Invoice:
    """billing-rules example 6.1 billed to `customer`: 10 gateways, 3-year service period,
    partner discount 20 %: the quarter's invoice of 129.60 (108.00 + VAT 21.60), issued on
    2026-01-01."""
    subscription = services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        partner_discount_percent=Decimal("20"),
    ).subscription
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get(subscription=subscription)
    assert invoice.total.amount == Decimal("129.60")
    return invoice
