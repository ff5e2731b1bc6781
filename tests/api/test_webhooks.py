"""Outgoing webhooks: the outbox rows become deliveries once each (gaps included), each POST
is signed and checked by a real HTTP server in a thread, failures are retried with backoff and
every attempt is logged; endpoints and the log are in the admin."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from celery.exceptions import Retry
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceEvent
from billing.services import billing_run, invoices_mark_overdue, payment_record
from catalog.models import SeatType
from integrations import services
from integrations.models import (
    OutboxCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.tasks import webhook_send, webhooks_dispatch
from partners.models import Partner
from subscriptions import services as subscription_services
from subscriptions.models import CustomerEvent, SubscriptionEvent

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret"


class Receiver:
    """A real HTTP server in a thread: it checks each request's signature with the secret and
    answers with the next status of `statuses` (then 200)."""

    def __init__(
        self, secret: str = SECRET, statuses: list[int] | None = None, delays: list[float] = ()
    ):
        self.secret = secret
        self.statuses = list(statuses or [])
        self.delays = list(delays)  # seconds to wait before answering, request by request
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body),
                        "signed": hmac.compare_digest(
                            expected, self.headers.get("X-Cadence-Signature", "")
                        ),
                    }
                )
                if receiver.delays:
                    time.sleep(receiver.delays.pop(0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answer {status}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cadence"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def caught_up(tenants):
    """The dispatcher has run since the tenants were made (it runs every minute): their history
    is behind the cursor, before any endpoint existed."""
    services.webhooks_dispatch()
    return tenants


def endpoint(url: str, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="ERP", url=url, secret=SECRET, **fields)


def dispatch(capture) -> int:
    with capture(execute=True):
        return services.webhooks_dispatch()


def types_of(deliveries) -> list[str]:
    return [d.event_type for d in deliveries.order_by("id")]


# What is dispatched -----------------------------------------------------------------------


def test_timeline_and_invoice_events_become_their_event_types(tenants, caught_up):
    hook = endpoint("http://127.0.0.1:9/unused")
    gateway = SeatType.objects.get(code="gateway")
    sensor = SeatType.objects.get(code="sensor")
    today = date(2026, 11, 22)
    created = subscription_services.subscription_create(
        customer=tenants.clinic,
        plan=tenants.bakery_seats.plan,
        start_date=today,
        today=today,
        seats={sensor: 6},
    ).subscription
    subscription_services.seats_add(
        subscription=tenants.fjord_seats, seat_type=gateway, quantity=1, today=today
    )
    subscription_services.subscription_cancel(subscription=tenants.office, today=today)
    subscription_services.subscription_advance(
        subscription=tenants.fjord_seats,
        today=date(2027, 10, 1),  # its renewal date
    )
    with time_machine.travel("2026-12-01 09:00Z", tick=True):
        billing_run(day=date(2026, 12, 1), send_emails=False)
    issued = Invoice.objects.filter(issue_date=date(2026, 12, 1)).order_by("id").first()
    payment_record(
        invoice=issued,
        amount=issued.total.amount,
        method="bank_transfer",
        received_on=date(2026, 12, 2),
    )
    invoices_mark_overdue(day=date(2027, 3, 1))

    made = services.webhooks_dispatch()
    deliveries = WebhookDelivery.objects.filter(endpoint=hook)
    assert made == deliveries.count()
    kinds = types_of(deliveries)
    assert kinds[:4] == [
        "subscription.created",
        "subscription.changed",  # seats added
        "subscription.cancelled",
        "subscription.renewed",
    ]
    assert {"invoice.issued", "invoice.paid", "invoice.overdue"} <= set(kinds)
    # Events dispatched before the endpoint existed (the tenants' history) are not sent to it.
    assert not deliveries.filter(event_id=f"sub_evt_{tenants.office.events.first().pk}").exists()

    body = json.loads(deliveries.get(event_type="subscription.created").body)
    assert body["type"] == "subscription.created"
    assert body["id"].startswith("sub_evt_")
    assert body["data"]["change"] == "created"
    assert body["data"]["subscription"]["id"] == created.pk
    assert body["data"]["subscription"]["partner"]["code"] == "acme"
    paid = json.loads(deliveries.get(event_type="invoice.paid").body)
    assert paid["data"]["invoice"]["number"] == issued.number
    assert paid["data"]["invoice"]["status"] == "paid"
    assert paid["data"]["day"] == "2026-12-02"


def test_dispatching_twice_sends_nothing_twice(tenants, caught_up):
    endpoint("http://127.0.0.1:9/unused")
    subscription_services.subscription_cancel(subscription=tenants.office, today=date(2026, 11, 22))
    assert services.webhooks_dispatch() == 1
    assert services.webhooks_dispatch() == 0
    assert webhooks_dispatch.apply().get() == 0
    cursor = OutboxCursor.objects.get(source="subscription_events")
    assert cursor.position == SubscriptionEvent.objects.order_by("pk").last().pk
    assert WebhookDelivery.objects.count() == 1


def test_endpoints_get_only_their_event_types_partner_and_while_active(tenants, caught_up):
    everything = endpoint("http://127.0.0.1:9/all")
    cancellations = endpoint("http://127.0.0.1:9/c", event_types=["subscription.cancelled"])
    acme_only = endpoint("http://127.0.0.1:9/acme", partner=Partner.objects.get(code="acme"))
    endpoint("http://127.0.0.1:9/off", is_active=False)
    today = date(2026, 11, 22)
    gateway = SeatType.objects.get(code="gateway")
    subscription_services.seats_add(
        subscription=tenants.bakery_seats, seat_type=gateway, quantity=1, today=today
    )
    subscription_services.seats_add(
        subscription=tenants.fjord_seats, seat_type=gateway, quantity=1, today=today
    )
    subscription_services.subscription_cancel(subscription=tenants.office, today=today)
    services.webhooks_dispatch()
    assert types_of(everything.deliveries) == ["subscription.changed"] * 2 + [
        "subscription.cancelled"
    ]
    assert types_of(cancellations.deliveries) == ["subscription.cancelled"]
    [bakery] = acme_only.deliveries.all()
    assert json.loads(bakery.body)["data"]["subscription"]["customer"]["name"] == (
        "Boulangerie Martin"
    )
    assert WebhookDelivery.objects.count() == 5


def invoice_event(invoice) -> InvoiceEvent:
    return InvoiceEvent.objects.create(invoice=invoice, kind="paid", day=date(2026, 11, 22))


def test_an_event_committed_after_later_ones_is_dispatched_when_it_appears(tenants, caught_up):
    """Ids are taken at insert and seen at commit: a row may appear after higher ids were read.
    Simulated here by removing a row before the dispatch and putting it back after."""
    hook = endpoint("http://127.0.0.1:9/unused")
    invoice = tenants.invoice_of(tenants.maple)
    first, late, last = invoice_event(invoice), invoice_event(invoice), invoice_event(invoice)
    late_id = late.pk
    InvoiceEvent.objects.filter(pk=late_id).delete()  # "not committed yet"
    services.webhooks_dispatch()
    assert {d.event_id for d in hook.deliveries.all()} == {
        f"inv_evt_{first.pk}",
        f"inv_evt_{last.pk}",
    }
    cursor = OutboxCursor.objects.get(source="invoice_events")
    assert cursor.position == last.pk
    assert [late_id, late_id] in [g[:2] for g in cursor.gaps]
    InvoiceEvent.objects.create(pk=late_id, invoice=invoice, kind="paid", day=date(2026, 11, 22))
    services.webhooks_dispatch()
    assert hook.deliveries.filter(event_id=f"inv_evt_{late_id}").exists()
    gaps = OutboxCursor.objects.get(source="invoice_events").gaps
    assert not any(start <= late_id <= end for start, end, _seen in gaps)
    services.webhooks_dispatch()
    assert hook.deliveries.count() == 3


def test_a_gap_is_given_up_after_the_grace_period(tenants, caught_up):
    endpoint("http://127.0.0.1:9/unused")
    invoice = tenants.invoice_of(tenants.maple)
    invoice_event(invoice)
    rolled_back = invoice_event(invoice)  # a preview's id: it never appears
    invoice_event(invoice)
    InvoiceEvent.objects.filter(pk=rolled_back.pk).delete()
    services.webhooks_dispatch()
    assert OutboxCursor.objects.get(source="invoice_events").gaps
    later = timezone.now() + timedelta(seconds=settings.WEBHOOK_OUTBOX_GRACE_SECONDS + 1)
    with time_machine.travel(later):
        services.webhooks_dispatch()
    assert OutboxCursor.objects.get(source="invoice_events").gaps == []


def test_gap_ranges_are_split_around_the_rows_that_appear():
    gaps = [[10, 20, "t1"], [30, 30, "t2"]]
    assert services._remove_found(gaps, {10, 15, 30}) == [[11, 14, "t1"], [16, 20, "t1"]]


# How it is sent -----------------------------------------------------------------------------


def test_each_delivery_is_a_signed_post_to_a_real_server(
    tenants, caught_up, api, receiver, django_capture_on_commit_callbacks
):
    hook = endpoint(receiver.url)
    response = api("partner2").post(
        f"/api/v1/subscriptions/{tenants.fjord_seats.pk}/seats/",
        {"seat_type": "gateway", "quantity": 1},
    )
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_dispatch.apply().get() == 1
    [request] = receiver.requests
    assert request["signed"], "the receiver recomputed the HMAC-SHA256 of the raw body"
    headers = request["headers"]
    delivery = hook.deliveries.get()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Cadence-Event"] == "subscription.changed"
    assert headers["X-Cadence-Event-Id"] == delivery.event_id
    assert headers["X-Cadence-Delivery"] == str(delivery.pk)
    assert abs(int(headers["X-Cadence-Timestamp"]) - timezone.now().timestamp()) < 60
    assert request["body"] == delivery.body.encode()
    assert request["json"]["data"]["change"] == "seats_added"
    assert request["json"]["data"]["subscription"]["seats"][0]["quantity"] == 6
    assert request["json"]["data"]["channel"] == "api"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    [attempt] = delivery.attempt_log.all()
    assert attempt.succeeded and attempt.response_excerpt == "answer 200"
    assert services.signature_valid(
        secret=SECRET, body=request["body"], header=headers["X-Cadence-Signature"]
    )
    assert not services.signature_valid(
        secret="another secret", body=request["body"], header=headers["X-Cadence-Signature"]
    )


def pending_delivery(url: str) -> WebhookDelivery:
    hook = endpoint(url)
    return WebhookDelivery.objects.create(
        endpoint=hook,
        event_id="sub_evt_1",
        event_type="subscription.changed",
        body='{"id":"sub_evt_1"}',
        next_attempt_at=timezone.now(),
    )


def test_a_failed_attempt_waits_longer_each_time(db):
    with Receiver(statuses=[500, 503]) as server:
        delivery = pending_delivery(server.url)
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) == 30
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
        assert delivery.last_error == "HTTP 500 Internal Server Error"
        waited = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 30 <= waited < 35
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=2) == 60
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=3) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    assert list(delivery.attempt_log.values_list("number", "response_code", "succeeded")) == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]


def test_backoff_doubles_up_to_its_cap():
    assert [services.retry_delay(attempt=n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.retry_delay(attempt=30) == settings.WEBHOOK_RETRY_BACKOFF_MAX_SECONDS


def test_celery_retries_with_backoff_until_delivered(db):
    with Receiver(statuses=[500, 502]) as server:
        delivery = pending_delivery(server.url)
        with pytest.raises(Retry) as first:
            webhook_send.apply(args=[delivery.pk, 1])
        assert first.value.when == 30
        assert list(first.value.sig.args) == [delivery.pk, 2]
        with pytest.raises(Retry) as second:
            first.value.sig.apply()  # what the worker runs 30 s later
        assert second.value.when == 60
        second.value.sig.apply()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    assert len(server.requests) == 3 and all(r["signed"] for r in server.requests)


@override_settings(WEBHOOK_MAX_ATTEMPTS=2)
def test_celery_gives_up_after_the_last_attempt(db):
    with Receiver(statuses=[500] * 5) as server:
        delivery = pending_delivery(server.url)
        with pytest.raises(Retry) as first:
            webhook_send.apply(args=[delivery.pk, 1])
        first.value.sig.apply()  # the last attempt: no retry after it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert len(server.requests) == 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_network_error_is_logged_and_retried(db):
    delivery = pending_delivery(f"http://127.0.0.1:{closed_port()}/down")
    assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) == 30
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.response_code is None and "Connection refused" in attempt.error


@override_settings(WEBHOOK_TIMEOUT_SECONDS=1)
def test_a_receiver_slower_than_the_timeout_is_retried(db):
    with Receiver(delays=[3]) as server:
        delivery = pending_delivery(server.url)
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) == 30
        [attempt] = WebhookAttempt.objects.all()
        assert not attempt.succeeded and "timed out" in attempt.error
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=2) is None  # in time
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_a_replayed_delivery_is_signed_the_same_with_the_same_event_id(db):
    """A worker restarted after an attempt replays it: the receiver gets the same body, event id
    and signature, so it can deduplicate on X-Cadence-Event-Id."""
    with Receiver(statuses=[500]) as server:
        delivery = pending_delivery(server.url)
        services.webhook_attempt(delivery_id=delivery.pk, attempt=1)
        services.webhook_attempt(delivery_id=delivery.pk, attempt=2)
    first, second = server.requests
    assert first["body"] == second["body"]
    for header in ("X-Cadence-Event-Id", "X-Cadence-Signature", "X-Cadence-Event"):
        assert first["headers"][header] == second["headers"][header]
    assert first["signed"] and second["signed"]


def test_a_redirect_is_not_followed(db):
    with Receiver(statuses=[302]) as server:
        delivery = pending_delivery(server.url)
        assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) == 30
    delivery.refresh_from_db()
    assert delivery.response_code == 302 and len(server.requests) == 1


def test_an_attempt_is_made_once_even_if_queued_twice(db, receiver):
    delivery = pending_delivery(receiver.url)
    assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) is None
    assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) is None
    assert len(receiver.requests) == 1 and WebhookAttempt.objects.count() == 1


def test_a_delivery_whose_message_was_lost_is_queued_again(
    db, receiver, django_capture_on_commit_callbacks
):
    delivery = pending_delivery(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )
    dispatch(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 1


def test_an_inactive_endpoint_gets_nothing(db, receiver):
    delivery = pending_delivery(receiver.url)
    WebhookEndpoint.objects.update(is_active=False)
    assert services.webhook_attempt(delivery_id=delivery.pk, attempt=1) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and receiver.requests == []


def test_the_beat_schedule_dispatches_every_minute_and_purges_keys():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["webhooks-dispatch"]["task"] == "integrations.webhooks_dispatch"
    assert schedule["webhooks-dispatch"]["schedule"].minute == set(range(60))
    assert schedule["idempotency-keys-purge"]["task"] == "integrations.idempotency_keys_purge"
    assert "billing-daily" in schedule  # kept


# Admin -----------------------------------------------------------------------------------


def test_endpoints_are_registered_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {
            "name": "ERP",
            "url": "https://erp.example/hooks",
            "is_active": "on",
            "event_types": ["invoice.paid", "invoice.issued"],
            "secret": "whsec_chosen",
        },
    )
    assert response.status_code == 302, response.content
    hook = WebhookEndpoint.objects.get()
    assert hook.event_types == ["invoice.issued", "invoice.paid"]
    assert hook.wants("invoice.paid") and not hook.wants("subscription.created")
    page = admin_client.get(reverse("admin:integrations_webhookendpoint_changelist"))
    assert b"https://erp.example/hooks" in page.content
    assert WebhookEndpoint(name="x", url="https://x").secret.startswith("whsec_")


def test_the_delivery_log_and_sending_again_in_the_admin(
    admin_client, receiver, django_capture_on_commit_callbacks
):
    delivery = pending_delivery(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=10)
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=10,
        started_at=timezone.now(),
        duration_ms=12,
        response_code=500,
        error="HTTP 500 Internal Server Error",
    )
    page = admin_client.get(reverse("admin:integrations_webhookdelivery_changelist"))
    assert page.status_code == 200 and b"sub_evt_1" in page.content
    page = admin_client.get(
        reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk])
    )
    assert page.status_code == 200 and b"HTTP 500 Internal Server Error" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:integrations_webhookdelivery_changelist"),
            {"action": "send_again", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 11)
    assert len(receiver.requests) == 1


def test_idempotency_keys_are_listed_in_the_admin(admin_client, tenants, api):
    api("customer").post(
        f"/api/v1/subscriptions/{tenants.hosting.pk}/plan-change/",
        {"plan": "hosting-b"},
        HTTP_IDEMPOTENCY_KEY="admin-visible",
    )
    page = admin_client.get(reverse("admin:integrations_idempotencykey_changelist"))
    assert page.status_code == 200 and b"admin-visible" in page.content


def test_money_in_payloads_is_a_string_with_two_decimals(tenants, caught_up):
    endpoint("http://127.0.0.1:9/unused")
    invoice = tenants.invoice_of(tenants.bakery)
    invoice_event(invoice)
    services.webhooks_dispatch()
    payload = json.loads(WebhookDelivery.objects.get().body)
    assert payload["type"] == "invoice.paid"
    assert Decimal(payload["data"]["invoice"]["total"]) == invoice.total.amount
    assert payload["data"]["invoice"]["total"].count(".") == 1
    assert len(payload["data"]["invoice"]["total"].split(".")[1]) == 2


def test_the_migration_starts_the_cursors_after_the_history(tenants):
    """Deployed on a database with history, the first endpoints get no old events."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("integrations.migrations.0002_outbox_cursors")
    customers = import_module("integrations.migrations.0005_customer_created_event_type")
    OutboxCursor.objects.all().delete()
    migration.create_cursors(apps, None)
    customers.create_cursor(apps, None)
    positions = dict(OutboxCursor.objects.values_list("source", "position"))
    assert positions == {
        "subscription_events": SubscriptionEvent.objects.order_by("pk").last().pk,
        "invoice_events": InvoiceEvent.objects.order_by("pk").last().pk,
        "customer_events": CustomerEvent.objects.order_by("pk").last().pk,
    }
    endpoint("http://127.0.0.1:9/unused")
    assert services.webhooks_dispatch() == 0


def test_only_http_and_https_endpoints_are_accepted(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {"name": "FTP", "url": "ftp://files.example/in", "is_active": "on", "secret": "s"},
    )
    assert response.status_code == 200  # the form again, with its error
    assert b"Enter a valid URL." in response.content
    assert not WebhookEndpoint.objects.exists()
