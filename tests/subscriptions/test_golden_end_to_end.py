"""billing-rules examples 5.1 and 5.2 through the real path: the service asked on the day, then the
billing run day after day through the renewal, down to the invoice lines."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceLine
from billing.services import billing_run
from catalog.models import Plan, SeatType, TaxRate
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory, term

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def yearly_with_notice(demo_catalog):
    """billing-rules §5: yearly from 2026-01-01, renewal 2027-01-01, notice 90 days, freeze 3
    months; 10 gateway seats at 60.00 EUR per seat per year, VAT 20 %."""
    notice = term(
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        notice_count=90,
        notice_unit="day",
        freeze_count=3,
        freeze_unit="month",
        auto_renew=True,
        tax_rate=TaxRate.objects.get(code="FR-VAT-20"),
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
    # The first year is invoiced on its first day: 10 seats, 600.00.
    assert billing_run(day=date(2026, 1, 1)).invoices == 1
    [first] = InvoiceLine.objects.filter(period_start=date(2026, 1, 1))
    assert (first.kind, first.quantity, first.net.amount) == ("recurring", D("10"), D("600.00"))
    assert first.invoice.total.amount == D("720.00")
    return subscription, gateway


def lines_of(subscription):
    return [
        (line.kind, line.period_start, line.period_end, line.quantity, line.net.amount)
        for line in InvoiceLine.objects.filter(subscription=subscription).order_by("id")
    ]


def run(*days):
    return [billing_run(day=day) for day in days]


# Example 5.1 -------------------------------------------------------------------------------------


def test_example_5_1_asked_on_the_deadline_it_ends_at_the_renewal(yearly_with_notice):
    subscription, _gateway = yearly_with_notice

    # Given a cancellation asked on the notice deadline, 2026-10-03
    result = services.subscription_cancel(subscription=subscription, today=date(2026, 10, 3))
    assert result.effective_date == date(2027, 1, 1)
    assert result.charges == []

    # When billing runs on the following days, through the renewal date
    reports = run(date(2026, 10, 3), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2))

    # Then it does not renew, and the year from 2027-01-01 is never billed
    assert [r.invoices for r in reports] == [0, 0, 0, 0]
    assert [r.renewals for r in reports] == [0, 0, 0, 0]
    assert lines_of(subscription) == [
        ("recurring", date(2026, 1, 1), date(2027, 1, 1), D("10"), D("600.00"))
    ]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.end_date) == (
        Subscription.Status.CANCELLED,
        date(2027, 1, 1),
    )
    assert not subscription.events.filter(kind="renewed").exists()
    assert subscription.next_billing_date is None
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 0


def test_example_5_1_a_day_late_it_renews_once_more_and_ends_a_year_later(yearly_with_notice):
    subscription, _gateway = yearly_with_notice

    # Given a cancellation asked a day after the notice deadline
    result = services.subscription_cancel(subscription=subscription, today=date(2026, 10, 4))
    assert result.effective_date == date(2028, 1, 1)
    assert "2026-10-03" in result.rule  # the deadline that was missed

    # When billing runs on the renewal date (twice, like a job run again)
    renewal, again = run(date(2027, 1, 1), date(2027, 1, 1))

    # Then it renews on 2027-01-01 and the year 2027 is billed once, at 10 seats
    assert (renewal.renewals, renewal.invoices) == (1, 1)
    assert (again.renewals, again.invoices, again.lines) == (0, 0, 0)
    [renewed] = subscription.events.filter(kind="renewed")
    assert renewed.effective_date == date(2027, 1, 1)
    assert renewed.data["commitment_end"] == "2028-01-01"
    invoice = Invoice.objects.get(period_start=date(2027, 1, 1))
    assert (invoice.issue_date, invoice.period_end) == (date(2027, 1, 1), date(2028, 1, 1))
    [line] = invoice.lines.all()
    assert (line.kind, line.quantity, line.unit_price.amount, line.net.amount) == (
        "recurring",
        D("10"),
        D("60.0000"),
        D("600.00"),
    )
    assert (invoice.net_total.amount, invoice.tax_total.amount, invoice.total.amount) == (
        D("600.00"),
        D("120.00"),
        D("720.00"),
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING_CANCELLATION
    assert subscription.end_date == date(2028, 1, 1)

    # And on its end date nothing more is billed, and no renewal is recorded
    ends, later = run(date(2028, 1, 1), date(2029, 1, 1))
    assert (ends.invoices, ends.renewals, later.invoices, later.renewals) == (0, 0, 0, 0)
    assert (
        InvoiceLine.objects.filter(
            subscription=subscription, period_start__gte=date(2028, 1, 1)
        ).count()
        == 0
    )
    assert [r.effective_date for r in subscription.events.filter(kind="renewed")] == [
        date(2027, 1, 1)
    ]
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert lines_of(subscription) == [
        ("recurring", date(2026, 1, 1), date(2027, 1, 1), D("10"), D("600.00")),
        ("recurring", date(2027, 1, 1), date(2028, 1, 1), D("10"), D("600.00")),
    ]


def test_example_5_1_the_daily_advance_agrees_with_the_billing_run(yearly_with_notice):
    subscription, _gateway = yearly_with_notice
    services.subscription_cancel(subscription=subscription, today=date(2026, 10, 4))

    [renewed] = services.subscription_advance(subscription=subscription, today=date(2027, 1, 1))
    assert (renewed.kind, renewed.effective_date) == ("renewed", date(2027, 1, 1))
    assert services.subscription_advance(subscription=subscription, today=date(2027, 1, 1)) == []
    # Billing after the advance still bills the renewed year once, and renews nothing more.
    report = billing_run(day=date(2027, 1, 1))
    assert (report.renewals, report.invoices) == (0, 1)
    assert services.subscription_advance(subscription=subscription, today=date(2028, 1, 1)) == []
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED


# Example 5.2 -------------------------------------------------------------------------------------


def test_example_5_2_a_reduction_takes_effect_at_the_renewal_invoice(yearly_with_notice):
    subscription, gateway = yearly_with_notice

    # Given a reduction from 10 to 6 seats asked on 2026-09-30, the day before the freeze
    result = services.seats_reduce(
        subscription=subscription, seat_type=gateway, quantity=6, today=date(2026, 9, 30)
    )
    assert result.effective_date == date(2027, 1, 1)
    assert result.charges == []

    # When billing runs from the request to the day before the renewal
    before = run(date(2026, 9, 30), date(2026, 10, 1), date(2026, 12, 31))

    # Then nothing is refunded or credited, and the current year keeps its 10 seats
    assert [(r.invoices, r.credit_notes) for r in before] == [(0, 0)] * 3
    assert lines_of(subscription) == [
        ("recurring", date(2026, 1, 1), date(2027, 1, 1), D("10"), D("600.00"))
    ]
    seat = subscription.seats.get(seat_type=gateway)
    assert (seat.quantity, seat.scheduled_quantity) == (10, 6)

    # When billing runs on the renewal date (twice)
    renewal, again = run(date(2027, 1, 1), date(2027, 1, 1))

    # Then the year from 2027-01-01 bills 6 seats, once
    assert (renewal.renewals, renewal.invoices, renewal.credit_notes) == (1, 1, 0)
    assert (again.invoices, again.lines) == (0, 0)
    invoice = Invoice.objects.get(period_start=date(2027, 1, 1))
    [line] = invoice.lines.all()
    assert (line.kind, line.period_end, line.quantity, line.unit_price.amount) == (
        "recurring",
        date(2028, 1, 1),
        D("6"),
        D("60.0000"),
    )
    assert (line.gross.amount, line.net.amount) == (D("360.00"), D("360.00"))
    assert (invoice.net_total.amount, invoice.tax_total.amount, invoice.total.amount) == (
        D("360.00"),
        D("72.00"),
        D("432.00"),
    )
    seat.refresh_from_db()
    assert (seat.quantity, seat.scheduled_quantity) == (6, None)
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 0
