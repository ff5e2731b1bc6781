"""The payments app's jobs: thin tasks that call one service, safe to run twice."""

from __future__ import annotations

import smtplib
from datetime import date

from celery import shared_task

from core import clock
from payments import services

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
    for step_id in report.to_email:
        dunning_email.delay(step_id)
    return {
        "retries": report.retries,
        "suspended": report.suspended,
        "cancelled": report.cancelled,
        "written_off": report.written_off,
    }


@shared_task(name="payments.dunning_email", **RETRY)
def dunning_email(step_id: int) -> bool:
    return services.dunning_email_send(step_id=step_id)
