"""A plan with manual fulfilment is priced before confirming, "billed once fulfilled" (issue 11,
point 5): before, its review showed no price at all. The pages: tests/account/test_self_service.py
and tests/partners/test_portal_more.py."""

from datetime import date
from decimal import Decimal as D

import pytest

from catalog.models import Plan
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_manual_fulfilment_sale_is_priced_from_its_start(demo_catalog):
    result = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="platform-yearly"),  # 1,200.00 EUR a year
        start_date=date(2026, 12, 1),
        today=date(2026, 11, 21),
        dry_run=True,
    )
    [charge] = result.next_charges
    assert charge.net == D("1200.00")
    assert (charge.period.start, charge.period.end) == (date(2026, 12, 1), date(2027, 12, 1))
    assert result.charges == []  # nothing is invoiced before the fulfilment
    assert not Subscription.objects.exists()


def test_a_past_start_waiting_for_fulfilment_is_priced_from_today(demo_catalog):
    result = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="platform-yearly"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 21),
    )
    [charge] = result.next_charges
    assert charge.period.start == date(2026, 11, 21) and charge.net == D("1200.00")
    assert result.subscription.status == Subscription.Status.PENDING_FULFILMENT
