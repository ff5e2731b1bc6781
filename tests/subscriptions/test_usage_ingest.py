"""Recording usage events (subscriptions.services.usage_events_record, billing-rules §12)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Feature
from core.errors import ApplicationError
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import usage_limit_exceeded_notify
from subscriptions.charges.usage import usage_estimate
from subscriptions.models import UsageEvent
from subscriptions.services import UsageBatchError, UsageLimitExceeded, usage_events_record
from subscriptions.usage import usage_quantity
from tests.subscriptions.factories import CustomerFactory
from tests.support.ingest import (
    addon_with,
    api_calls_metric,
    at,
    event,
    events,
    limited_plan,
    metered_plan,
    subscribe,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def metered():
    subscription = subscribe(metered_plan())
    return subscription


def test_example_12_1_a_retried_transaction_is_counted_once(metered):
    # Given 25,001 events in the period, two of them with the same transaction id
    customer = metered.customer
    batch = events(customer, 25000, when=at(date(2026, 11, 10)))
    batch.append(event(customer, 7, when=at(date(2026, 11, 12))))  # tx-7 again
    # When they are sent in batches of 1,000 (the retried one in the last)
    recorded = duplicates = 0
    for start in range(0, len(batch), 1000):
        result = usage_events_record(events=batch[start : start + 1000])
        recorded += result.recorded
        duplicates += result.duplicates
    # Then 25,000 are stored, and the charge is 15,000 × 0.002 = 30.00
    assert (recorded, duplicates) == (25000, 1)
    assert UsageEvent.objects.filter(customer=customer).count() == 25000
    assert result.events[-1].status == "duplicate"
    (line,) = usage_estimate(metered, day=date(2026, 11, 22))
    assert line.quantity == 25000
    assert line.amount == Decimal("30.00")


def test_a_duplicate_within_a_batch_is_stored_once(metered):
    customer = metered.customer
    batch = [event(customer, 1, when=at(date(2026, 11, 3)))] * 2
    result = usage_events_record(events=batch)
    assert [e.status for e in result.events] == ["recorded", "duplicate"]
    assert UsageEvent.objects.count() == 1


def test_a_batch_holds_1_to_1000_events(metered):
    with pytest.raises(ApplicationError, match="1 to 1000"):
        usage_events_record(events=[])
    too_many = events(metered.customer, 1001, when=at(date(2026, 11, 3)))
    with pytest.raises(ApplicationError, match="1 to 1000"):
        usage_events_record(events=too_many)
    assert usage_events_record(events=too_many[:1000]).recorded == 1000


def test_one_bad_event_refuses_the_batch_with_errors_by_index(metered):
    customer = metered.customer
    batch = events(customer, 6, when=at(date(2026, 11, 3)))
    batch[1]["timestamp"] = (NOW + timedelta(minutes=6)).isoformat()
    batch[2]["timestamp"] = (NOW - timedelta(days=401)).isoformat()
    batch[3]["timestamp"] = "2026-11-03T10:00:00"  # no offset
    batch[4]["transaction_id"] = "x" * 101
    batch[5]["properties"] = {"nested": {"no": 1}}
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(events=batch)
    errors = refused.value.as_dict()["events"]
    assert set(errors) == {"1", "2", "3", "4", "5"}
    assert "5 minutes ahead" in errors["1"]["timestamp"][0]
    assert "400 days" in errors["2"]["timestamp"][0]
    assert "offset" in errors["3"]["timestamp"][0]
    assert list(errors["4"]) == ["transaction_id"]
    assert list(errors["5"]) == ["properties"]
    assert UsageEvent.objects.count() == 0


def test_an_unknown_customer_or_field_refuses_the_batch(metered):
    good = event(metered.customer, 1, when=at(date(2026, 11, 3)))
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(events=[good, {**good, "customer": 10**9, "transaction_id": "b"}])
    assert refused.value.errors == {"1": {"customer": ["No customer with this id."]}}
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(events=[{**good, "quantity": 3}])
    assert list(refused.value.errors["0"]) == ["quantity"]
    assert UsageEvent.objects.count() == 0


def test_the_edges_of_the_timestamp_window_are_accepted(metered):
    customer = metered.customer
    batch = [
        event(customer, 1, when=NOW + timedelta(minutes=5)),
        event(customer, 2, when=NOW - timedelta(days=400)),
    ]
    assert usage_events_record(events=batch).recorded == 2


# Grace window (subscriptions/usage.py) ------------------------------------------------------


def test_a_late_event_within_the_grace_window_counts_in_its_period(metered):
    # The period 2026-11-01 → 2026-12-01 ends at midnight in Paris (23:00 UTC); grace 1 h.
    metric = api_calls_metric()
    customer = metered.customer
    late = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)  # 23:30 in Paris on the 30th
    with time_machine.travel(datetime(2026, 11, 30, 23, 45, tzinfo=UTC), tick=False):
        usage_events_record(events=[event(customer, 1, when=late)])
    with time_machine.travel(datetime(2026, 12, 1, 0, 15, tzinfo=UTC), tick=False):
        usage_events_record(events=[event(customer, 2, when=late)])
    november = usage_quantity(metric, metered.pk, date(2026, 11, 1), date(2026, 12, 1))
    december = usage_quantity(metric, metered.pk, date(2026, 12, 1), date(2027, 1, 1))
    assert (november, december) == (1, 1)


# Which subscription counts it ---------------------------------------------------------------


def test_an_unnamed_event_goes_to_the_only_subscription_charging_its_code(metered):
    result = usage_events_record(events=[event(metered.customer, 1, when=at(date(2026, 11, 3)))])
    assert result.events[0].subscription_id == metered.pk
    assert UsageEvent.objects.get().subscription_id == metered.pk


def test_a_subscription_limiting_the_code_counts_it_too():
    plan, _feature = limited_plan(100, Feature.Enforcement.NONE)
    subscription = subscribe(plan)
    result = usage_events_record(
        events=[event(subscription.customer, 1, when=at(date(2026, 11, 3)))]
    )
    assert result.events[0].subscription_id == subscription.pk


def test_an_add_on_limiting_the_code_makes_its_subscription_count_it():
    _plan, feature = limited_plan(100, Feature.Enforcement.NONE)
    bundle = addon_with(feature, 50)
    plain = metered_plan(metric=api_calls_metric("other", "other_event"))
    plain.addon_bundles.add(bundle)
    subscription = subscribe(plain, addons={bundle.pk: 1})
    result = usage_events_record(
        events=[event(subscription.customer, 1, when=at(date(2026, 11, 3)))]
    )
    assert result.events[0].subscription_id == subscription.pk


def test_an_event_no_subscription_counts_is_kept_unassigned(metered):
    result = usage_events_record(
        events=[event(metered.customer, 1, when=at(date(2026, 11, 3)), code="storage_gb")]
    )
    assert result.events[0].subscription_id is None
    assert UsageEvent.objects.get().subscription_id is None


def test_two_subscriptions_counting_the_code_need_the_event_to_name_one(metered):
    second = subscribe(metered.plan, metered.customer)
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(events=[event(metered.customer, 1, when=at(date(2026, 11, 3)))])
    assert "name the subscription" in refused.value.errors["0"]["subscription"][0]
    named = event(metered.customer, 1, when=at(date(2026, 11, 3)), subscription=second.pk)
    assert usage_events_record(events=[named]).events[0].subscription_id == second.pk


def test_another_customers_subscription_is_refused(metered):
    other = CustomerFactory()
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(
            events=[event(other, 1, when=at(date(2026, 11, 3)), subscription=metered.pk)]
        )
    assert refused.value.errors == {
        "0": {"subscription": ["This customer has no subscription with this id."]}
    }
    assert UsageEvent.objects.count() == 0


def test_a_customer_outside_the_callers_scope_is_not_found(metered):
    other = CustomerFactory()
    with pytest.raises(UsageBatchError) as refused:
        usage_events_record(
            events=[event(metered.customer, 1, when=at(date(2026, 11, 3)))],
            customers=type(other).objects.filter(pk=other.pk),
        )
    assert refused.value.errors == {"0": {"customer": ["No customer with this id."]}}


# Limits -------------------------------------------------------------------------------------


def test_a_hard_limit_refuses_the_batch_that_would_pass_it():
    plan, _feature = limited_plan(10, Feature.Enforcement.HARD)
    subscription = subscribe(plan)
    customer = subscription.customer
    assert usage_events_record(events=events(customer, 8, when=at(date(2026, 11, 3)))).recorded == 8
    with pytest.raises(UsageLimitExceeded) as refused:
        usage_events_record(events=events(customer, 3, when=at(date(2026, 11, 4)), first=8))
    body = refused.value.as_dict()
    assert (body["feature"], body["limit"], body["used"], body["used_with_batch"]) == (
        "calls-hard",
        "10",
        "8",
        "11",
    )
    assert UsageEvent.objects.count() == 8
    # Up to the limit is accepted; a retry of recorded events adds nothing and passes.
    assert usage_events_record(events=events(customer, 2, when=at(date(2026, 11, 4)), first=8))
    assert (
        usage_events_record(events=events(customer, 10, when=at(date(2026, 11, 4)))).recorded == 0
    )


def test_an_add_on_raises_the_limit_it_adds_to():
    plan, feature = limited_plan(10, Feature.Enforcement.HARD)
    bundle = addon_with(feature, 5)
    plan.addon_bundles.add(bundle)
    subscription = subscribe(plan, addons={bundle.pk: 1})
    batch = events(subscription.customer, 15, when=at(date(2026, 11, 3)))
    assert usage_events_record(events=batch).recorded == 15
    with pytest.raises(UsageLimitExceeded):
        usage_events_record(events=events(subscription.customer, 1, when=NOW, first=15))


def test_a_soft_limit_accepts_and_sends_one_webhook_per_period(
    django_capture_on_commit_callbacks,
):
    WebhookEndpoint.objects.create(name="ops", url="http://127.0.0.1:9/hook")
    plan, _feature = limited_plan(10, Feature.Enforcement.SOFT)
    subscription = subscribe(plan)
    customer = subscription.customer
    with django_capture_on_commit_callbacks(execute=True):
        first = usage_events_record(events=events(customer, 10, when=at(date(2026, 11, 3))))
    assert first.limits_passed == []
    with django_capture_on_commit_callbacks(execute=True):
        passing = usage_events_record(
            events=events(customer, 5, when=at(date(2026, 11, 4)), first=10)
        )
    assert [p.feature for p in passing.limits_passed] == ["calls-soft"]
    with django_capture_on_commit_callbacks(execute=True):
        again = usage_events_record(
            events=events(customer, 5, when=at(date(2026, 11, 5)), first=15)
        )
    assert again.limits_passed == []
    deliveries = WebhookDelivery.objects.filter(event_type="usage.limit_exceeded")
    assert deliveries.count() == 1
    assert '"limit":"10"' in deliveries.get().body
    assert UsageEvent.objects.count() == 20


def test_the_limit_notification_is_made_once_whatever_the_calls():

    WebhookEndpoint.objects.create(name="ops", url="http://127.0.0.1:9/hook")
    plan, _feature = limited_plan(10, Feature.Enforcement.SOFT)
    subscription = subscribe(plan)
    args = {
        "subscription_id": subscription.pk,
        "feature": "calls-soft",
        "metric": "api_calls",
        "limit": "10",
        "used": "11",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
    }
    made = [usage_limit_exceeded_notify(**args), usage_limit_exceeded_notify(**args)]
    assert WebhookDelivery.objects.count() == 1
    assert made[0] == 1


# Queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("enforcement", [None, Feature.Enforcement.HARD])
def test_a_batch_takes_the_same_queries_whatever_its_size(enforcement):
    if enforcement:
        plan, _feature = limited_plan(10**6, enforcement)
    else:
        plan = metered_plan()
    subscriptions = [subscribe(plan) for _ in range(3)]

    def batch(size: int, first: int) -> list[dict]:
        return [
            event(subscriptions[n % 3].customer, first + n, when=at(date(2026, 11, 3)))
            for n in range(size)
        ]

    usage_events_record(events=batch(3, 0))  # warm: content types, the catalog's caches
    counts = []
    for size, first in ((3, 100), (300, 1000)):
        with CaptureQueriesContext(connection) as queries:
            usage_events_record(events=batch(size, first))
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= (20 if enforcement else 8)
