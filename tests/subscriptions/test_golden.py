"""The golden examples of billing-rules §4–6, at the level of charges and dates, with exactly their
figures. (Invoice-level versions of 4.2, 6.1 and 6.2 are in tests/billing.)"""

from datetime import date
from decimal import Decimal

import pytest

from catalog.models import Plan, SeatType
from core.errors import ApplicationError
from core.pricing import invoice_totals
from subscriptions import services
from subscriptions.charges import context_of, due_charges, recurring_charges
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory, monthly_plan, term

pytestmark = pytest.mark.django_db
D = Decimal


def totals(charges):
    t = invoice_totals([(c.tax_rate, c.net) for c in charges], "EUR")
    return t.net, t.tax, t.gross


# billing-rules §4 Commitment and terms ------------------------------------------------------------


def test_example_4_1_forbidden_early_termination_takes_effect_at_the_commitment_end():
    forbidden = term(
        commitment_basis="billing_cycles", commitment_count=4, early_termination="forbidden"
    )
    plan = monthly_plan("30.00", term=forbidden, minimum_commitment_occurrences=4)
    result = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 1, 15), today=date(2026, 1, 15)
    )
    subscription = result.subscription
    assert subscription.commitment_end == date(2026, 5, 15)

    cancelled = services.subscription_cancel(subscription=subscription, today=date(2026, 2, 20))
    assert cancelled.effective_date == date(2026, 5, 15)
    assert cancelled.charges == []  # forbidden: no fee, the commitment is simply served
    assert "2026-05-15" in cancelled.rule
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING_CANCELLATION
    assert subscription.end_date == date(2026, 5, 15)


@pytest.fixture
def penalty_plan():
    penalty = term(
        commitment_basis="calendar",
        commitment_count=24,
        commitment_unit="month",
        early_termination="penalty",
        penalty_cap=D("240.00"),
        currency="EUR",
        penalty_prorated=True,
        grace_count=14,
        grace_unit="day",
    )
    return monthly_plan("45.00", term=penalty)


def test_example_4_2_prorated_penalty(penalty_plan):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=penalty_plan,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    assert subscription.commitment_end == date(2028, 1, 1)  # 730 days

    quote = services.cancellation_quote(subscription=subscription, today=date(2026, 10, 1))
    assert quote.effective_date == date(2026, 11, 1)
    assert quote.penalty == D("140.05")  # 240 × 426 ÷ 730
    assert "240.00 × 426 ÷ 730" in quote.rule

    result = services.subscription_cancel(subscription=subscription, today=date(2026, 10, 1))
    assert result.effective_date == date(2026, 11, 1)
    [penalty] = result.charges
    assert (penalty.kind, penalty.net, penalty.charge_date) == (
        "penalty",
        D("140.05"),
        date(2026, 10, 1),
    )
    assert "426" in penalty.rule and "730" in penalty.rule


def test_example_4_2_no_penalty_within_the_grace_period(penalty_plan):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=penalty_plan,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    result = services.subscription_cancel(subscription=subscription, today=date(2026, 1, 10))
    assert result.effective_date == date(2026, 2, 1)
    assert result.charges == []
    assert "grace" in result.rule


def test_example_4_3_renewal_into_the_renewal_term():
    one_year = term(commitment_basis="calendar", commitment_count=1, commitment_unit="year")
    two_years = term(
        commitment_basis="calendar",
        commitment_count=2,
        commitment_unit="year",
        renewal_term=one_year,
        auto_renew=True,
    )
    plan = monthly_plan("1200.00", term=two_years, period=(1, "year"))
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    assert subscription.commitment_end == date(2028, 3, 1)

    assert services.subscription_advance(subscription=subscription, today=date(2028, 2, 29)) == []
    [renewal] = services.subscription_advance(subscription=subscription, today=date(2028, 3, 1))
    assert renewal.kind == "renewed" and renewal.effective_date == date(2028, 3, 1)
    # The timeline entry records the new term as the rules write it: ending 2029-03-01.
    assert renewal.data == {
        "term": one_year.pk,
        "commitment_start": "2028-03-01",
        "commitment_end": "2029-03-01",
    }
    subscription.refresh_from_db()
    assert subscription.term == one_year
    assert (subscription.commitment_start, subscription.commitment_end) == (
        date(2028, 3, 1),
        date(2029, 3, 1),
    )
    # Renewing again on the same day writes nothing more.
    assert services.subscription_advance(subscription=subscription, today=date(2028, 3, 1)) == []


# billing-rules §5 Notice periods and seat reductions ----------------------------------------------


@pytest.fixture
def yearly_with_notice(demo_catalog):
    notice = term(
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        notice_count=90,
        notice_unit="day",
        freeze_count=3,
        freeze_unit="month",
    )
    plan = Plan.objects.get(code="device-seats")
    plan.term = notice
    plan.billing_period_count, plan.billing_period_unit = 1, "year"
    plan.save()
    plan.service_periods.all().delete()
    gateway = SeatType.objects.get(code="gateway")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=plan,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={gateway: 10},
    ).subscription
    assert subscription.renewal_date == date(2027, 1, 1)
    return subscription, gateway


def test_example_5_1_a_cancellation_on_the_notice_deadline_ends_at_the_renewal(yearly_with_notice):
    subscription, _gateway = yearly_with_notice
    quote = services.cancellation_quote(subscription=subscription, today=date(2026, 10, 3))
    assert quote.effective_date == date(2027, 1, 1)


