"""Renewals, notice deadlines and "the renewal after next" are boundaries of the anchor's timeline,
never chained from the previous renewal (billing-rules §1, example 1.1); every answer is the same at
any hour (billing-rules §1); a plan's minimum commitment binds on its own
(billing-rules §4, example 4.1)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.services import billing_run
from catalog.models import TaxRate
from core.periods import Period, Unit, boundary, period_index
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionEvent
from tests.subscriptions.factories import CustomerFactory, monthly_plan, term

pytestmark = pytest.mark.django_db
D = Decimal


def vat():
    return TaxRate.objects.get(code="FR-VAT-20")


def subscribe(plan, start):
    return services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=start, today=start
    ).subscription


def renewals(subscription):
    return list(
        subscription.events.filter(kind=SubscriptionEvent.Kind.RENEWED)
        .order_by("effective_date")
        .values_list("effective_date", flat=True)
    )


def three_cycle_term(**fields):
    return term(commitment_basis="billing_cycles", commitment_count=3, auto_renew=True, **fields)


def test_example_1_1_monthly_renewals_from_the_31st_come_back_to_the_31st(demo_catalog):
    """Example 1.1: monthly from 2026-01-31, a 3-cycle term renewing into itself: renewals on
    2026-04-30, 2026-07-31, 2026-10-31 (chained, they slipped to 07-30 and 10-30)."""
    plan = monthly_plan("30.00", term=three_cycle_term(tax_rate=vat()))
    subscription = subscribe(plan, date(2026, 1, 31))

    services.subscription_advance(subscription=subscription, today=date(2026, 11, 1))

    assert renewals(subscription) == [date(2026, 4, 30), date(2026, 7, 31), date(2026, 10, 31)]
    subscription.refresh_from_db()
    assert subscription.commitment_end == date(2027, 1, 31)


def test_quarterly_renewals_from_29_february_come_back_to_the_29th(demo_catalog):
    plan = monthly_plan(
        "90.00",
        period=(3, "month"),
        term=term(commitment_basis="billing_cycles", commitment_count=1, auto_renew=True),
    )
    subscription = subscribe(plan, date(2028, 2, 29))

    services.subscription_advance(subscription=subscription, today=date(2029, 6, 1))

    assert renewals(subscription) == [
        date(2028, 5, 29),
        date(2028, 8, 29),
        date(2028, 11, 29),
        date(2029, 2, 28),
        date(2029, 5, 29),  # not the 28th of a chain that went through February
    ]


def test_quarterly_renewals_from_the_31st_come_back_to_the_31st(demo_catalog):
    plan = monthly_plan(
        "90.00",
        period=(3, "month"),
        term=term(commitment_basis="billing_cycles", commitment_count=1, auto_renew=True),
    )
    subscription = subscribe(plan, date(2027, 8, 31))

    services.subscription_advance(subscription=subscription, today=date(2028, 6, 1))

    assert renewals(subscription) == [date(2027, 11, 30), date(2028, 2, 29), date(2028, 5, 31)]


def test_a_request_on_the_notice_deadline_ends_at_the_anchored_renewal(demo_catalog):
    """Monthly from 2026-01-31, 3-cycle term renewing into itself, 30 days of notice: the renewal
    is 2026-07-31, its deadline 2026-07-01; a request on 2026-07-01 ends on 2026-07-31."""
    plan = monthly_plan(
        "30.00", term=three_cycle_term(notice_count=30, notice_unit="day", tax_rate=vat())
    )
    subscription = subscribe(plan, date(2026, 1, 31))
    services.subscription_advance(subscription=subscription, today=date(2026, 7, 1))

    result = services.subscription_cancel(subscription=subscription, today=date(2026, 7, 1))

    assert result.effective_date == date(2026, 7, 31)
    assert "2026-07-01" in result.rule


def test_example_1_1_the_renewal_after_next_is_anchored(demo_catalog):
    """Example 1.1: monthly from 2026-01-31, no commitment, 10 days of notice, asked 2026-04-25
    (after the deadline 2026-04-20): ends on 2026-05-31, not 05-30 in the middle of a period."""
    plan = monthly_plan("30.00", term=term(notice_count=10, notice_unit="day", tax_rate=vat()))
    subscription = subscribe(plan, date(2026, 1, 31))

    quote = services.cancellation_quote(subscription=subscription, today=date(2026, 4, 25))
    result = services.subscription_cancel(subscription=subscription, today=date(2026, 4, 25))

    assert quote.effective_date == result.effective_date == date(2026, 5, 31)
    assert "2026-04-20" in result.rule


def test_yearly_from_29_february_the_renewal_after_next_is_29_february(demo_catalog):
    plan = monthly_plan(
        "300.00",
        period=(1, "year"),
        term=term(notice_count=1, notice_unit="month", tax_rate=vat()),
    )
    subscription = subscribe(plan, date(2028, 2, 29))

    result = services.subscription_cancel(subscription=subscription, today=date(2031, 2, 10))

    assert result.effective_date == date(2032, 2, 29)


@pytest.fixture
def twelve_month_penalty(demo_catalog):
    """A monthly plan in a 12-month term renewing into itself, a 100.00 penalty (not prorated),
    from 2026-01-01: its first renewal is 2027-01-01."""
    penalty_term = term(
        commitment_basis="calendar",
        commitment_count=12,
        commitment_unit="month",
        auto_renew=True,
        early_termination="penalty",
        penalty_cap=D("100.00"),
        tax_rate=vat(),
    )
    plan = monthly_plan("30.00", term=penalty_term)
    return subscribe(plan, date(2026, 1, 1))


RENEWAL_DAY = date(2027, 1, 1)


def test_a_quote_on_the_renewal_day_is_the_same_before_and_after_the_nightly_run(
    twelve_month_penalty,
):
    """On the renewal day, at 01:00 (the run has not been), the quote sees the renewed
    commitment: 100.00, as at 10:00 after the run (it said 0.00 before)."""
    subscription = twelve_month_penalty
    services.subscription_advance(subscription=subscription, today=date(2026, 12, 31))

    before_run = services.cancellation_quote(subscription=subscription, today=RENEWAL_DAY)
    preview = services.subscription_cancel(
        subscription=subscription, today=RENEWAL_DAY, dry_run=True
    )
    subscription.refresh_from_db()
    assert subscription.commitment_end == RENEWAL_DAY  # the preview wrote nothing
    billing_run(day=RENEWAL_DAY)
    subscription.refresh_from_db()
    after_run = services.cancellation_quote(subscription=subscription, today=RENEWAL_DAY)

    assert before_run.penalty == preview.charges[0].net == after_run.penalty == D("100.00")
    assert before_run.effective_date == after_run.effective_date == date(2027, 2, 1)


def test_a_change_on_the_renewal_day_before_the_run_sees_the_renewed_term(twelve_month_penalty):
    """Seats reduced or a cancellation made before the run are judged on the renewed commitment,
    and the run that follows renews nothing twice."""
    subscription = twelve_month_penalty
    services.subscription_advance(subscription=subscription, today=date(2026, 12, 31))

    result = services.subscription_cancel(subscription=subscription, today=RENEWAL_DAY)
    report = billing_run(day=RENEWAL_DAY)

    assert result.charges[0].net == D("100.00")
    assert renewals(subscription) == [RENEWAL_DAY]
    assert report.renewals == 0


def test_example_4_1_a_plan_minimum_commitment_binds_without_a_term(demo_catalog):
    """Example 4.1: 30.00 EUR/month, minimum commitment 4 occurrences, no term, start
    2026-01-15: the commitment ends 2026-05-15, and a cancellation asked on 2026-02-20 takes
    effect on 2026-05-15 (it took effect at the period end, 2026-03-15)."""
    plan = monthly_plan("30.00", minimum_commitment_occurrences=4)
    subscription = subscribe(plan, date(2026, 1, 15))
    assert subscription.commitment_end == date(2026, 5, 15)

    result = services.subscription_cancel(subscription=subscription, today=date(2026, 2, 20))

    assert result.effective_date == date(2026, 5, 15)
    assert "2026-05-15" in result.rule
    assert result.charges == []  # no penalty: it simply runs to its end


def test_after_the_minimum_commitment_a_cancellation_ends_with_the_period(demo_catalog):
    plan = monthly_plan("30.00", minimum_commitment_occurrences=4)
    subscription = subscribe(plan, date(2026, 1, 15))

    result = services.subscription_cancel(subscription=subscription, today=date(2026, 6, 20))

    assert result.effective_date == date(2026, 7, 15)


# Property tests: anchors on the 28th to the 31st and on 29 February, every billing period.
awkward_anchors = st.one_of(
    st.builds(date, st.integers(2025, 2031), st.integers(1, 12), st.integers(28, 28)),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2031, 12, 31)).filter(
        lambda d: d.day >= 29
    ),
    st.sampled_from([date(2028, 2, 29), date(2032, 2, 29)]),
)
billing_periods = st.sampled_from([(1, "month"), (3, "month"), (6, "month"), (1, "year")])
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(anchor=awkward_anchors, period=billing_periods, cycles=st.integers(1, 4))
def test_property_renewals_are_boundaries_of_the_anchor(demo_catalog, anchor, period, cycles):
    """Every renewal of an N-cycle term renewing into itself is boundary k·N of the anchor."""
    with transaction.atomic():
        plan = monthly_plan(
            "30.00",
            period=period,
            term=term(commitment_basis="billing_cycles", commitment_count=cycles, auto_renew=True),
        )
        subscription = subscribe(plan, anchor)
        billing_period = Period(*period)
        horizon = boundary(anchor, billing_period, 4 * cycles) + timedelta(days=1)

        services.subscription_advance(subscription=subscription, today=horizon)

        assert renewals(subscription) == [
            boundary(anchor, billing_period, cycles * j) for j in range(1, 5)
        ]
        transaction.set_rollback(True)


@PROPERTY
@given(
    anchor=awkward_anchors,
    period=billing_periods,
    notice=st.sampled_from([(10, "day"), (30, "day"), (1, "month"), (2, "month")]),
    asked_after=st.integers(0, 800),
)
def test_property_cancellations_end_on_a_boundary_of_the_anchor(
    demo_catalog, anchor, period, notice, asked_after
):
    """With a notice period and no commitment, a cancellation ends on a boundary of the anchor's
    billing periods: the current period's end when the notice deadline before it is not past,
    else the next boundary, never a day between two boundaries."""
    with transaction.atomic():
        plan = monthly_plan(
            "30.00", period=period, term=term(notice_count=notice[0], notice_unit=notice[1])
        )
        subscription = subscribe(plan, anchor)
        billing_period = Period(*period)
        today = anchor + timedelta(days=asked_after)

        effective = services.cancellation_quote(
            subscription=subscription, today=today
        ).effective_date

        k = period_index(anchor, billing_period, today)
        period_end = boundary(anchor, billing_period, k + 1)
        deadline = boundary(anchor, Period(notice[0], Unit(notice[1])), -1, since=period_end)
        expected = period_end if today <= deadline else boundary(anchor, billing_period, k + 2)
        assert effective == expected
        transaction.set_rollback(True)


def test_status_of_quote_copy_leaves_the_callers_instance_alone(twelve_month_penalty):
    subscription = twelve_month_penalty
    services.cancellation_quote(subscription=subscription, today=date(2027, 3, 1))
    assert subscription.commitment_end == RENEWAL_DAY
    assert Subscription.objects.get(pk=subscription.pk).commitment_end == RENEWAL_DAY
