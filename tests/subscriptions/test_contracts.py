"""Product contracts on subscriptions (billing-rules §8): issues scheduled with the free ones last,
credits granted, consumed and expired."""

from datetime import date
from decimal import Decimal

import pytest

from catalog.models import Plan, ProductContract, SeatType
from subscriptions import services
from subscriptions.models import CreditEntry, ScheduledIssue
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def subscription(demo_catalog):
    return services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 2},
    ).subscription


def test_example_8_2_issues_are_scheduled_with_the_free_one_last(subscription):
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="magazine-6-issues"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    # The contract starts today: the issues of its first billing period and of the next.
    issues = list(
        ScheduledIssue.objects.filter(
            subscription_contract=held, period_start=date(2026, 1, 1)
        ).order_by("number")
    )
    assert [(i.number, i.chargeable) for i in issues] == [
        (1, True),
        (2, True),
        (3, True),
        (4, True),
        (5, True),
        (6, False),
    ]
    assert issues[0].issue_date == date(2026, 1, 1) and issues[-1].issue_date < date(2026, 7, 1)
    # Scheduling the same period again adds nothing; the next period gets its own six.
    services.issues_schedule(subscription_contract=held, day=date(2026, 3, 1))
    services.issues_schedule(subscription_contract=held, day=date(2026, 7, 1))
    assert ScheduledIssue.objects.filter(subscription_contract=held).count() == 12
    assert subscription.events.filter(kind="contract_added").exists()


def test_credits_are_granted_each_period_consumed_and_expired(subscription):
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    assert services.credit_balance(subscription_contract=held) == D("20")
    services.credits_consume(
        subscription_contract=held, amount=D("7.5"), day=date(2026, 1, 20), reference="ticket 42"
    )
    assert services.credit_balance(subscription_contract=held) == D("12.5")
    # At the end of January the 12.50 left expire; February's 20 are granted once.
    expiry = services.credits_expire(subscription_contract=held, day=date(2026, 2, 1))
    assert (expiry.amount, expiry.period_start, expiry.period_end) == (
        D("-12.50"),
        date(2026, 1, 1),
        date(2026, 2, 1),
    )
    assert services.credits_expire(subscription_contract=held, day=date(2026, 2, 2)) is None
    assert services.credits_grant(subscription_contract=held, day=date(2026, 2, 1)) is not None
    assert services.credits_grant(subscription_contract=held, day=date(2026, 2, 15)) is None
    assert services.credit_balance(subscription_contract=held) == D("20")
    kinds = list(
        CreditEntry.objects.filter(subscription_contract=held).values_list("kind", flat=True)
    )
    assert kinds == ["grant", "consumption", "expiry", "grant"]


def test_a_consumption_beyond_the_balance_changes_nothing(subscription):
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    from core.errors import ApplicationError

    with pytest.raises(
        ApplicationError, match=r"Only 20\.00 credits are left; 25\.00 were asked for"
    ):
        services.credits_consume(subscription_contract=held, amount=D("25"), day=date(2026, 1, 3))
    assert CreditEntry.objects.filter(subscription_contract=held).count() == 1


def test_a_fixed_runtime_time_contract_ends(subscription):
    contract = ProductContract.objects.get(code="maintenance-monthly")
    contract.runtime, contract.runtime_count, contract.runtime_unit = "fixed", 12, "month"
    contract.save()
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=contract,
        start_date=date(2026, 2, 1),
        today=date(2026, 2, 1),
    )
    assert held.end_date == date(2027, 2, 1)


@pytest.mark.parametrize(
    ("today", "effective"),
    [(date(2026, 3, 1), date(2026, 4, 1)), (date(2026, 3, 10), date(2026, 5, 1))],
)
def test_a_time_based_contract_ends_at_the_interval_end_within_the_cancellation_period(
    subscription, today, effective
):
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="maintenance-monthly"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    held = services.subscription_contract_cancel(subscription_contract=held, today=today)
    assert (held.end_date, held.status) == (effective, "pending_cancellation")


@pytest.mark.parametrize(
    ("today", "first_cancelled"),
    [
        # The next billing period starts on 2026-07-01 with its first issue; 14 days' notice:
        # asked by 2026-06-17, the issues stop from 2026-07-01; later, from 2027-01-01.
        (date(2026, 1, 10), date(2026, 7, 1)),
        (date(2026, 6, 17), date(2026, 7, 1)),
        (date(2026, 6, 18), date(2027, 1, 1)),
    ],
)
def test_an_issue_based_contract_stops_at_a_billing_period_within_the_cancellation_period(
    subscription, today, first_cancelled
):
    held = services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="magazine-6-issues"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    services.contracts_run(day=today)
    held = services.subscription_contract_cancel(subscription_contract=held, today=today)
    assert (held.end_date, held.status) == (first_cancelled, "pending_cancellation")
    # The issues of the periods already invoiced are all delivered, none after.
    kept = ScheduledIssue.objects.filter(subscription_contract=held, cancelled=False)
    assert kept.count() == 6 * (
        (first_cancelled.year - 2026) * 2 + (first_cancelled.month - 1) // 6
    )
    assert max(kept.values_list("issue_date", flat=True)) < first_cancelled
    # The job, run on the end date, schedules nothing more and ends the contract.
    services.contracts_run(day=first_cancelled)
    held.refresh_from_db()
    assert held.status == "ended"
    assert not ScheduledIssue.objects.filter(
        subscription_contract=held, cancelled=False, issue_date__gte=first_cancelled
    ).exists()
    assert kept.count() == 6 * (
        (first_cancelled.year - 2026) * 2 + (first_cancelled.month - 1) // 6
    )
