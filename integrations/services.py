"""Outgoing webhooks, and the purge of expired idempotency keys.

Dispatch (`webhooks_dispatch`, every minute): the subscriptions' timeline (SubscriptionEvent) and
the invoice events (InvoiceEvent) are outboxes, written by the services in the transaction of
each change. The dispatcher reads the rows past its cursor, maps each to an event type, and
creates one delivery per endpoint that wants it — in the same transaction as it moves the
cursor, so an event is never lost and never dispatched twice.

Ids are taken when a row is inserted but become visible when its transaction commits, so a row
may appear after rows with higher ids (a billing chunk commits late), and previews roll back
the ids they took (they never appear). The cursor keeps the ids it skipped as gaps and reads
them again on every run for WEBHOOK_OUTBOX_GRACE_SECONDS; a row that appears in a gap is
dispatched then (models.OutboxCursor).

Delivery (`webhook_attempt`, a Celery task with backoff): POST the stored body, signed with
HMAC-SHA256 under the endpoint's secret; each attempt is recorded (the delivery log).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.utils.encoders import JSONEncoder

from billing.models import Invoice, InvoiceEvent
from config.celery import send
from integrations.idempotency import ttl
from integrations.models import (
    IdempotencyKey,
    OutboxCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from integrations.payloads import CustomerSerializer, InvoiceSerializer, SubscriptionSerializer
from payments.selectors import with_refunded_amount
from subscriptions.models import Customer, CustomerEvent, SubscriptionEvent
from subscriptions.selectors import subscriptions_for_list

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Cadence-Signature"
EVENT_ID_HEADER = "X-Cadence-Event-Id"
EVENT_TYPE_HEADER = "X-Cadence-Event"
TIMESTAMP_HEADER = "X-Cadence-Timestamp"
DELIVERY_HEADER = "X-Cadence-Delivery"
MAX_GAP_RANGES = 1000
MAX_ROUNDS = 20  # batches per run; the next run (a minute later) goes on


# Signing -----------------------------------------------------------------------------------


def sign(*, secret: str, body: bytes) -> str:
    """The X-Cadence-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (compare in constant time)."""
    return hmac.compare_digest(sign(secret=secret, body=body), header or "")


# Event types and payloads ---------------------------------------------------------------------

# Looked up by a row's kind, a plain str once read from the database.
SUBSCRIPTION_TYPES: dict[str, WebhookEventType] = {
    SubscriptionEvent.Kind.CREATED: WebhookEventType.SUBSCRIPTION_CREATED,
    SubscriptionEvent.Kind.RENEWED: WebhookEventType.SUBSCRIPTION_RENEWED,
    SubscriptionEvent.Kind.CANCELLATION: WebhookEventType.SUBSCRIPTION_CANCELLED,
    SubscriptionEvent.Kind.SUSPENDED: WebhookEventType.SUBSCRIPTION_SUSPENDED,
    SubscriptionEvent.Kind.REACTIVATED: WebhookEventType.SUBSCRIPTION_REACTIVATED,
}
INVOICE_TYPES: dict[str, WebhookEventType] = {
    InvoiceEvent.Kind.ISSUED: WebhookEventType.INVOICE_ISSUED,
    InvoiceEvent.Kind.PAID: WebhookEventType.INVOICE_PAID,
    InvoiceEvent.Kind.OVERDUE: WebhookEventType.INVOICE_OVERDUE,
    InvoiceEvent.Kind.CANCELLED: WebhookEventType.INVOICE_CANCELLED,
    InvoiceEvent.Kind.PAYMENT_SUCCEEDED: WebhookEventType.PAYMENT_SUCCEEDED,
    InvoiceEvent.Kind.PAYMENT_FAILED: WebhookEventType.PAYMENT_FAILED,
    InvoiceEvent.Kind.REFUNDED: WebhookEventType.INVOICE_REFUNDED,
    InvoiceEvent.Kind.WRITTEN_OFF: WebhookEventType.INVOICE_WRITTEN_OFF,
}


CUSTOMER_TYPES: dict[str, WebhookEventType] = {
    CustomerEvent.Kind.CREATED: WebhookEventType.CUSTOMER_CREATED,
}


def _subscription_event_type(event: SubscriptionEvent) -> str:
    # Every other entry of the timeline (seats, plan, add-ons, coupons, undone cancellations,
    # fulfilment, trial end, end, PO reference, contracts) changes the subscription.
    return SUBSCRIPTION_TYPES.get(event.kind, WebhookEventType.SUBSCRIPTION_CHANGED)


def _invoice_event_type(event: InvoiceEvent) -> str | None:
    return INVOICE_TYPES.get(event.kind)


def _customer_event_type(event: CustomerEvent) -> str | None:
    return CUSTOMER_TYPES.get(event.kind)


def _customers_by_id(ids: Iterable[int]) -> dict[int, Any]:
    return {
        c.pk: c
        for c in Customer.objects.select_related("partner_link__partner", "partner_account").filter(
            pk__in=set(ids)
        )
    }


def _subscriptions_by_id(ids: Iterable[int]) -> dict[int, Any]:
    return {s.pk: s for s in subscriptions_for_list().filter(pk__in=set(ids))}


def _invoices_by_id(ids: Iterable[int]) -> dict[int, Invoice]:
    return {
        i.pk: i
        for i in with_refunded_amount(
            Invoice.objects.select_related(
                "customer__partner_link__partner", "customer__partner_account", "credited_invoice"
            )
        ).filter(pk__in=set(ids))
    }


def _partner_id(customer) -> int | None:
    """The partner a row concerns: the customer's partner, or the partner whose billing
    account the customer is (an invoice addressed to the partner, billing-rules §9)."""
    link = getattr(customer, "partner_link", None)
    if link is not None:
        return link.partner_id
    account_of = getattr(customer, "partner_account", None)
    return account_of.pk if account_of is not None else None


@dataclass(frozen=True)
class Outbox:
    """One outbox table the dispatcher reads."""

    name: str
    model: type[SubscriptionEvent] | type[InvoiceEvent] | type[CustomerEvent]
    prefix: str
    type_of: Callable[[Any], str | None]
    owner_id: Callable[[Any], int]  # the subscription or invoice the row is about
    load: Callable[[Iterable[int]], dict[int, Any]]

    def event_id(self, row) -> str:
        return f"{self.prefix}{row.pk}"

    def payload(self, row, owner) -> dict:
        if self.model is SubscriptionEvent:
            data = {
                "change": row.kind,
                "effective_date": row.effective_date,
                "channel": row.channel,
                "details": row.data,
                "subscription": SubscriptionSerializer(owner).data,
            }
        elif self.model is CustomerEvent:
            data = {
                "change": row.kind,
                "channel": row.channel,
                "details": row.data,
                "customer": CustomerSerializer(owner).data,
            }
        else:
            data = {"day": row.day, "details": row.data, "invoice": InvoiceSerializer(owner).data}
        return {
            "id": self.event_id(row),
            "type": self.type_of(row),
            "created_at": row.recorded_at,
            "data": data,
        }


OUTBOXES = (
    Outbox(
        "subscription_events",
        SubscriptionEvent,
        "sub_evt_",
        _subscription_event_type,
        lambda row: row.subscription_id,
        _subscriptions_by_id,
    ),
    Outbox(
        "invoice_events",
        InvoiceEvent,
        "inv_evt_",
        _invoice_event_type,
        lambda row: row.invoice_id,
        _invoices_by_id,
    ),
    Outbox(
        "customer_events",
        CustomerEvent,
        "cus_evt_",
        _customer_event_type,
        lambda row: row.customer_id,
        _customers_by_id,
    ),
)


def body_of(*, payload: dict) -> str:
    return json.dumps(payload, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))


# Dispatch ----------------------------------------------------------------------------------


def _gap_query(gaps: list[list]) -> Q:
    query = Q(pk__in=[])
    for start, end, _seen in gaps:
        query |= Q(pk__gte=start, pk__lte=end)
    return query


def _remove_found(gaps: list[list], found: set[int]) -> list[list]:
    """Split the gap ranges around the ids that appeared."""
    remaining = []
    for start, end, seen in gaps:
        cut = sorted(pk for pk in found if start <= pk <= end)
        for pk in cut:
            if pk > start:
                remaining.append([start, pk - 1, seen])
            start = pk + 1
        if start <= end:
            remaining.append([start, end, seen])
    return remaining


def _deliveries(
    outbox: Outbox, rows: list, endpoints: list[WebhookEndpoint]
) -> list[WebhookDelivery]:
    wanted = []
    for row in rows:
        event_type = outbox.type_of(row)
        if event_type is None:
            continue
        targets = [e for e in endpoints if e.wants(event_type)]
        if targets:
            wanted.append((row, event_type, targets))
    if not wanted:
        return []
    owners = outbox.load(outbox.owner_id(row) for row, _t, _e in wanted)
    deliveries = []
    now = timezone.now()
    for row, event_type, targets in wanted:
        owner = owners.get(outbox.owner_id(row))
        if owner is None:
            continue
        customer = owner if isinstance(owner, Customer) else owner.customer
        partner_id = _partner_id(customer)
        body = None
        for endpoint in targets:
            if endpoint.partner_id is not None and endpoint.partner_id != partner_id:
                continue
            body = body or body_of(payload=outbox.payload(row, owner))
            deliveries.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=outbox.event_id(row),
                    event_type=event_type,
                    body=body,
                    next_attempt_at=now,
                )
            )
    return deliveries


def _dispatch_round(outbox: Outbox, batch: int) -> tuple[int, bool]:
    """One batch of one outbox, in one transaction. Returns (deliveries made, more to read)."""
    with transaction.atomic():
        # Made by the migration at the tables' last ids, so history is not sent on the first run.
        OutboxCursor.objects.get_or_create(source=outbox.name)
        cursor = (
            OutboxCursor.objects.select_for_update(skip_locked=True)
            .filter(source=outbox.name)
            .first()
        )
        if cursor is None:
            return 0, False  # another dispatcher holds it: it will do the work
        now = timezone.now()
        fresh = list(outbox.model.objects.filter(pk__gt=cursor.position).order_by("pk")[:batch])
        gaps = [list(g) for g in cursor.gaps]
        late = list(outbox.model.objects.filter(_gap_query(gaps)).order_by("pk")) if gaps else []
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        deliveries = _deliveries(outbox, late + fresh, endpoints) if endpoints else []
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)

        gaps = _remove_found(gaps, {row.pk for row in late})
        previous = cursor.position
        for row in fresh:
            if row.pk > previous + 1:
                gaps.append([previous + 1, row.pk - 1, now.isoformat()])
            previous = row.pk
        cursor.position = previous
        grace = timedelta(seconds=settings.WEBHOOK_OUTBOX_GRACE_SECONDS)
        gaps = [g for g in gaps if datetime.fromisoformat(g[2]) > now - grace]
        if len(gaps) > MAX_GAP_RANGES:
            logger.warning("webhooks: %s gap ranges in %s, dropping the oldest", len(gaps), outbox)
            gaps = gaps[-MAX_GAP_RANGES:]
        cursor.gaps = gaps
        cursor.save(update_fields=["position", "gaps", "updated_at"])
        event_ids = {d.event_id for d in deliveries}
        if event_ids:
            new = list(
                WebhookDelivery.objects.filter(
                    event_id__in=event_ids, status=WebhookDelivery.Status.PENDING, attempts=0
                ).values_list("pk", flat=True)
            )
            transaction.on_commit(lambda: _queue_sends([(pk, 1) for pk in new]))
        return len(deliveries), len(fresh) == batch


def _queue_sends(pairs: list[tuple[int, int]]) -> None:
    for delivery_id, attempt in pairs:
        try:
            send("integrations.webhook_send", delivery_id, attempt)
        except Retry:
            # Eager mode only (no broker: tests, debugging), where a retry cannot wait: the
            # delivery stays pending and the dispatcher's sweep makes its next attempt.
            logger.info("webhook delivery %s failed, its next attempt waits", delivery_id)


def webhooks_dispatch(*, batch: int | None = None) -> int:
    """Turn new outbox rows into deliveries (and queue their sending); re-queue deliveries whose
    sending was lost. Safe to run twice or in two workers at once. Returns deliveries made."""
    batch = batch or settings.WEBHOOK_DISPATCH_BATCH
    made = 0
    for outbox in OUTBOXES:
        for _round in range(MAX_ROUNDS):
            count, more = _dispatch_round(outbox, batch)
            made += count
            if not more:
                break
    webhook_deliveries_requeue()
    return made


def webhook_deliveries_requeue(*, stale_after: timedelta = timedelta(minutes=5)) -> int:
    """Deliveries still pending well after their next attempt was due: their message was lost
    (a broker restart). Queue that attempt again; a duplicate finds it already made."""
    now = timezone.now()
    stale = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lt=now - stale_after
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values_list("pk", "attempts")[:1000]
    )
    transaction.on_commit(lambda: _queue_sends([(pk, attempts + 1) for pk, attempts in stale]))
    return len(stale)


# Usage limits ------------------------------------------------------------------------------


def usage_limit_event_id(*, subscription_id: int, feature: str, period_start: str) -> str:
    """One event per subscription, feature and billing period: receivers and the unique
    (endpoint, event id) of the deliveries dedupe on it."""
    key = f"{subscription_id}:{feature}:{period_start}".encode()
    return "usage_lim_" + hashlib.sha256(key).hexdigest()[:24]


def usage_limit_exceeded_notify(
    *,
    subscription_id: int,
    feature: str,
    metric: str,
    limit: str,
    used: str,
    period_start: str,
    period_end: str,
) -> int:
    """A soft limit was passed (subscriptions.services.usage_events_record asks after its
    commit): one `usage.limit_exceeded` delivery per endpoint that wants it. Safe to run twice
    and from two batches racing: the event id is the same, a second delivery is not made.
    Returns the deliveries made."""
    event_type = WebhookEventType.USAGE_LIMIT_EXCEEDED
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(event_type)]
    if not endpoints:
        return 0
    owner = _subscriptions_by_id([subscription_id]).get(subscription_id)
    if owner is None:
        return 0
    partner_id = _partner_id(owner.customer)
    targets = [e for e in endpoints if e.partner_id is None or e.partner_id == partner_id]
    if not targets:
        return 0
    event_id = usage_limit_event_id(
        subscription_id=subscription_id, feature=feature, period_start=period_start
    )
    now = timezone.now()
    body = body_of(
        payload={
            "id": event_id,
            "type": event_type,
            "created_at": now,
            "data": {
                "feature": feature,
                "metric": metric,
                "limit": limit,
                "used": used,
                "period_start": period_start,
                "period_end": period_end,
                "subscription": SubscriptionSerializer(owner).data,
            },
        }
    )
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    next_attempt_at=now,
                )
                for endpoint in targets
            ],
            ignore_conflicts=True,
        )
        new = list(
            WebhookDelivery.objects.filter(
                event_id=event_id, status=WebhookDelivery.Status.PENDING, attempts=0
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: _queue_sends([(pk, 1) for pk in new]))
    return len(new)


# Delivery ----------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any non-2xx: the body is not re-posted elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """POST; returns (status or None, the start of the answer, the error)."""
    if not url.lower().startswith(("https://", "http://")):
        return None, "", _("Only http and https URLs can receive webhooks.")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, response.read(1000).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as error:
        excerpt = error.read(1000).decode("utf-8", "replace") if error.fp else ""
        return error.code, excerpt, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        return None, "", f"{type(error).__name__}: {error}"[:1000]


def retry_delay(*, attempt: int) -> int:
    """Seconds before the attempt after `attempt`: 30 s, 1 min, 2 min… capped (exponential)."""
    base = settings.WEBHOOK_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** (attempt - 1), settings.WEBHOOK_RETRY_BACKOFF_MAX_SECONDS)


def webhook_attempt(*, delivery_id: int, attempt: int) -> int | None:
    """Make attempt number `attempt` of a delivery. Returns the seconds to wait before the next
    attempt, or None when there is none (delivered, given up, or not this worker's to make)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    # The claim: of two workers given the same attempt, one makes it.
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempts=attempt - 1
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    if endpoint.is_active:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Cadence-Webhooks/1",
            EVENT_TYPE_HEADER: delivery.event_type,
            EVENT_ID_HEADER: delivery.event_id,
            DELIVERY_HEADER: str(delivery.pk),
            TIMESTAMP_HEADER: str(int(now.timestamp())),
            SIGNATURE_HEADER: sign(secret=endpoint.secret, body=body),
        }
        started = time.monotonic()
        code, excerpt, error = _post(endpoint.url, body, headers)
        duration_ms = int((time.monotonic() - started) * 1000)
    else:
        code, excerpt, error, duration_ms = None, "", _("The endpoint is inactive."), 0
    succeeded = code is not None and 200 <= code < 300
    finished = timezone.now()
    changes: dict[str, Any] = {
        "attempts": attempt,
        "response_code": code,
        "last_error": error,
        "last_attempt_at": now,
        "locked_until": None,
    }
    delay = None
    if succeeded:
        changes |= {
            "status": WebhookDelivery.Status.SUCCEEDED,
            "delivered_at": finished,
            "next_attempt_at": None,
        }
    elif attempt >= settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.is_active:
        changes |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        delay = retry_delay(attempt=attempt)
        changes["next_attempt_at"] = finished + timedelta(seconds=delay)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=attempt,
            started_at=now,
            duration_ms=duration_ms,
            response_code=code,
            response_excerpt=excerpt,
            error=error,
            succeeded=succeeded,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    return delay


def webhook_delivery_retry(*, delivery: WebhookDelivery) -> None:
    """An operator sends a failed delivery again (admin action): one more attempt now."""
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.FAILED
        ).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now())
        if updated:
            attempt = delivery.attempts + 1
            transaction.on_commit(lambda: _queue_sends([(delivery.pk, attempt)]))


# Idempotency keys --------------------------------------------------------------------------


def idempotency_keys_purge(*, batch: int = 5000) -> int:
    """Delete the idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS; returns how many."""
    cutoff = timezone.now() - ttl()
    deleted = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]
