"""Validity of plans and bundles (issue 11; docs/billing-rules.md, "Validity"): both are sold
while valid on the sale date, and a start after their last valid day is refused."""

from datetime import date

import pytest

from catalog.models import Bundle, Plan
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_an_expired_add_on_is_refused_at_the_sale(demo_catalog):
    """billing-rules §3 add-on "Service supplémentaire", sold until 2026-03-31: not on
    2026-04-01."""
    addon = Bundle.objects.get(code="service-plus-eur")
    Bundle.objects.filter(pk=addon.pk).update(valid_until=date(2026, 3, 31))
    with pytest.raises(ApplicationError) as refused:
        services.subscription_create(
            customer=CustomerFactory(),
            plan=Plan.objects.get(code="cloud-backup-monthly"),
            start_date=date(2026, 4, 1),
            today=date(2026, 4, 1),
            addons={addon.pk: 1},
        )
    assert refused.value.message == (
        "Additional service (EUR) was sold until 2026-03-31: it can no longer be sold."
    )
    assert refused.value.field == "addons"
    assert not Subscription.objects.exists()


def test_an_expired_add_on_cannot_be_added_later(demo_catalog):
    addon = Bundle.objects.get(code="service-plus-eur")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="cloud-backup-monthly"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    Bundle.objects.filter(pk=addon.pk).update(valid_until=date(2026, 3, 31))
    with pytest.raises(ApplicationError, match="was sold until 2026-03-31"):
        services.addon_add(subscription=subscription, bundle=addon, today=date(2026, 4, 2))
    assert not subscription.items.exists()


def test_a_plan_whose_validity_ends_before_the_start_is_refused(demo_catalog):
    """Valid on the sale date (2026-11-01), but sold until 2026-12-31: a start on 2027-01-15 is
    after its end, so refused; a start on 2026-12-31 is accepted."""
    plan = Plan.objects.get(code="hosting-a")
    Plan.objects.filter(pk=plan.pk).update(valid_until=date(2026, 12, 31))
    plan.refresh_from_db()
    customer = CustomerFactory(currency="CAD", country="CA")
    with pytest.raises(ApplicationError) as refused:
        services.subscription_create(
            customer=customer, plan=plan, start_date=date(2027, 1, 15), today=date(2026, 11, 1)
        )
    assert refused.value.message == (
        "The plan Hosting A is sold until 2026-12-31: a subscription to it cannot start on "
        "2027-01-15, after that."
    )
    assert not Subscription.objects.exists()
    services.subscription_create(
        customer=customer, plan=plan, start_date=date(2026, 12, 31), today=date(2026, 11, 1)
    )
    assert Subscription.objects.count() == 1
