"""Edge cases from the field: month ends, same-day changes, undone cancellations, trials; an upgrade
on the very day a commitment renews, and the timeline that is never edited once written."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceLine
from billing.services import billing_run
from catalog.models import Plan, TaxRate, UpgradeGroup
from subscriptions import services
from subscriptions.charges import context_of, due_charges
from subscriptions.models import Subscription, SubscriptionEvent
from tests.subscriptions.factories import CustomerFactory, monthly_plan, term

pytestmark = pytest.mark.django_db
D = Decimal


def recurring_dates(subscription, up_to):
    return [
        c.charge_date
        for c in due_charges(context_of(subscription), up_to=up_to)
        if c.kind == "recurring"
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            date(2026, 1, 31),
            [
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30),
                date(2026, 5, 31),
            ],
        ),
        (
            date(2026, 1, 30),
            [
                date(2026, 1, 30),
                date(2026, 2, 28),
                date(2026, 3, 30),
                date(2026, 4, 30),
                date(2026, 5, 30),
            ],
        ),
        (
            date(2026, 1, 29),
            [
                date(2026, 1, 29),
                date(2026, 2, 28),
                date(2026, 3, 29),
                date(2026, 4, 29),
                date(2026, 5, 29),
            ],
        ),
        (
            date(2028, 1, 31),
            [
                date(2028, 1, 31),
                date(2028, 2, 29),
                date(2028, 3, 31),
                date(2028, 4, 30),
                date(2028, 5, 31),
            ],
        ),
        (
            date(2028, 1, 29),
            [
                date(2028, 1, 29),
                date(2028, 2, 29),
                date(2028, 3, 29),
                date(2028, 4, 29),
                date(2028, 5, 29),
            ],
        ),
    ],
)
def test_month_end_anchors_across_february_and_leap_years(start, expected):
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=monthly_plan(), start_date=start, today=start
    ).subscription
    assert recurring_dates(subscription, expected[-1]) == expected


def test_a_prorated_seat_addition_in_february_counts_its_28_days():
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=monthly_plan("28.00"),
        start_date=date(2026, 1, 31),
        today=date(2026, 1, 31),
    ).subscription
    context = context_of(subscription)
    february = context.period_of(date(2026, 3, 1))
    assert (february.start, february.end, february.days) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
        31,
    )


def test_a_yearly_anchor_on_29_february():
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=monthly_plan("100.00", period=(1, "year")),
        start_date=date(2028, 2, 29),
        today=date(2028, 2, 29),
    ).subscription
    assert recurring_dates(subscription, date(2032, 3, 1)) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_an_upgrade_on_the_day_of_a_period_start_is_billed_once(demo_catalog):
    customer = CustomerFactory(currency="CAD", country="CA")
    a, b = Plan.objects.get(code="hosting-a"), Plan.objects.get(code="hosting-b")
    subscription = services.subscription_create(
        customer=customer, plan=a, start_date=date(2026, 11, 1), today=date(2026, 11, 1)
    ).subscription
    services.subscription_change_plan(subscription=subscription, plan=b, today=date(2026, 12, 1))
    charges = due_charges(context_of(subscription), up_to=date(2027, 1, 1))
    december = [c for c in charges if c.period.start == date(2026, 12, 1)]
    # The period of the change costs B's price once: A's charge + the full-period difference.
    assert sum(c.net for c in december) == D("250.00")
    assert sorted((c.kind, c.net) for c in december) == [
        ("proration", D("100.00")),
        ("recurring", D("150.00")),
    ]
    assert [c.net for c in charges if c.period.start == date(2027, 1, 1)] == [D("250.00")]


def test_a_downgrade_followed_by_a_renewal_charges_the_new_price(demo_catalog):
    yearly = term(
        commitment_basis="calendar", commitment_count=1, commitment_unit="year", auto_renew=True
    )
    group = Plan.objects.get(code="hosting-a").upgrade_group
    small = monthly_plan(
        "100.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=10
    )
    large = monthly_plan(
        "300.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=11
    )
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=large, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    result = services.subscription_change_plan(
        subscription=subscription, plan=small, today=date(2026, 9, 1)
    )
    assert result.effective_date == date(2027, 3, 1) and result.charges == []
    [renewal] = services.subscription_advance(subscription=subscription, today=date(2027, 3, 1))
    assert renewal.effective_date == date(2027, 3, 1)
    subscription.refresh_from_db()
    assert subscription.plan == small
    charges = due_charges(context_of(subscription), up_to=date(2027, 3, 1))
    assert [(c.charge_date, c.net) for c in charges] == [
        (date(2026, 3, 1), D("300.00")),
        (date(2027, 3, 1), D("100.00")),
    ]


def test_an_undone_cancellation_goes_on_billing_and_drops_its_penalty(demo_catalog):
    plan = Plan.objects.get(code="office-24m")
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 1, 1), today=date(2026, 1, 1)
    ).subscription
    cancel = services.subscription_cancel(subscription=subscription, today=date(2026, 10, 1))
    assert cancel.charges[0].net == D("140.05")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING_CANCELLATION
    assert recurring_dates(subscription, date(2027, 1, 1))[-1] == date(
        2026, 10, 1
    )  # nothing after the end

    services.subscription_undo_cancellation(subscription=subscription, today=date(2026, 10, 15))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE and subscription.end_date is None
    charges = due_charges(context_of(subscription), up_to=date(2027, 1, 1))
    assert [c for c in charges if c.kind == "penalty"] == []
    assert [c.charge_date for c in charges][-3:] == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    # The timeline keeps both entries; the cancellation is marked revoked, not deleted.
    entries = {e.kind: e for e in subscription.events.all()}
    assert entries["cancellation"].revoked_by == entries["cancellation_undone"]


def test_a_cancelled_trial_is_free_and_immediate(demo_catalog):
    plan = Plan.objects.get(code="cloud-backup-monthly")  # 14-day trial
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    assert subscription.status == Subscription.Status.TRIAL
    assert subscription.anchor_date == date(2026, 3, 15)  # the first charge waits for the trial end
    assert subscription.commitment_start == date(2026, 3, 15)
    result = services.subscription_cancel(subscription=subscription, today=date(2026, 3, 10))
    assert result.effective_date == date(2026, 3, 10) and result.charges == []
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert due_charges(context_of(subscription), up_to=date(2027, 1, 1)) == []


def test_a_trial_delays_the_first_charge_and_the_commitment(demo_catalog):
    plan = Plan.objects.get(code="cloud-backup-monthly")
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    assert subscription.commitment_end == date(2027, 3, 15)  # 12 monthly periods from the trial end
    assert recurring_dates(subscription, date(2026, 4, 30)) == [
        date(2026, 3, 15),
        date(2026, 4, 15),
    ]
    assert subscription.events.filter(kind="trial_ends", effective_date=date(2026, 3, 15)).exists()


def test_a_future_start_is_scheduled_and_a_past_start_catches_up(demo_catalog):
    plan = Plan.objects.get(code="hosting-a")
    customer = CustomerFactory(currency="CAD", country="CA")
    future = services.subscription_create(
        customer=customer, plan=plan, start_date=date(2027, 2, 1), today=date(2026, 11, 21)
    )
    assert future.subscription.status == Subscription.Status.SCHEDULED
    assert recurring_dates(future.subscription, date(2026, 12, 31)) == []
    past = services.subscription_create(
        customer=customer, plan=plan, start_date=date(2026, 8, 10), today=date(2026, 11, 21)
    )
    assert past.subscription.status == Subscription.Status.ACTIVE
    assert recurring_dates(past.subscription, date(2026, 11, 21)) == [
        date(2026, 8, 10),
        date(2026, 9, 10),
        date(2026, 10, 10),
        date(2026, 11, 10),
    ]
    assert (past.subscription.current_period_start, past.subscription.current_period_end) == (
        date(2026, 11, 10),
        date(2026, 12, 10),
    )


def test_seats_added_before_the_start_are_not_prorated(demo_catalog):
    from catalog.models import SeatType

    gateway = SeatType.objects.get(code="gateway")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2027, 1, 1),
        today=date(2026, 11, 21),
        seats={gateway: 2},
    ).subscription
    result = services.seats_add(
        subscription=subscription, seat_type=gateway, quantity=3, today=date(2026, 12, 1)
    )
    assert result.charges == []
    [first] = list(due_charges(context_of(subscription), up_to=date(2027, 1, 1)))
    assert first.quantity == 5


def test_the_manual_fulfilment_plan_waits_for_the_operator(demo_catalog):
    plan = Plan.objects.get(code="platform-yearly")
    result = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 11, 1), today=date(2026, 11, 1)
    )
    subscription = result.subscription
    assert subscription.status == Subscription.Status.PENDING_FULFILMENT
    assert due_charges(context_of(subscription), up_to=date(2027, 1, 1)) == []
    services.subscription_fulfil(subscription=subscription, today=date(2026, 11, 5))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.anchor_date == date(2026, 11, 5)
    assert subscription.commitment_end == date(2028, 11, 5)
    [first] = due_charges(context_of(subscription), up_to=date(2026, 11, 5))
    assert (first.charge_date, first.net) == (date(2026, 11, 5), D("1200.00"))


def test_a_plan_change_to_a_manual_fulfilment_plan_stays_pending(demo_catalog):
    group = Plan.objects.get(code="hosting-a").upgrade_group
    premium = Plan.objects.get(code="hosting-b")
    premium.manual_fulfilment = True
    premium.save()
    customer = CustomerFactory(currency="CAD", country="CA")
    subscription = services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    result = services.subscription_change_plan(
        subscription=subscription, plan=premium, today=date(2026, 11, 10)
    )
    assert result.charges == [] and "pending" in result.message
    subscription.refresh_from_db()
    assert subscription.plan.code == "hosting-a" and subscription.pending_plan == premium
    done = services.subscription_fulfil(subscription=subscription, today=date(2026, 11, 21))
    assert [c.net for c in done.charges] == [D("33.33")]
    subscription.refresh_from_db()
    assert subscription.plan == premium and group == premium.upgrade_group
    assert subscription.pending_plan is None


def test_a_coupon_discounts_the_next_invoice_once(demo_catalog):
    from catalog import services as catalog_services
    from catalog.models import Bundle, CouponCampaign

    plan = Plan.objects.get(code="cloud-backup-monthly")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=plan,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    ).subscription
    catalog_services.coupon_codes_generate(campaign=CouponCampaign.objects.get(code="coupon-87"))
    result = services.coupon_redeem(
        subscription=subscription, code="coupon_87", today=date(2026, 2, 3)
    )
    # billing-rules example 3.4: the add-on at 10.00 with the coupon's 20 % costs 8.00 on the next
    # invoice.
    next_addon = [
        c for c in result.next_charges if c.product_id and c.description.startswith("Additional")
    ]
    assert [c.net for c in next_addon] == [D("8.00")]
    assert result.effective_date == date(2026, 2, 15)
    charges = due_charges(context_of(subscription), up_to=date(2026, 3, 15))
    addon = [(c.charge_date, c.net) for c in charges if c.description.startswith("Additional")]
    assert addon == [
        (date(2026, 1, 15), D("10.00")),
        (date(2026, 2, 15), D("8.00")),
        (date(2026, 3, 15), D("10.00")),
    ]


def test_a_voucher_lasts_its_discount_duration(demo_catalog):
    from catalog import services as catalog_services
    from catalog.models import Bundle, CouponCampaign

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
    customer = CustomerFactory(currency="CAD", country="CA")
    subscription = services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    result = services.coupon_redeem(
        subscription=subscription, code="WELCOME-0001", today=date(2026, 1, 10)
    )
    assert subscription.events.filter(kind="voucher_redeemed").exists()
    assert "15.00 CAD off" in result.message
    charges = due_charges(context_of(subscription), up_to=date(2026, 6, 1))
    # "Welcome: 10 % for 3 periods", from the next period on.
    assert [c.net for c in charges] == [
        D("150.00"),
        D("135.00"),
        D("135.00"),
        D("135.00"),
        D("150.00"),
        D("150.00"),
    ]


def test_a_coupon_redeemed_before_the_start_discounts_the_first_invoice(demo_catalog):
    from catalog import services as catalog_services
    from catalog.models import Bundle, CouponCampaign

    plan = Plan.objects.get(code="cloud-backup-monthly")  # 14-day trial
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=plan,
        start_date=date(2026, 11, 10),
        today=date(2026, 10, 1),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    ).subscription
    catalog_services.coupon_codes_generate(campaign=CouponCampaign.objects.get(code="coupon-87"))
    result = services.coupon_redeem(
        subscription=subscription, code="coupon_87", today=date(2026, 10, 1)
    )
    assert result.effective_date == date(2026, 11, 24)  # the first period, after the trial
    addon = [c.net for c in result.next_charges if c.description.startswith("Additional")]
    assert addon == [D("8.00")]


# An upgrade on the day a commitment renews --------------------------------------------------------

RENEWAL = date(2027, 3, 1)


@pytest.fixture
def yearly_small(demo_catalog):
    """A yearly plan at 100.00 EUR in a one-year renewable term, from 2026-03-01 (its commitment
    renews on 2027-03-01, also the start of its second year); a 300.00 plan above it."""
    yearly = term(
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        auto_renew=True,
        tax_rate=TaxRate.objects.get(code="FR-VAT-20"),
    )
    group = UpgradeGroup.objects.create(code="yearly", name="Yearly")
    small = monthly_plan(
        "100.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=1
    )
    large = monthly_plan(
        "300.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=2
    )
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=small, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    assert (subscription.commitment_end, subscription.renewal_date) == (RENEWAL, RENEWAL)
    assert billing_run(day=date(2026, 3, 1)).invoices == 1
    return subscription, small, large


def lines_from(subscription, day):
    return sorted(
        (line.kind, line.period_start, line.period_end, line.quantity, line.net.amount)
        for line in InvoiceLine.objects.filter(subscription=subscription, charge_date__gte=day)
    )


def test_an_upgrade_on_the_day_of_a_commitment_renewal_is_billed_once(yearly_small):
    subscription, _small, large = yearly_small

    # Given an upgrade asked on the renewal day, before that day's billing run
    result = services.subscription_change_plan(subscription=subscription, plan=large, today=RENEWAL)
    assert result.effective_date == RENEWAL
    [upgrade] = result.charges
    assert (upgrade.kind, upgrade.net, upgrade.rule) == (
        "proration",
        D("200.00"),
        "(300.00 − 100.00) × 366/366",  # 2028 is a leap year,
    )

    # When the billing run of that day runs, then runs again
    first, second = billing_run(day=RENEWAL), billing_run(day=RENEWAL)

    # Then it renews once (the change itself brought the subscription to its renewal day, as
    # the run would: billing-rules §1, the same answer at any hour, so the run finds it done), and
    # the new year costs the new price once: the recurring charge as the year starts (old plan) plus
    # the whole-year difference, on its own invoice
    assert (first.renewals, first.invoices, first.lines) == (0, 2, 2)
    assert (second.renewals, second.invoices, second.lines, second.credit_notes) == (0, 0, 0, 0)
    assert lines_from(subscription, RENEWAL) == [
        ("proration", RENEWAL, date(2028, 3, 1), D("1"), D("200.00")),
        ("recurring", RENEWAL, date(2028, 3, 1), D("1"), D("100.00")),
    ]
    invoices = Invoice.objects.filter(subscription=subscription, issue_date=RENEWAL)
    assert sorted(i.total.amount for i in invoices) == [D("120.00"), D("240.00")]
    assert subscription.events.filter(kind="renewed", effective_date=RENEWAL).count() == 1
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.commitment_end) == (large, date(2028, 3, 1))

    # And the following year is billed at the new price alone
    billing_run(day=date(2028, 3, 1))
    assert lines_from(subscription, date(2028, 3, 1)) == [
        ("recurring", date(2028, 3, 1), date(2029, 3, 1), D("1"), D("300.00"))
    ]


def test_an_upgrade_after_the_renewal_run_of_that_day_is_billed_once(yearly_small):
    subscription, _small, large = yearly_small

    # Given the renewal already billed at the old price on the renewal day
    renewal = billing_run(day=RENEWAL)
    assert (renewal.renewals, renewal.invoices) == (1, 1)

    # When the customer upgrades later that day and billing runs twice more
    services.subscription_change_plan(subscription=subscription, plan=large, today=RENEWAL)
    first, second = billing_run(day=RENEWAL), billing_run(day=RENEWAL)

    # Then only the whole-year difference is added, once
    assert (first.invoices, first.lines, first.renewals) == (1, 1, 0)
    assert (second.invoices, second.lines, second.credit_notes) == (0, 0, 0)
    assert lines_from(subscription, RENEWAL) == [
        ("proration", RENEWAL, date(2028, 3, 1), D("1"), D("200.00")),
        ("recurring", RENEWAL, date(2028, 3, 1), D("1"), D("100.00")),
    ]
    assert subscription.events.filter(kind="renewed").count() == 1


# The timeline is append-only ---------------------------------------------------------------------


@pytest.fixture
def hosting(demo_catalog):
    from catalog.models import Plan

    return services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription


@pytest.mark.parametrize(
    ("field", "value", "update_fields"),
    [
        ("effective_date", date(2026, 12, 1), None),
        ("data", {"plan": 0}, None),
        ("kind", SubscriptionEvent.Kind.ENDED, ["kind"]),
        ("channel", "api", ["channel", "revoked_by"]),
    ],
)
def test_a_past_timeline_entry_is_never_edited(hosting, field, value, update_fields):
    entry = hosting.events.get(kind="created")
    before = SubscriptionEvent.objects.filter(pk=entry.pk).values().get()
    setattr(entry, field, value)
    with pytest.raises(ValueError, match="timeline entries are never edited"):
        if update_fields is None:
            entry.save()
        else:
            entry.save(update_fields=update_fields)
    assert SubscriptionEvent.objects.filter(pk=entry.pk).values().get() == before


def test_only_revoked_by_may_be_set_on_an_existing_entry(hosting):
    cancellation = services.subscription_cancel(subscription=hosting, today=date(2026, 11, 10))
    entry = cancellation.event
    undo = services.subscription_undo_cancellation(subscription=hosting, today=date(2026, 11, 15))
    entry.refresh_from_db()
    assert entry.revoked_by == undo.event  # the service marks it through the one allowed save

    # Saving with update_fields=["revoked_by"] writes that column only: other edits are dropped.
    other = services.subscription_cancel(subscription=hosting, today=date(2026, 11, 20)).event
    before = SubscriptionEvent.objects.filter(pk=other.pk).values().get()
    other.effective_date = date(2030, 1, 1)
    other.data = {"tampered": True}
    marker = SubscriptionEvent.objects.create(
        subscription=hosting, kind="cancellation_undone", effective_date=date(2026, 11, 20)
    )
    other.revoked_by = marker
    other.save(update_fields=["revoked_by"])
    after = SubscriptionEvent.objects.filter(pk=other.pk).values().get()
    assert after == before | {"revoked_by_id": marker.pk}

    # A revocation is for good: an entry already revoked cannot be revoked again (or undone).
    again = SubscriptionEvent.objects.create(
        subscription=hosting, kind="cancellation_undone", effective_date=date(2026, 11, 21)
    )
    other.revoked_by = again
    with pytest.raises(ValueError, match="already revoked"):
        other.save(update_fields=["revoked_by"])
    other.revoked_by = None
    with pytest.raises(ValueError, match="never edited"):
        other.save(update_fields=["revoked_by"])
    assert SubscriptionEvent.objects.get(pk=other.pk).revoked_by_id == marker.pk
