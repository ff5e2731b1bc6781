"""billing-rules §7: discounts agreed at sale belong to the plan or bundle that carried them: a plan
change ends them, and the new plan's own discounts apply from the change (docs/billing-rules.md,
"Discounts follow the plan"). Before, after A (−10 % from its bundle) → B, B was billed 225.00
instead of 250.00 and the upgrade's proration was 30.00 instead of 33.33.

billing-rules example 6.3's plans: monthly Hosting A 150.00 CAD and Hosting B 250.00 CAD, period
2026-11-01 to 2026-12-01, changes asked on 2026-11-21 (10 of the 30 days left)."""

from datetime import date
from decimal import Decimal as D

import pytest

from catalog import services as catalog_services
from catalog.models import (
    Bundle,
    BundleItem,
    CouponCampaign,
    Discount,
    Plan,
    ServicePeriodOption,
)
from subscriptions import services
from subscriptions.charges import context_of, due_charges
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
START = date(2026, 11, 1)
CHANGE = date(2026, 11, 21)


def plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def with_launch_discount(code: str) -> Plan:
    """The plan's bundle carries "Launch: 10 %" on the whole subscription, for ever."""
    discount = Discount.objects.create(
        code=f"launch-{code}",
        name=f"Launch {code}",
        kind="percentage",
        percentage=D("10.00"),
        target="subscription",
        duration="forever",
        sequence=10,
    )
    BundleItem.objects.create(
        bundle=Bundle.objects.get(code=code), kind="discount", discount=discount
    )
    return plan(code)


def subscribe(on: Plan, **extra) -> Subscription:
    return services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=on,
        start_date=START,
        today=START,
        **extra,
    ).subscription


def billed(subscription, up_to: date = date(2026, 12, 1)) -> list[tuple[str, date, D]]:
    context = context_of(Subscription.objects.get(pk=subscription.pk))
    return [(c.kind, c.charge_date, c.net) for c in due_charges(context, up_to=up_to)]


def test_an_upgrade_ends_the_old_plan_discount(demo_catalog):
    a = with_launch_discount("hosting-a")
    subscription = subscribe(a)

    result = services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-b"), today=CHANGE
    )

    # (250.00 − 150.00) × 10/30, with no discount left to apply: 33.33, not 30.00
    [upgrade] = result.charges
    assert (upgrade.net, upgrade.discounts) == (D("33.33"), ())
    assert [(c.period.start, c.net) for c in result.next_charges] == [
        (date(2026, 12, 1), D("250.00"))
    ]
    assert "33.33 CAD now, then 250.00 CAD from 2026-12-01" in result.message
    # The period already invoiced on A keeps A's discount: the invoice is not revised.
    assert billed(subscription) == [
        ("recurring", START, D("135.00")),
        ("recurring", date(2026, 12, 1), D("250.00")),
        ("proration", CHANGE, D("33.33")),
    ]


def test_the_new_plan_discounts_apply_from_the_change(demo_catalog):
    b = with_launch_discount("hosting-b")
    subscription = subscribe(plan("hosting-a"))

    result = services.subscription_change_plan(subscription=subscription, plan=b, today=CHANGE)

    # B's own 10 % applies to the upgrade's proration and to B's periods
    assert [c.net for c in result.charges] == [D("30.00")]  # 33.33 − 3.33
    assert billed(subscription) == [
        ("recurring", START, D("150.00")),
        ("recurring", date(2026, 12, 1), D("225.00")),
        ("proration", CHANGE, D("30.00")),
    ]


def test_a_downgrade_ends_the_old_plan_discount_at_the_period_end(demo_catalog):
    b = with_launch_discount("hosting-b")
    subscription = subscribe(b)

    result = services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-a"), today=CHANGE
    )

    assert result.charges == []
    assert [(c.period.start, c.net) for c in result.next_charges] == [
        (date(2026, 12, 1), D("150.00"))
    ]
    assert billed(subscription) == [
        ("recurring", START, D("225.00")),
        ("recurring", date(2026, 12, 1), D("150.00")),
    ]


