"""The payments app's jobs: thin tasks that call one service, safe to run twice."""

from __future__ import annotations

import smtplib
from datetime import date

from celery import shared_task
from django.conf import settings

from config.celery import send
from core import clock
from payments import services
from payments.gateways.test import TestGateway

# Emails retried with backoff when the mail server fails (as billing's).
RETRY = {
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 3600,
    "max_retries": 8,
}


@shared_task(name="payments.credits_apply")
def credits_apply(day: str | None = None) -> int:
    """Customer credit pays the open invoices, oldest first (after the billing run)."""
    return services.credits_apply_due(day=date.fromisoformat(day) if day else clock.today())


@shared_task(name="payments.sepa_batch")
def sepa_batch(day: str | None = None) -> int | None:
    """The day's SEPA direct debit batch (pain.008), for the operator to download and submit;
    returns its id, None when nothing is to be debited."""
    batch = services.sepa_batch_create(day=date.fromisoformat(day) if day else clock.today())
    return batch.pk if batch else None


@shared_task(name="payments.dunning")
def dunning(day: str | None = None) -> dict:
    """Daily, after the overdue reminders: retries, suspensions and final steps due today; each
    suspension or cancellation is then announced by email (its own job, retried)."""
    report = services.dunning_run(day=date.fromisoformat(day) if day else clock.today())
    # Today's announcements and any still unsent (the steps are the outbox).
    for step_id in services.dunning_emails_pending():
        send("payments.dunning_email", step_id)
    return {
        "retries": report.retries,
        "suspended": report.suspended,
        "cancelled": report.cancelled,
        "written_off": report.written_off,
    }


@shared_task(name="payments.dunning_email", **RETRY)
def dunning_email(step_id: int) -> bool:
    return services.dunning_email_send(step_id=step_id)


@shared_task(name="payments.test_gateway_deliver")
def test_gateway_deliver(event_id: int) -> int:
    """The test gateway delivers one of its events: signed now, handed to the service Cadence's
    webhook endpoint calls (payments/gateways/test.py says why not over HTTP). Safe to run
    twice: the second delivery is a replay, recorded once. Returns the GatewayEvent's id."""
    gateway = TestGateway()
    body, headers = gateway.delivery(event_id=event_id)
    received = services.gateway_webhook_receive(
        gateway_code=TestGateway.code, body=body, headers=headers
    )
    gateway.acknowledged(event_id=event_id)
    return received.pk


@shared_task(name="payments.test_gateway_redeliver")
def test_gateway_redeliver() -> int:
    """The test gateway sends again what Cadence never answered, a minute on (as a provider
    retries); returns how many. Only with the test gateway configured."""
    if TestGateway.code != settings.PAYMENT_GATEWAY:
        return 0
    pending = TestGateway().unacknowledged(older_than_seconds=60)
    for event_id in pending:
        test_gateway_deliver(event_id)
    return len(pending)
