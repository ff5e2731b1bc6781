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