def test_a_downgrade_to_a_discounted_plan_gets_its_discount_from_the_change(demo_catalog):
    a = with_launch_discount("hosting-a")
    subscription = subscribe(plan("hosting-b"))

    services.subscription_change_plan(subscription=subscription, plan=a, today=CHANGE)

    assert billed(subscription) == [
        ("recurring", START, D("250.00")),
        ("recurring", date(2026, 12, 1), D("135.00")),
    ]


def test_a_withdrawn_downgrade_keeps_the_plan_and_its_discount(demo_catalog):
    b = with_launch_discount("hosting-b")
    a = with_launch_discount("hosting-a")
    subscription = subscribe(b)
    services.subscription_change_plan(subscription=subscription, plan=a, today=CHANGE)

    services.subscription_withdraw_plan_change(subscription=subscription, today=CHANGE)

    assert billed(subscription, date(2027, 1, 1)) == [
        ("recurring", START, D("225.00")),
        ("recurring", date(2026, 12, 1), D("225.00")),
        ("recurring", date(2027, 1, 1), D("225.00")),
    ]


def test_back_on_a_plan_its_discount_applies_once(demo_catalog):
    a = with_launch_discount("hosting-a")
    subscription = subscribe(a)
    services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-b"), today=CHANGE
    )

    services.subscription_change_plan(subscription=subscription, plan=a, today=date(2026, 11, 25))

    # A's discount of the sale ended at the upgrade; A's own discount applies again from the
    # downgrade, once: 135.00, not 121.50.
    assert billed(subscription, date(2027, 1, 1)) == [
        ("recurring", START, D("135.00")),
        ("recurring", date(2026, 12, 1), D("135.00")),
        ("recurring", date(2027, 1, 1), D("135.00")),
        ("proration", CHANGE, D("33.33")),
    ]


def test_the_partner_and_service_period_discounts_stay(demo_catalog):
    a = with_launch_discount("hosting-a")
    ServicePeriodOption.objects.create(plan=a, years=3, discount_percent=D("10"))
    subscription = subscribe(a, service_period_years=3, partner_discount_percent=D("20"))
    # On A: 150.00 − 15.00 (launch) − 13.50 (3 years) − 24.30 (partner) = 97.20
    assert billed(subscription, START) == [("recurring", START, D("97.20"))]

    result = services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-b"), today=CHANGE
    )

    # 33.33 − 3.33 (3 years) − 6.00 (partner) = 24.00; then 250.00 − 25.00 − 45.00 = 180.00
    [upgrade] = result.charges
    assert upgrade.net == D("24.00")
    assert [d.amount for d in upgrade.discounts] == [D("3.33"), D("6.00")]
    assert [(c.period.start, c.net) for c in result.next_charges] == [
        (date(2026, 12, 1), D("180.00"))
    ]


@pytest.fixture
def welcome(demo_catalog):
    """The demo's "Welcome: 10 % for 3 periods" sold as vouchers."""
    campaign = CouponCampaign.objects.create(
        code="welcome-voucher",
        name="Welcome voucher",
        kind="voucher",
        bundle=Bundle.objects.get(code="welcome"),
        code_template="WELCOME-####",
        charset="numeric",
        range_start=1,
        quantity=3,
    )
    catalog_services.coupon_codes_generate(campaign=campaign)
    return campaign


def test_a_voucher_the_customer_redeemed_stays_after_a_plan_change(welcome):
    subscription = subscribe(plan("hosting-a"))
    services.coupon_redeem(subscription=subscription, code="WELCOME-0001", today=date(2026, 11, 10))

    result = services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-b"), today=CHANGE
    )

    # The voucher discounts periods from 2026-12-01: not the proration, B's periods yes.
    assert [c.net for c in result.charges] == [D("33.33")]
    assert [c.net for c in result.next_charges] == [D("225.00")]


def test_a_voucher_valid_only_for_the_old_plan_ends_with_it(welcome):
    welcome.plans.set([plan("hosting-a")])
    subscription = subscribe(plan("hosting-a"))
    services.coupon_redeem(subscription=subscription, code="WELCOME-0001", today=date(2026, 11, 10))
    assert billed(subscription)[-1] == ("recurring", date(2026, 12, 1), D("135.00"))

    result = services.subscription_change_plan(
        subscription=subscription, plan=plan("hosting-b"), today=CHANGE
    )

    assert [c.net for c in result.charges] == [D("33.33")]
    assert [c.net for c in result.next_charges] == [D("250.00")]
