"""billing-rules example 11.1 through the real path: subscriptions created, upgraded, downgraded
and cancelled by the services, their MRR derived from the timeline by the refresh job, and March's
movements read back."""

from datetime import date
from decimal import Decimal

import pytest

from catalog.models import UpgradeGroup
from reports import mrr, selectors, services
from reports.models import MrrMonth
from subscriptions import services as subscriptions
from tests.subscriptions.factories import CustomerFactory, monthly_plan

pytestmark = pytest.mark.django_db
D = Decimal
MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def subscribe(plan, start, customer=None, today=None):
    return subscriptions.subscription_create(
        customer=customer or CustomerFactory(), plan=plan, start_date=start, today=today or start
    ).subscription


@pytest.fixture
def march():
    """MRR on 1 March 1,000.00: 150.00 (monthly, to be upgraded), 30.00 (quarterly 90.00, to be
    downgraded), 100.00 (yearly 1,200.00, ending), 720.00 (steady). One customer churned in
    February."""
    group = UpgradeGroup.objects.create(code="hosting", name="Hosting")
    small = monthly_plan("150.00", code="small", upgrade_group=group, upgrade_rank=1)
    large = monthly_plan("250.00", code="large", upgrade_group=group, upgrade_rank=2)
    quarterly = UpgradeGroup.objects.create(code="quarterly", name="Quarterly")
    q90 = monthly_plan(
        "90.00", code="q90", period=(3, "month"), upgrade_group=quarterly, upgrade_rank=2
    )
    q60 = monthly_plan(
        "60.00", code="q60", period=(3, "month"), upgrade_group=quarterly, upgrade_rank=1
    )
    yearly = monthly_plan("1200.00", code="yearly", period=(1, "year"))
    steady = monthly_plan("720.00", code="steady")
    upgraded = subscribe(small, date(2025, 11, 1))
    downgraded = subscribe(q90, date(2025, 12, 10))
    ending = subscribe(yearly, date(2025, 3, 15))
    subscribe(steady, date(2025, 6, 1))
    churned = CustomerFactory()
    old = subscribe(monthly_plan("20.00", code="old"), date(2026, 1, 1), customer=churned)
    subscriptions.subscription_cancel(subscription=old, today=date(2026, 1, 15))
    return {
        "upgraded": upgraded,
        "large": large,
        "downgraded": downgraded,
        "q60": q60,
        "ending": ending,
        "churned": churned,
    }


def march_happens(march):
    """In March: a new customer on 30.00/month; an upgrade 150.00 → 250.00; a quarterly
    90.00 changed to 60.00 (from its period starting 10 March); the only subscription of a
    customer, yearly 1,200.00, ends (15 March); the churned customer comes back on 45.00/month."""
    subscribe(monthly_plan("30.00", code="new"), date(2026, 3, 5))
    subscriptions.subscription_change_plan(
        subscription=march["upgraded"], plan=march["large"], today=date(2026, 3, 12)
    )
    subscriptions.subscription_change_plan(
        subscription=march["downgraded"], plan=march["q60"], today=date(2026, 3, 2)
    )
    subscriptions.subscription_cancel(subscription=march["ending"], today=date(2026, 2, 1))
    subscribe(monthly_plan("45.00", code="back"), date(2026, 3, 20), customer=march["churned"])


def test_example_11_1_a_month_with_one_of_each_movement(march):
    # Given MRR on 1 March 1,000.00
    services.mrr_refresh(today=MARCH)
    assert selectors.mrr_on(MARCH) == {"EUR": D("1000.00")}

    # When, in March: one of each movement
    march_happens(march)
    services.mrr_refresh(today=APRIL, full=True)

    # Then MRR on 1 April is 1,065.00, and March's movements say why
    [(currency, moved)] = selectors.month_movements(MARCH)[0].items()
    assert currency == "EUR"
    assert (moved.start, moved.end) == (D("1000.00"), D("1065.00"))
    assert moved.amounts == {
        mrr.NEW: D("30.00"),
        mrr.EXPANSION: D("100.00"),
        mrr.REACTIVATION: D("45.00"),
        mrr.CONTRACTION: D("10.00"),
        mrr.CHURN: D("100.00"),
    }
    assert moved.balances()
    # ...as the stored month the dashboard reads
    row = MrrMonth.objects.get(month=MARCH, currency="EUR")
    assert (row.mrr_start, row.mrr_end, row.new, row.expansion, row.reactivation) == (
        D("1000.00"),
        D("1065.00"),
        D("30.00"),
        D("100.00"),
        D("45.00"),
    )
    assert (row.contraction, row.churn, row.movers["churn"]) == (D("10.00"), D("100.00"), 1)


