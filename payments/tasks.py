"""The payments app's jobs: thin tasks that call one service, safe to run twice."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from core import clock
from payments import services


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
