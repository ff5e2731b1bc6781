"""MRR on random timelines made by the services: customers subscribe, upgrade, downgrade and
cancel on random days; after the job, every month balances (MRR(end) = MRR(start) + new +
expansion + reactivation − contraction − churn, to the cent) and the stored segments give, on
every day, the MRR the billing engine prices for each subscription on that day."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import UpgradeGroup
from core.errors import ApplicationError
from reports import mrr, selectors, services
from subscriptions import services as subscriptions
from subscriptions.charges import PriceBook, contexts_for
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory, monthly_plan

ORIGIN = date(2026, 1, 1)
TODAY = date(2026, 9, 1)
MONTHS = [ORIGIN + relativedelta(months=i) for i in range(8)]

# A customer's story: it starts on a plan on a day, then on later days upgrades, downgrades or
# cancels; a cancelled customer may come back on another day.
action = st.tuples(st.integers(1, 60), st.sampled_from(["upgrade", "downgrade", "cancel", "back"]))
story = st.tuples(st.integers(0, 120), st.sampled_from([0, 1, 2, 3]), st.lists(action, max_size=4))


@pytest.fixture
def plans(demo_catalog):
    group = UpgradeGroup.objects.create(code="tiers", name="Tiers")
    return [
        monthly_plan("20.00", code="small", upgrade_group=group, upgrade_rank=1),
        monthly_plan("50.00", code="medium", upgrade_group=group, upgrade_rank=2),
        monthly_plan("300.00", code="large", upgrade_group=group, upgrade_rank=3),
        # Yearly, alone: its changes are refused (and a refusal changes nothing)
        monthly_plan("1200.00", code="yearly", period=(1, "year")),
    ]


@pytest.mark.django_db
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(story, min_size=1, max_size=4))
def test_random_timelines_balance_and_match_the_engine(plans, stories):
    with transaction.atomic():
        play(plans, stories)
        check()
        transaction.set_rollback(True)


def play(plans, stories):
    for offset, first, actions in stories:
        customer = CustomerFactory()
        day, rank = ORIGIN + timedelta(days=offset), first
        current = subscriptions.subscription_create(
            customer=customer, plan=plans[rank], start_date=day, today=day
        ).subscription
        for gap, what in actions:
            day += timedelta(days=gap)
            if day >= TODAY:
                break
            current.refresh_from_db()
            try:
                if what == "upgrade" and rank < 3 and current.status == "active":
                    subscriptions.subscription_change_plan(
                        subscription=current, plan=plans[rank + 1], today=day
                    )
                    rank += 1
                elif what == "downgrade" and 0 < rank < 3 and current.status == "active":
                    subscriptions.subscription_change_plan(
                        subscription=current, plan=plans[rank - 1], today=day
                    )
                    rank -= 1
                elif what == "cancel" and current.status == "active":
                    subscriptions.subscription_cancel(subscription=current, today=day)
                elif what == "back" and current.status in ("cancelled", "ended"):
                    current = subscriptions.subscription_create(
                        customer=customer, plan=plans[0], start_date=day, today=day
                    ).subscription
                    rank = 0
            except ApplicationError:
                continue  # refused (a pending change, a term): a refusal changes nothing


def check():
    services.mrr_refresh(today=TODAY, full=True)
    # Every month balances, stored and live alike
    for figures in selectors.monthly_figures(MONTHS, today=TODAY).values():
        for f in figures:
            assert f.movements.balances(), f
    # On each day, the segments' MRR is the engine's, subscription by subscription
    contexts = contexts_for(list(Subscription.objects.all()), book=PriceBook(), language="en")
    for day in [ORIGIN + timedelta(days=n) for n in range(0, 243, 11)]:
        expected = sum((mrr.subscription_mrr(c, day) for c in contexts.values()), Decimal(0))
        assert selectors.mrr_on(day).get("EUR", Decimal(0)) == expected, day
