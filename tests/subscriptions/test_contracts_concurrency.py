"""The contracts job run twice at once, in two workers on their own connections: between them
each contract is started once, each credit granted and expired once, each issue scheduled
once; a third run finds nothing left."""

from datetime import date

import pytest

from catalog.models import ProductContract
from subscriptions import services
from subscriptions.models import CreditEntry, ScheduledIssue, SubscriptionEvent
from tests.concurrency import postgresql_only, run_together
from tests.subscriptions.factories import CustomerFactory, monthly_plan


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_day_do_the_work_once(demo_catalog):
    for code, period in (("support-credits", (1, "month")), ("magazine-6-issues", (6, "month"))):
        plan = monthly_plan("10.00", period=period, contract=ProductContract.objects.get(code=code))
        for _ in range(3):
            services.subscription_create(
                customer=CustomerFactory(),
                plan=plan,
                start_date=date(2026, 2, 1),
                today=date(2026, 1, 20),
            )
    day = date(2026, 4, 1)

    results, errors = run_together(
        lambda: services.contracts_run(day=day), lambda: services.contracts_run(day=day)
    )

    assert errors == [None, None]
    assert sum(r.started for r in results) == 6
    assert sum(r.credits_granted for r in results) == 3 * 3  # February, March, April
    assert sum(r.credits_expired for r in results) == 3 * 2  # February's and March's 20.00
    assert sum(r.issues_scheduled for r in results) == 3 * 12  # two half-years of six
    assert SubscriptionEvent.objects.filter(kind="contract_started").count() == 6
    assert CreditEntry.objects.filter(kind="grant").count() == 9
    assert CreditEntry.objects.filter(kind="expiry").count() == 6
    assert ScheduledIssue.objects.count() == 36
    third = services.contracts_run(day=day)
    assert (third.started, third.credits_granted, third.issues_scheduled) == (0, 0, 0)
