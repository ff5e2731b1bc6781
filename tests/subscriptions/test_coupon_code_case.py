"""billing-rules §7: codes match whatever their case. Before, `COUPON_90` did not redeem `coupon_90`
("does not exist"), although generation already refused codes that differ only by their case."""

from datetime import date
from decimal import Decimal as D

import pytest

from catalog import services as catalog_services
from catalog.models import Bundle, CouponCampaign, CouponCode, Plan
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import CouponRedemption
from tests.catalog.factories import CouponCampaignFactory
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup(demo_catalog):
    """Cloud backup with the additional service (10.00), billed monthly from 2026-01-15."""
    catalog_services.coupon_codes_generate(campaign=CouponCampaign.objects.get(code="coupon-87"))
    return services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="cloud-backup-monthly"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    ).subscription


@pytest.mark.parametrize("typed", ["COUPON_90", "Coupon_90", " coupon_90 "])
def test_a_code_matches_whatever_its_case(backup, typed):
    result = services.coupon_redeem(subscription=backup, code=typed, today=date(2026, 2, 3))

    assert result.message == "Code coupon_90 redeemed: 2.00 EUR off the invoice of 2026-02-15."
    addon = [c.net for c in result.next_charges if c.description.startswith("Additional")]
    assert addon == [D("8.00")]  # example 3.4
    redemption = CouponRedemption.objects.get()
    assert (redemption.code.code, redemption.subscription) == ("coupon_90", backup)


def test_the_same_code_in_another_case_is_the_same_use(backup):
    services.coupon_redeem(subscription=backup, code="COUPON_90", today=date(2026, 2, 3))

    with pytest.raises(ApplicationError, match="The code coupon_90 has been fully used"):
        services.coupon_redeem(subscription=backup, code="coupon_90", today=date(2026, 2, 4))
    assert CouponCode.objects.get(code="coupon_90").times_redeemed == 1


def test_generation_refuses_codes_that_differ_only_by_their_case(demo_catalog):
    """What makes a case-insensitive match unambiguous: no two codes differ only by case."""
    shout = CouponCampaignFactory(code_template="COUPON_##", range_start=90, quantity=2)

    with pytest.raises(ApplicationError, match="coupon_90, coupon_91 already exist"):
        catalog_services.coupon_codes_generate(campaign=shout)
    assert not shout.codes.exists()
