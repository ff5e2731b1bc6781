"""Product contracts that run (billing-rules §8): attached at sale, moved pending → active → ended
by the daily job (idempotent, catching up), issues scheduled each billing period, credits
granted and expired each accounting period, bought, and cancellations that follow the plan's
contract."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import ProductContract
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import (
    CreditEntry,
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
    SubscriptionEvent,
)
from tests.subscriptions.factories import CustomerFactory, monthly_plan

pytestmark = pytest.mark.django_db
D = Decimal


def contract(code: str, **changes) -> ProductContract:
    found = ProductContract.objects.get(code=code)
    for name, value in changes.items():
        setattr(found, name, value)
    if changes:
        found.save()
    return found


def sell(plan, start: date, today: date | None = None) -> Subscription:
    return services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=start, today=today or start
    ).subscription


def held_of(subscription: Subscription) -> SubscriptionContract:
    return SubscriptionContract.objects.select_related("contract").get(subscription=subscription)


def ledger(held: SubscriptionContract) -> list[tuple[str, date, Decimal]]:
    return list(
        CreditEntry.objects.filter(subscription_contract=held)
        .order_by("day", "id")
        .values_list("kind", "day", "amount")
    )


def kinds(subscription: Subscription, *wanted: str) -> list[tuple[str, date]]:
    return list(
        SubscriptionEvent.objects.filter(subscription=subscription, kind__in=wanted)
        .order_by("effective_date", "id")
        .values_list("kind", "effective_date")
    )


@pytest.fixture
def credit_plan(demo_catalog):
    return monthly_plan("30.00", contract=contract("support-credits"))


@pytest.fixture
def magazine_plan(demo_catalog):
    return monthly_plan("10.00", period=(6, "month"), contract=contract("magazine-6-issues"))


@pytest.fixture
def maintenance_plan(demo_catalog):
    # Accounting 12 months, interval 1 month, cancellation period 1 month: billed yearly.
    return monthly_plan("300.00", period=(1, "year"), contract=contract("maintenance-monthly"))


# Sale ------------------------------------------------------------------------------------------


def test_selling_the_plan_attaches_its_contract_active_from_the_start(credit_plan):
    subscription = sell(credit_plan, date(2026, 1, 1))
    held = held_of(subscription)
    assert (held.contract.code, held.status, held.start_date, held.end_date) == (
        "support-credits",
        "active",
        date(2026, 1, 1),
        None,
    )
    assert ledger(held) == [("grant", date(2026, 1, 1), D("20.00"))]
    assert kinds(subscription, "contract_added", "contract_started") == [
        ("contract_added", date(2026, 1, 1)),
        ("contract_started", date(2026, 1, 1)),
    ]


def test_a_contract_starting_later_is_pending_until_the_job_starts_it(credit_plan):
    subscription = sell(credit_plan, date(2026, 2, 1), today=date(2026, 1, 10))
    held = held_of(subscription)
    assert (held.status, held.start_date, ledger(held)) == ("pending", date(2026, 2, 1), [])
    assert services.contracts_run(day=date(2026, 1, 31)).started == 0
    report = services.contracts_run(day=date(2026, 2, 1))
    held.refresh_from_db()
    assert (report.started, report.credits_granted, held.status) == (1, 1, "active")
    assert kinds(subscription, "contract_started") == [("contract_started", date(2026, 2, 1))]
    # Audited: the status change has its history row, written by the job.
    assert list(held.history.order_by("history_id").values_list("status", flat=True)) == [
        "pending",
        "active",
    ]
    assert held.history.latest().history_change_reason == "contracts job"


def test_after_a_trial_the_contract_starts_on_the_first_billed_day(demo_catalog):
    plan = monthly_plan("30.00", contract=contract("support-credits"), trial_count=14)
    subscription = sell(plan, date(2026, 1, 1))
    held = held_of(subscription)
    assert (held.start_date, held.status) == (date(2026, 1, 15), "pending")
    services.contracts_run(day=date(2026, 1, 15))
    held.refresh_from_db()
    assert held.status == "active"
    assert ledger(held) == [("grant", date(2026, 1, 15), D("20.00"))]


def test_the_plans_bundles_and_an_added_add_on_bring_their_contracts(demo_catalog):
    plan = monthly_plan("30.00")
    bundle = plan.bundles.get()
    bundle.contract = contract("support-credits")
    bundle.save()
    addon_plan = monthly_plan("5.00")
    addon = addon_plan.bundles.get()
    addon.contract = contract("maintenance-monthly")
    addon.save()
    subscription = sell(plan, date(2026, 1, 1))
    assert [h.contract.code for h in subscription.contracts.all()] == ["support-credits"]
    # An add-on with a time-based contract accounted over 12 months, on a monthly plan: refused.
    plan.compatible_addons_only = False
    plan.save()
    with pytest.raises(ApplicationError, match="billed every 1 month but its product contract"):
        services.addon_add(subscription=subscription, bundle=addon, today=date(2026, 1, 5))
    assert subscription.contracts.count() == 1
    addon.contract = contract("support-credits")
    addon.save()
    services.addon_add(subscription=subscription, bundle=addon, today=date(2026, 1, 5), quantity=2)
    added = subscription.contracts.order_by("id").last()
    assert (added.start_date, added.quantity, added.status) == (date(2026, 1, 5), 2, "active")
    assert ledger(added) == [("grant", date(2026, 1, 5), D("40.00"))]


def test_a_plan_billed_over_another_period_than_its_contract_is_refused(demo_catalog):
    plan = monthly_plan("10.00", contract=contract("magazine-6-issues"))
    with pytest.raises(ApplicationError) as refused:
        sell(plan, date(2026, 1, 1))
    assert str(refused.value.message) == (
        f"{plan.display_name} is billed every 1 month but the issues of its product contract "
        "Field magazine, 6 issues a half-year (1 free) are billed every 6 months: an issue-based "
        "contract is sold on a plan billed over the issues' billing period."
    )
    assert not Subscription.objects.exists()
    assert not SubscriptionContract.objects.exists()


# The job ---------------------------------------------------------------------------------------


def test_the_job_twice_changes_nothing_the_second_time(credit_plan, magazine_plan):
    credits = sell(credit_plan, date(2026, 1, 1))
    sell(magazine_plan, date(2026, 1, 1))
    services.credits_consume(
        subscription_contract=held_of(credits), amount=D("5"), day=date(2026, 1, 9)
    )
    first = services.contracts_run(day=date(2026, 3, 1))
    rows = (
        CreditEntry.objects.count(),
        ScheduledIssue.objects.count(),
        SubscriptionEvent.objects.count(),
    )
    second = services.contracts_run(day=date(2026, 3, 1))
    assert (first.credits_granted, first.credits_expired) == (2, 2)
    assert (
        second.started,
        second.ended,
        second.issues_scheduled,
        second.credits_granted,
        second.credits_expired,
    ) == (0, 0, 0, 0, 0)
    assert (
        CreditEntry.objects.count(),
        ScheduledIssue.objects.count(),
        SubscriptionEvent.objects.count(),
    ) == rows


def test_credits_are_granted_monthly_and_what_is_left_expires(credit_plan):
    subscription = sell(credit_plan, date(2026, 1, 1))
    held = held_of(subscription)
    services.credits_consume(subscription_contract=held, amount=D("7.5"), day=date(2026, 1, 20))
    # The job missed February: the run of 1 March catches up, period by period, in order.
    services.contracts_run(day=date(2026, 3, 1))
    assert services.credit_balance(subscription_contract=held) == D("20.00")
    services.credits_consume(subscription_contract=held, amount=D("20"), day=date(2026, 3, 31))
    assert services.credit_balance(subscription_contract=held) == D("0")
    for day in (date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)):
        services.contracts_run(day=day)
    assert ledger(held) == [
        ("grant", date(2026, 1, 1), D("20.00")),
        ("consumption", date(2026, 1, 20), D("-7.50")),
        ("expiry", date(2026, 2, 1), D("-12.50")),
        ("grant", date(2026, 2, 1), D("20.00")),
        ("expiry", date(2026, 3, 1), D("-20.00")),
        ("grant", date(2026, 3, 1), D("20.00")),
        ("consumption", date(2026, 3, 31), D("-20.00")),
        # Nothing left on 1 April: no expiry row.
        ("grant", date(2026, 4, 1), D("20.00")),
        ("expiry", date(2026, 5, 1), D("-20.00")),
        ("grant", date(2026, 5, 1), D("20.00")),
    ]
    assert services.credit_balance(subscription_contract=held) == D("20.00")


def test_a_consumption_brings_the_contract_to_its_day_first(credit_plan):
    held = held_of(sell(credit_plan, date(2026, 1, 1)))
    # No job ran since January: February's credits are granted, January's expired, then used.
    services.credits_consume(subscription_contract=held, amount=D("15"), day=date(2026, 2, 10))
    assert services.credit_balance(subscription_contract=held) == D("5.00")


def test_a_consumption_beyond_the_balance_is_refused_and_writes_nothing(credit_plan):
    held = held_of(sell(credit_plan, date(2026, 1, 1)))
    before = ledger(held)
    with pytest.raises(ApplicationError, match=r"Only 20\.00 credits are left; 20\.01"):
        services.credits_consume(
            subscription_contract=held, amount=D("20.01"), day=date(2026, 1, 3)
        )
    assert ledger(held) == before


def test_six_issues_five_chargeable_each_period_for_a_year(magazine_plan):
    held = held_of(sell(magazine_plan, date(2026, 1, 1)))
    day = date(2026, 1, 1)
    while day < date(2027, 1, 1):
        services.contracts_run(day=day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    issues = ScheduledIssue.objects.filter(subscription_contract=held).order_by("issue_date")
    by_period = {}
    for issue in issues:
        by_period.setdefault(issue.period_start, []).append(
            (issue.number, issue.issue_date, issue.chargeable)
        )
    # The two half-years of 2026 and, scheduled ahead, the first of 2027 (billing-rules example 8.2).
    assert sorted(by_period) == [date(2026, 1, 1), date(2026, 7, 1), date(2027, 1, 1)]
    assert by_period[date(2026, 1, 1)] == [
        (1, date(2026, 1, 1), True),
        (2, date(2026, 1, 31), True),
        (3, date(2026, 3, 2), True),
        (4, date(2026, 4, 1), True),
        (5, date(2026, 5, 1), True),
        (6, date(2026, 5, 31), False),
    ]
    for rows in by_period.values():
        assert [chargeable for _n, _d, chargeable in rows] == [True] * 5 + [False]


def test_pending_active_ended_with_a_fixed_runtime(demo_catalog):
    fixed = contract("maintenance-monthly", runtime="fixed", runtime_count=12, runtime_unit="month")
    plan = monthly_plan("300.00", period=(1, "year"), contract=fixed)
    subscription = sell(plan, date(2026, 2, 1), today=date(2026, 1, 20))
    held = held_of(subscription)
    assert (held.status, held.end_date) == ("pending", date(2027, 2, 1))
    # The subscription ends with its plan's contract: no renewal past it.
    subscription.refresh_from_db()
    assert subscription.end_date == date(2027, 2, 1)
    services.contracts_run(day=date(2026, 2, 1))
    services.contracts_run(day=date(2027, 1, 31))
    held.refresh_from_db()
    assert held.status == "active"
    services.contracts_run(day=date(2027, 2, 1))
    services.contracts_run(day=date(2027, 2, 1))
    held.refresh_from_db()
    assert held.status == "ended"
    assert kinds(subscription, "contract_started", "contract_ended") == [
        ("contract_started", date(2026, 2, 1)),
        ("contract_ended", date(2027, 2, 1)),
    ]
    services.subscription_advance(subscription=subscription, today=date(2027, 2, 1))
    subscription.refresh_from_db()
    assert subscription.status == "ended"


# Cancellations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "effective"),
    [
        # Monthly interval, 1 month's cancellation period: by 1 March to end on 1 April.
        (date(2026, 3, 1), date(2026, 4, 1)),
        (date(2026, 3, 2), date(2026, 5, 1)),
    ],
)
def test_cancelling_follows_the_plans_time_based_contract(maintenance_plan, today, effective):
    subscription = sell(maintenance_plan, date(2026, 1, 1))
    quote = services.cancellation_quote(subscription=subscription, today=today)
    result = services.subscription_cancel(subscription=subscription, today=today)
    assert quote.effective_date == result.effective_date == effective
    assert effective.isoformat() in quote.rule
    held = held_of(subscription)
    assert (held.end_date, held.status) == (effective, "pending_cancellation")
    services.contracts_run(day=effective)
    held.refresh_from_db()
    assert held.status == "ended"


@pytest.mark.parametrize(
    ("today", "effective"),
    [
        # Issues invoiced per half-year; the next period's first issue is on 1 July; 14 days:
        # asked by 17 June, the issues stop from 1 July, later from 1 January.
        (date(2026, 6, 17), date(2026, 7, 1)),
        (date(2026, 6, 18), date(2027, 1, 1)),
    ],
)
def test_cancelling_follows_the_plans_issue_based_contract(magazine_plan, today, effective):
    subscription = sell(magazine_plan, date(2026, 1, 1))
    services.contracts_run(day=today)
    quote = services.cancellation_quote(subscription=subscription, today=today)
    result = services.subscription_cancel(subscription=subscription, today=today)
    assert quote.effective_date == result.effective_date == effective
    subscription.refresh_from_db()
    assert subscription.end_date == effective
    held = held_of(subscription)
    assert held.end_date == effective
    assert not ScheduledIssue.objects.filter(
        subscription_contract=held, issue_date__gte=effective, cancelled=False
    ).exists()
    assert ScheduledIssue.objects.filter(
        subscription_contract=held, issue_date__lt=effective, cancelled=False
    ).count() == (6 if effective == date(2026, 7, 1) else 12)


def test_an_undone_cancellation_gives_the_contract_back(magazine_plan):
    subscription = sell(magazine_plan, date(2026, 1, 1))
    services.subscription_cancel(subscription=subscription, today=date(2026, 2, 1))
    services.subscription_undo_cancellation(subscription=subscription, today=date(2026, 2, 2))
    held = held_of(subscription)
    assert (held.end_date, held.status) == (None, "active")
    assert not ScheduledIssue.objects.filter(subscription_contract=held, cancelled=True).exists()


# Top-ups ---------------------------------------------------------------------------------------


def test_a_top_up_is_recorded_once_with_its_timeline_entry(
    credit_plan, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "subscriptions.services._base.send", lambda *args, **kwargs: sent.append(args)
    )
    subscription = sell(credit_plan, date(2026, 1, 1))
    held = held_of(subscription)
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.credits_topup(
            subscription_contract=held, credits=D("12.5"), day=date(2026, 1, 10), channel="api"
        )
    event = SubscriptionEvent.objects.get(subscription=subscription, kind="credits_topped_up")
    assert event.data == {"subscription_contract": held.pk, "credits": "12.50"}
    assert (entry.kind, entry.amount, entry.reference) == ("topup", D("12.50"), f"event:{event.pk}")
    assert services.credit_balance(subscription_contract=held) == D("32.50")
    # Invoiced at once, like seats added: once committed, billing runs for the subscription.
    assert sent == [("billing.run_chunk", [subscription.pk], "2026-01-10")]
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(
            subscription_contract=held,
            kind="topup",
            amount=D("12.50"),
            day=date(2026, 1, 10),
            reference=f"event:{event.pk}",
        )


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        (D("0"), "Buy a positive number of credits"),
        (D("-3"), "Buy a positive number of credits"),
        (D("100001"), "At most 100000 credits can be bought at once"),
        (D("1.005"), "Credits are bought in hundredths at most"),
    ],
)
def test_a_top_up_of_a_wrong_amount_is_refused(credit_plan, credits, message):
    held = held_of(sell(credit_plan, date(2026, 1, 1)))
    with pytest.raises(ApplicationError, match=message):
        services.credits_topup(subscription_contract=held, credits=credits, day=date(2026, 1, 2))
    assert not CreditEntry.objects.filter(kind="topup").exists()
    assert not SubscriptionEvent.objects.filter(kind="credits_topped_up").exists()


def test_a_top_up_is_refused_on_other_contracts_ended_ones_and_without_a_price(
    credit_plan, magazine_plan
):
    issues = held_of(sell(magazine_plan, date(2026, 1, 1)))
    with pytest.raises(ApplicationError, match=r"Only credit-based contracts have credits\."):
        services.credits_topup(subscription_contract=issues, credits=D("1"), day=date(2026, 1, 2))
    held = held_of(sell(credit_plan, date(2026, 1, 1)))
    held.contract.price_sheet = None
    held.contract.save()
    with pytest.raises(ApplicationError, match="has no price: its credits cannot be bought"):
        services.credits_topup(subscription_contract=held, credits=D("1"), day=date(2026, 1, 2))
    SubscriptionContract.objects.filter(pk=held.pk).update(end_date=date(2026, 1, 5))
    with pytest.raises(ApplicationError, match="This contract ended on 2026-01-05"):
        services.credits_topup(subscription_contract=held, credits=D("1"), day=date(2026, 1, 6))
    assert not CreditEntry.objects.filter(kind="topup").exists()