def test_example_5_1_a_day_late_it_ends_at_the_renewal_after_next(yearly_with_notice):
    subscription, _gateway = yearly_with_notice
    quote = services.cancellation_quote(subscription=subscription, today=date(2026, 10, 4))
    assert quote.effective_date == date(2028, 1, 1)
    assert "2026-10-03" in quote.rule  # the deadline that was missed


def test_example_5_2_a_reduction_before_the_freeze_is_accepted_for_the_renewal(yearly_with_notice):
    subscription, gateway = yearly_with_notice
    result = services.seats_reduce(
        subscription=subscription, seat_type=gateway, quantity=6, today=date(2026, 9, 30)
    )
    assert result.effective_date == date(2027, 1, 1)
    assert result.charges == []  # no refund or credit
    seat = subscription.seats.get(seat_type=gateway)
    assert (seat.quantity, seat.scheduled_quantity) == (10, 6)


def test_example_5_2_a_reduction_inside_the_freeze_is_refused(yearly_with_notice):
    subscription, gateway = yearly_with_notice
    with pytest.raises(ApplicationError) as refused:
        services.seats_reduce(
            subscription=subscription, seat_type=gateway, quantity=6, today=date(2026, 10, 1)
        )
    assert refused.value.message == (
        "Seats cannot be reduced from 2026-10-01, 3 months before the renewal on 2027-01-01."
    )
    assert subscription.events.filter(kind="seats_reduced").count() == 0
    assert subscription.seats.get(seat_type=gateway).scheduled_quantity is None


# billing-rules §6 Changes during a period ---------------------------------------------------------


@pytest.fixture
def partner_subscription(demo_catalog):
    """billing-rules example 6.1: 10 seats at 60.00/seat/year, quarterly, 3 years −10 %,
    partner −20 %."""
    gateway = SeatType.objects.get(code="gateway")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={gateway: 10},
        service_period_years=3,
        partner_discount_percent=D("20"),
    ).subscription
    return subscription, gateway


def test_example_6_1_partner_subscription_each_quarter(partner_subscription):
    subscription, _gateway = partner_subscription
    context = context_of(subscription)
    [q1] = recurring_charges(context, context.period_of(date(2026, 1, 1)))
    assert (q1.period.start, q1.period.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert q1.gross == D("150.00")
    assert [d.amount for d in q1.discounts] == [D("15.00"), D("27.00")]
    assert q1.net == D("108.00")
    assert totals([q1]) == (D("108.00"), D("21.60"), D("129.60"))
    # Every quarter of the service period costs the same.
    [q3] = recurring_charges(context, context.period_of(date(2026, 7, 1)))
    assert totals([q3]) == (D("108.00"), D("21.60"), D("129.60"))


def test_example_6_2_four_seats_added_mid_quarter(partner_subscription):
    subscription, gateway = partner_subscription
    result = services.seats_add(
        subscription=subscription, seat_type=gateway, quantity=4, today=date(2026, 2, 15)
    )
    [added] = result.charges
    assert added.kind == "proration"
    assert added.fraction == D(45) / D(90)
    assert (added.gross, [d.amount for d in added.discounts], added.net) == (
        D("30.00"),
        [D("3.00"), D("5.40")],
        D("21.60"),
    )
    assert totals([added]) == (D("21.60"), D("4.32"), D("25.92"))
    assert added.rule == "(4 × 60.00 EUR / 1 year × 3/12) × 45/90"
    # Billing dates do not move; the quarter of 2026-04-01 bills 14 seats.
    context = context_of(subscription)
    [q2] = recurring_charges(context, context.period_of(date(2026, 4, 1)))
    assert q2.quantity == 14 and q2.period.start == date(2026, 4, 1)
    assert q2.net == D("151.20")
    assert totals([q2]) == (D("151.20"), D("30.24"), D("181.44"))


@pytest.fixture
def hosting(demo_catalog):
    customer = CustomerFactory(currency="CAD", country="CA")
    a = Plan.objects.get(code="hosting-a")
    b = Plan.objects.get(code="hosting-b")
    return customer, a, b


def test_example_6_3_upgrade_charged_now_prorated(hosting):
    customer, a, b = hosting
    subscription = services.subscription_create(
        customer=customer, plan=a, start_date=date(2026, 11, 1), today=date(2026, 11, 1)
    ).subscription
    result = services.subscription_change_plan(
        subscription=subscription, plan=b, today=date(2026, 11, 21)
    )
    [upgrade] = result.charges
    assert upgrade.net == D("33.33")  # 100 × 10 ÷ 30
    assert upgrade.rule == "(250.00 − 150.00) × 10/30"
    assert upgrade.currency == "CAD"
    assert [(c.period.start, c.net) for c in result.next_charges] == [
        (date(2026, 12, 1), D("250.00"))
    ]
    subscription.refresh_from_db()
    assert subscription.plan == b


def test_example_6_3_downgrade_at_the_period_end_nothing_now(hosting):
    customer, a, b = hosting
    subscription = services.subscription_create(
        customer=customer, plan=b, start_date=date(2026, 11, 1), today=date(2026, 11, 1)
    ).subscription
    result = services.subscription_change_plan(
        subscription=subscription, plan=a, today=date(2026, 11, 21)
    )
    assert result.charges == []
    assert result.effective_date == date(2026, 12, 1)
    assert [(c.period.start, c.net) for c in result.next_charges] == [
        (date(2026, 12, 1), D("150.00"))
    ]
    subscription.refresh_from_db()
    assert subscription.plan == b  # until the period ends
    charges = due_charges(context_of(subscription), up_to=date(2026, 12, 1))
    assert [(c.charge_date, c.net) for c in charges] == [
        (date(2026, 11, 1), D("250.00")),
        (date(2026, 12, 1), D("150.00")),
    ]
