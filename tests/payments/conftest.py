from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan, SeatType
from subscriptions import services
from tests.partners.builders import (  # noqa: F401 - fixtures
    dupont,
    dupont_client,
    maple,
    maple_client,
    on,
)
from tests.subscriptions.factories import CustomerFactory


@pytest.fixture
def quarterly(demo_catalog):
    """billing-rules example 6.1: 10 gateways, 3-year service period, partner discount 20 %:
    the quarter's invoice of 129.60 (108.00 + VAT 21.60), issued on 2026-01-01."""
    subscription = services.subscription_create(
        customer=CustomerFactory(name="Boulangerie Martin", locale="fr"),
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
