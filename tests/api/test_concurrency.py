"""Real concurrency on PostgreSQL, in real threads, each on its own connection:

- a change to a subscription whose row another transaction holds answers 409 at once;
- two identical requests with one Idempotency-Key at the same moment make one change, and both
  get its answer;
- two different changes at the same moment: each succeeds or is told to retry (409), and the
  seats add up;
- a timeline entry committed after later ones is still dispatched to the webhooks.
"""

import threading
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from catalog.models import Plan, SeatType
from demo.catalog import seed_catalog
from integrations import services as integration_services
from integrations.models import IdempotencyKey, WebhookDelivery, WebhookEndpoint
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionEvent, SubscriptionSeat
from tests.concurrency import postgresql_only, run_together
from tests.subscriptions.factories import CustomerFactory
from tests.support.api import token_client

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 11, 22)


@pytest.fixture
def seats():
    """An operator's token and a device-seats subscription with 5 gateway seats."""
    seed_catalog()
    operator = get_user_model().objects.create_user("op", password="x-long-password-1")
    operator.is_staff = True
    operator.save()
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 5},
        service_period_years=1,
    ).subscription
    return operator, subscription


def add_seats(operator, subscription, quantity=1, **headers):
    def call():
        response = token_client(operator).post(
            f"/api/v1/subscriptions/{subscription.pk}/seats/",
            {"seat_type": "gateway", "quantity": quantity},
            **headers,
        )
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    return call


def gateway_seats(subscription) -> int:
    return SubscriptionSeat.objects.get(subscription=subscription).quantity


def test_a_change_while_another_holds_the_subscription_answers_409(seats):
    operator, subscription = seats
    held, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                Subscription.objects.select_for_update().get(pk=subscription.pk)
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert held.wait(10)
        status, body, _replayed = add_seats(operator, subscription)()
    finally:
        release.set()
        holder.join(10)
    assert status == 409
    assert body == {
        "__all__": [
            "Another change to this subscription is being saved at this moment: retry in a few "
            "seconds."
        ]
    }
    assert gateway_seats(subscription) == 5
    # Once the other transaction is over, the same request goes through.
    assert add_seats(operator, subscription)()[0] == 200
    assert gateway_seats(subscription) == 6


def test_two_identical_requests_at_once_make_one_change(seats):
    operator, subscription = seats
    key = {"HTTP_IDEMPOTENCY_KEY": "one-order-7f3a"}
    results, errors = run_together(
        add_seats(operator, subscription, 3, **key), add_seats(operator, subscription, 3, **key)
    )
    assert errors == [None, None]
    (status_a, body_a, replay_a), (status_b, body_b, replay_b) = results
    assert (status_a, status_b) == (200, 200), "the second waited for the first, then replayed"
    assert body_a == body_b
    assert sorted([replay_a or "", replay_b or ""]) == ["", "true"]
    assert gateway_seats(subscription) == 8
    assert (
        SubscriptionEvent.objects.filter(subscription=subscription, kind="seats_added").count() == 1
    )
    assert IdempotencyKey.objects.count() == 1


def test_two_different_changes_at_once_each_succeed_or_are_told_to_retry(seats):
    operator, subscription = seats
    results, errors = run_together(
        *(add_seats(operator, subscription, 1, HTTP_IDEMPOTENCY_KEY=f"k{n}") for n in range(4))
    )
    assert errors == [None] * 4
    statuses = [status for status, _body, _replayed in results]
    assert set(statuses) <= {200, 409} and 200 in statuses
    assert gateway_seats(subscription) == 5 + statuses.count(200)
    added = SubscriptionEvent.objects.filter(subscription=subscription, kind="seats_added")
    assert added.count() == statuses.count(200)
    # A 409 keeps no key: retrying it with the same key goes through.
    assert IdempotencyKey.objects.count() == statuses.count(200)


def test_an_entry_committed_after_later_ones_still_reaches_the_webhooks(seats):
    _operator, subscription = seats
    other = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),
        start_date=TODAY,
        today=TODAY,
    ).subscription
    integration_services.webhooks_dispatch()
    hook = WebhookEndpoint.objects.create(name="ERP", url="http://127.0.0.1:9/x", secret="s")
    inside, release = threading.Event(), threading.Event()

    def slow_change():
        # Takes its timeline id now, commits later.
        try:
            with transaction.atomic():
                services.subscription_cancel(subscription=subscription, today=TODAY)
                inside.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=slow_change)
    worker.start()
    assert inside.wait(10)
    services.subscription_cancel(subscription=other, today=TODAY)  # a higher id, committed first
    integration_services.webhooks_dispatch()
    assert list(hook.deliveries.values_list("event_type", flat=True)) == ["subscription.cancelled"]
    release.set()
    worker.join(10)
    integration_services.webhooks_dispatch()
    cancelled = SubscriptionEvent.objects.get(subscription=subscription, kind="cancellation")
    assert hook.deliveries.filter(event_id=f"sub_evt_{cancelled.pk}").exists()
    assert WebhookDelivery.objects.filter(event_type="subscription.cancelled").count() == 2
