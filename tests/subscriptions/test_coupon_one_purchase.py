"""billing-rules §7: a coupon discounts one purchase — the one it is redeemed with, or, redeemed on
its own, the next invoice — and nothing else. Before, a coupon was stored as a one-period discount
and so also discounted what was bought later in that period: an add-on bought on 2026-02-15 cost
8.00 instead of 10.00, the coupon's 20 % leaking onto its proration."""

from datetime import date
from decimal import Decimal as D

import pytest

from catalog import services as catalog_services
from catalog.models import Bundle, BundleItem, CouponCampaign, Discount, Plan
from subscriptions import services
from subscriptions.charges import context_of, due_charges
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def save20(demo_catalog):
    """A coupon campaign like example 3.4's, but whose 20 % (once) is on the whole invoice."""
    discount = Discount.objects.create(
        code="save-20",
        name="20 % off one invoice",
        kind="percentage",
        percentage=D("20.00"),
        target="subscription",
        duration="once",
        sequence=50,
    )
    bundle = Bundle.objects.create(code="save-20", name="20 % off one invoice")
    BundleItem.objects.create(bundle=bundle, kind="discount", discount=discount)
    campaign = CouponCampaign.objects.create(
        code="save-20",
        name="Save 20 %",
        kind="coupon",
        bundle=bundle,
        code_template="SAVE20-##",
        charset="numeric",
        range_start=1,
        quantity=3,
    )
    catalog_services.coupon_codes_generate(campaign=campaign)
    return campaign


def backup(start: date, today: date, **extra):
    """Cloud backup, 30.00 EUR a month after a 14-day trial."""
    return services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="cloud-backup-monthly"),
        start_date=start,
        today=today,
        **extra,
    ).subscription


def charges(subscription, up_to: date) -> list[tuple[str, date, str, D]]:
    return [
        (c.kind, c.charge_date, c.description.split(":")[0], c.net)
        for c in due_charges(context_of(subscription), up_to=up_to)
    ]


def test_an_add_on_bought_on_the_coupon_invoice_day_pays_full_price(save20):
    # Given a subscription billed from 2026-01-15, the coupon redeemed on 2026-02-03 for the
    # invoice of 2026-02-15
    subscription = backup(date(2026, 1, 1), date(2026, 1, 1))
    services.coupon_redeem(subscription=subscription, code="SAVE20-01", today=date(2026, 2, 3))

    # When an add-on is bought on 2026-02-15
    result = services.addon_add(
        subscription=subscription,
        bundle=Bundle.objects.get(code="service-plus-eur"),
        today=date(2026, 2, 15),
    )

    # Then it is its own purchase: 10.00 × 28/28, not 8.00
    assert [(c.net, c.discounts) for c in result.charges] == [(D("10.00"), ())]
    # and the coupon discounted the invoice it was redeemed for, and only that one
    assert charges(subscription, date(2026, 3, 15)) == [
        ("recurring", date(2026, 1, 15), "Cloud backup", D("30.00")),
        ("recurring", date(2026, 2, 15), "Cloud backup", D("24.00")),
        ("recurring", date(2026, 3, 15), "Cloud backup", D("30.00")),
        ("recurring", date(2026, 3, 15), "Additional service", D("10.00")),
        ("proration", date(2026, 2, 15), "Additional service", D("10.00")),
    ]


def test_an_add_on_bought_later_in_the_coupon_period_pays_full_price(save20):
    subscription = backup(date(2026, 1, 1), date(2026, 1, 1))
    services.coupon_redeem(subscription=subscription, code="SAVE20-01", today=date(2026, 2, 3))

    result = services.addon_add(
        subscription=subscription,
        bundle=Bundle.objects.get(code="service-plus-eur"),
        today=date(2026, 2, 20),
    )

    # 10.00 × 23/28 = 8.21 (6.57 with the coupon's 20 %)
    assert [c.net for c in result.charges] == [D("8.21")]


def test_a_coupon_redeemed_with_the_purchase_discounts_its_first_invoice_only(save20):
    """Redeemed before billing starts, the coupon goes with the purchase: its first invoice.
    An add-on bought before billing starts is on that invoice; one bought during the first
    period is another purchase."""
    addon = Bundle.objects.get(code="service-plus-eur")
    subscription = backup(date(2026, 11, 10), date(2026, 10, 1))  # billed from 2026-11-24
    result = services.coupon_redeem(
        subscription=subscription, code="SAVE20-02", today=date(2026, 10, 1)
    )
    assert result.effective_date == date(2026, 11, 24)
    services.addon_add(subscription=subscription, bundle=addon, today=date(2026, 12, 4))

    assert charges(subscription, date(2026, 12, 24)) == [
        ("recurring", date(2026, 11, 24), "Cloud backup", D("24.00")),
        ("recurring", date(2026, 12, 24), "Cloud backup", D("30.00")),
        ("recurring", date(2026, 12, 24), "Additional service", D("10.00")),
        ("proration", date(2026, 12, 4), "Additional service", D("6.67")),  # 10.00 × 20/30
    ]


def test_a_coupon_redeemed_on_the_first_day_of_billing_discounts_the_first_invoice(save20):
    """The storefront sells and redeems together, on the start day, before the first invoice
    is issued: the code goes with that purchase. Once the first invoice is out, a code
    redeemed the same day is for the next one."""
    monthly = Plan.objects.get(code="cloud-backup-monthly")
    monthly.trial_count = 0
    monthly.save()
    day = date(2026, 3, 2)
    subscription = backup(day, day)
    result = services.coupon_redeem(subscription=subscription, code="SAVE20-01", today=day)
    assert result.effective_date == day
    assert charges(subscription, day) == [("recurring", day, "Cloud backup", D("24.00"))]

    # When the first invoice is already issued (billing moved its date on)
    other = backup(day, day)
    other.next_billing_date = date(2026, 4, 2)
    other.save(update_fields=["next_billing_date"])
    later = services.coupon_redeem(subscription=other, code="SAVE20-02", today=day)
    assert later.effective_date == date(2026, 4, 2)