def test_an_upgrade_is_expansion_never_churn_and_new(march):
    subscriptions.subscription_change_plan(
        subscription=march["upgraded"], plan=march["large"], today=date(2026, 3, 12)
    )
    services.mrr_refresh(today=APRIL)

    moved, changes = selectors.month_movements(MARCH)
    assert [(c.customer_id, c.kind, c.delta) for c in changes] == [
        (march["upgraded"].customer_id, mrr.EXPANSION, D("100.00"))
    ]
    assert moved["EUR"].amounts[mrr.CHURN] == moved["EUR"].amounts[mrr.NEW] == 0


def test_the_drill_down_names_the_subscriptions_and_timeline_entries(march):
    subscriptions.subscription_change_plan(
        subscription=march["upgraded"], plan=march["large"], today=date(2026, 3, 12)
    )
    services.mrr_refresh(today=APRIL)
    _moved, changes = selectors.month_movements(MARCH)

    [detail] = selectors.change_details(changes, *selectors.month_bounds(MARCH))

    assert detail.customer == march["upgraded"].customer
    assert {s.subscription_id for s in detail.segments} == {march["upgraded"].pk}
    assert [(s.start, s.amount) for s in detail.segments] == [
        (date(2025, 11, 1), D("150.00")),
        (date(2026, 3, 12), D("250.00")),
    ]
    assert [(e.kind, e.effective_date) for e in detail.events] == [
        ("plan_changed", date(2026, 3, 12))
    ]


def test_the_month_figures_of_example_11_1(march):
    services.mrr_refresh(today=MARCH)
    march_happens(march)
    services.mrr_refresh(today=APRIL, full=True)

    figures = selectors.period_metrics(MARCH, APRIL)["EUR"]

    # 5 paying customers on 1 April (4 on 1 March, 1 lost, 1 new, 1 back), one subscription each
    assert (figures.mrr, figures.arr, figures.customers, figures.subscriptions) == (
        D("1065.00"),
        D("12780.00"),
        5,
        5,
    )
    assert figures.arpu == D("213.00")
    assert figures.logo_churn == D("0.2500")  # 1 of 4
    assert figures.revenue_churn == D("0.1100")  # (100.00 + 10.00) ÷ 1,000.00
    assert figures.net_retention == D("0.9900")  # (1,000 + 100 − 10 − 100) ÷ 1,000
    assert figures.trial_conversion is None  # no trial ended


def test_trial_conversion_counts_the_trials_that_ended_billed():
    # Given three 14-day trials started in February, one cancelled during its trial
    plan = monthly_plan("30.00", code="trial", trial_count=14, trial_unit="day")
    kept = [subscribe(plan, date(2026, 2, 20)) for _ in range(2)]
    dropped = subscribe(plan, date(2026, 2, 22))
    subscriptions.subscription_cancel(subscription=dropped, today=date(2026, 2, 25))
    services.mrr_refresh(today=APRIL)

    figures = selectors.period_metrics(MARCH, APRIL)["EUR"]

    # Then 2 of the 3 trials that ended in March converted, and nothing was paid in a trial
    assert figures.trial_conversion == D("0.6667")
    assert selectors.mrr_on(date(2026, 3, 5)) == {}
    assert selectors.mrr_on(date(2026, 3, 6)) == {"EUR": D("60.00")}
    assert {s.pk for s in kept} == set(
        selectors.MrrFilters().segments().values_list("subscription_id", flat=True)
    )


def test_stored_months_and_live_ones_agree(march, django_assert_max_num_queries):
    services.mrr_refresh(today=MARCH)
    march_happens(march)
    services.mrr_refresh(today=date(2026, 4, 20), full=True)
    months = [date(2026, 1, 1), date(2026, 2, 1), MARCH, APRIL]

    with django_assert_max_num_queries(8):
        stored = selectors.monthly_figures(months, today=date(2026, 4, 20))["EUR"]
    # Every customer is French: filtered by country, the same months are read live
    live = selectors.monthly_figures(
        months, selectors.MrrFilters(country="FR"), today=date(2026, 4, 20)
    )["EUR"]

    assert [f.movements.end for f in stored] == [
        D("1020.00"),
        D("1000.00"),
        D("1065.00"),
        D("1065.00"),
    ]
    for a, b in zip(stored, live, strict=True):
        assert (a.month, a.movements.amounts, a.metrics) == (
            b.month,
            b.movements.amounts,
            b.metrics,
        )
    march_figures = stored[2]
    assert march_figures.metrics.net_retention == D("0.9900")
    assert march_figures.movements.customers == {
        "new": 1,
        "expansion": 1,
        "reactivation": 1,
        "contraction": 1,
        "churn": 1,
    }
    # February: the churned customer's 20.00 left (its last day was 31 January)
    assert stored[1].movements.amounts["churn"] == D("20.00")
    assert stored[1].metrics.logo_churn == D("0.2000")  # 1 of 5
