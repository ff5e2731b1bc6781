"""Concurrency on PostgreSQL with real threads: locks and conditional updates, not mocks."""

from datetime import date

import pytest

from catalog import services as catalog_services
from catalog.models import Bundle, CouponCampaign, CouponCode, Plan, SeatType
from core.errors import ApplicationError
from demo.catalog import seed_catalog
from subscriptions import services
from subscriptions.models import CouponRedemption, Subscription
from tests.concurrency import postgresql_only, run_together
from tests.subscriptions.factories import CustomerFactory

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 2, 15)


def test_two_simultaneous_seat_additions_are_both_counted():
    seed_catalog()
    gateway = SeatType.objects.get(code="gateway")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=TODAY,
        seats={gateway: 10},
        service_period_years=3,
    ).subscription

    def add(n):
        return lambda: services.seats_add(
            subscription=Subscription.objects.get(pk=subscription.pk),
            seat_type=gateway,
            quantity=n,
            today=TODAY,
        )

    results, errors = run_together(add(3), add(4))
    assert errors == [None, None]
    assert subscription.seats.get(seat_type=gateway).quantity == 17
    added = subscription.events.filter(kind="seats_added").order_by("id")
    # Each entry recorded the total after it: one saw 13 or 14, the other 17.
    assert sorted(e.data["quantity"] for e in added) in ([13, 17], [14, 17])
    assert {r.charges[0].quantity for r in results} == {3, 4}


def test_the_last_redemption_of_a_code_goes_to_exactly_one_of_two_requests():
    seed_catalog()
    catalog_services.coupon_codes_generate(campaign=CouponCampaign.objects.get(code="coupon-87"))
    addon = Bundle.objects.get(code="service-plus-eur")
    plan = Plan.objects.get(code="cloud-backup-monthly")
    first, second = (
        services.subscription_create(
            customer=CustomerFactory(),
            plan=plan,
            start_date=date(2026, 1, 1),
            today=TODAY,
            addons={addon.pk: 1},
        ).subscription
        for _ in range(2)
    )

    def redeem(subscription):
        return lambda: services.coupon_redeem(
            subscription=Subscription.objects.get(pk=subscription.pk), code="coupon_87", today=TODAY
        )

    results, errors = run_together(redeem(first), redeem(second))
    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], ApplicationError)
    assert "coupon_87" in losers[0].message
    code = CouponCode.objects.get(code="coupon_87")
    assert (code.times_redeemed, code.status) == (1, "exhausted")
    assert CouponRedemption.objects.filter(code=code).count() == 1
