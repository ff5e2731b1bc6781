"""A metric's aggregate of a period's usage events (billing-rules §12), and when an event counts."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from catalog.models import BillableMetric
from subscriptions import services
from subscriptions.usage import counted_at, usage_quantities, usage_quantity, window_closed
from tests.subscriptions.factories import CustomerFactory, monthly_plan
from tests.support.usage import record

pytestmark = pytest.mark.django_db
D = Decimal
PARIS = ZoneInfo("Europe/Paris")
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def at(day: int, hour: int = 12, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=PARIS)


@pytest.fixture
def two_subscriptions():
    plan = monthly_plan("10.00")
    return [
        services.subscription_create(
            customer=CustomerFactory(), plan=plan, start_date=JAN, today=JAN
        ).subscription
        for _ in range(2)
    ]


def metric(aggregation: str, field: str = "", **filters) -> BillableMetric:
    return BillableMetric.objects.create(
        code=f"m-{aggregation}-{len(filters)}",
        name=aggregation,
        event_code="storage",
        aggregation=aggregation,
        field=field,
        filters=filters,
    )


def test_each_aggregation_over_the_period(two_subscriptions):
    first, second = two_subscriptions
    for i, (gb, user, region) in enumerate(
        [("1.5", "ann", "eu"), ("4", "bob", "us"), ("2.25", "ann", "eu")]
    ):
        record(
            first,
            [at(10 + i)],
            code="storage",
            prefix=f"a{i}",
            properties={"gb": gb, "user": user, "region": region},
        )
    record(second, [at(5)], code="storage", prefix="b", properties={"gb": 9, "user": "zoe"})
    # Outside the period, or another code: not counted
    record(first, [at(1, month=2)], code="storage", prefix="feb", properties={"gb": 100})
    record(first, [at(12)], code="other", prefix="o", properties={"gb": 100})
    ids = [first.pk, second.pk]
    assert usage_quantities(metric("count"), ids, JAN, FEB) == {first.pk: 3, second.pk: 1}
    assert usage_quantities(metric("count_unique", "user"), ids, JAN, FEB)[first.pk] == 2
    assert usage_quantities(metric("sum", "gb"), ids, JAN, FEB) == {
        first.pk: D("7.75"),
        second.pk: D("9"),
    }
    assert usage_quantity(metric("max", "gb"), first.pk, JAN, FEB) == D("4")
    # Latest: the last by timestamp (2.25 on the 12th), whatever the order received
    assert usage_quantity(metric("latest", "gb"), first.pk, JAN, FEB) == D("2.25")
    assert usage_quantity(metric("sum", "gb", region=["eu"]), first.pk, JAN, FEB) == D("3.75")


def test_a_late_event_counts_in_its_period_within_the_grace_window(settings):
    settings.USAGE_GRACE_HOURS = 2
    stamp = at(31, 23)
    # Received at 01:30 on 1 February: within the window, counted in January (23:30, the
    # moment its window would have closed had it been received then)
    assert counted_at(stamp, datetime(2026, 2, 1, 1, 30, tzinfo=PARIS)) == at(31, 23).replace(
        minute=30
    )
    # Received within the period: counted at its timestamp
    assert counted_at(stamp, at(31, 23)) == stamp
    # Received at 03:00: the window closed at 02:00, it counts from 01:00 (February)
    assert counted_at(stamp, datetime(2026, 2, 1, 3, tzinfo=PARIS)) == datetime(
        2026, 2, 1, 1, tzinfo=PARIS
    )
    assert not window_closed(FEB, now=datetime(2026, 2, 1, 1, 59, tzinfo=PARIS))
    assert window_closed(FEB, now=datetime(2026, 2, 1, 2, tzinfo=PARIS))
    assert window_closed(FEB, now=datetime(2026, 2, 1, 2, tzinfo=PARIS) + timedelta(days=30))
