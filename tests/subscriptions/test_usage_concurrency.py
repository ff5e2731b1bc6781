"""Usage batches racing, on PostgreSQL with real threads: the limits count both, the soft limit's
webhook is made once, a retried event is stored once."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from catalog.models import Feature
from demo.catalog import seed_catalog
from integrations.models import WebhookDelivery, WebhookEndpoint
from subscriptions.models import UsageEvent
from subscriptions.services import UsageLimitExceeded, usage_events_record
from tests.concurrency import postgresql_only, run_together
from tests.support.ingest import at, events, limited_plan, subscribe

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    seed_catalog()  # the ZeroRated tax rate and the seller, as the other tests have them
    with time_machine.travel(NOW, tick=True):
        yield


def batch(customer, count: int, first: int):
    return lambda: usage_events_record(
        events=events(customer, count, when=at(date(2026, 11, 20)), first=first)
    )


def test_two_batches_racing_past_a_hard_limit_one_is_refused():
    plan, _feature = limited_plan(10, Feature.Enforcement.HARD)
    customer = subscribe(plan).customer
    results, errors = run_together(batch(customer, 6, 0), batch(customer, 6, 100))
    assert sorted(type(e).__name__ for e in errors if e) == ["UsageLimitExceeded"]
    assert [r.recorded for r in results if r] == [6]
    assert UsageEvent.objects.count() == 6
    assert any(isinstance(e, UsageLimitExceeded) for e in errors)


def test_two_batches_racing_past_a_soft_limit_make_one_webhook():
    WebhookEndpoint.objects.create(name="ops", url="http://127.0.0.1:9/hook")
    plan, _feature = limited_plan(10, Feature.Enforcement.SOFT)
    customer = subscribe(plan).customer
    usage_events_record(events=events(customer, 8, when=at(date(2026, 11, 20))))
    results, errors = run_together(batch(customer, 3, 100), batch(customer, 3, 200))
    assert errors == [None, None]
    assert sorted(len(r.limits_passed) for r in results) == [0, 1]
    assert WebhookDelivery.objects.filter(event_type="usage.limit_exceeded").count() == 1
    assert UsageEvent.objects.count() == 14


def test_the_same_event_sent_twice_at_once_is_stored_once():
    plan, _feature = limited_plan(None, Feature.Enforcement.NONE)
    customer = subscribe(plan).customer
    results, errors = run_together(batch(customer, 5, 0), batch(customer, 5, 0))
    assert errors == [None, None]
    assert sorted(r.recorded for r in results) == [0, 5]
    assert UsageEvent.objects.count() == 5
