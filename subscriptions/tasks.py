"""Subscription jobs (Celery beat, schedule in config/settings.py). Thin: a day in, a service
called. Safe to run twice or in two workers at once (the service locks each row it moves)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from core import clock
from subscriptions import services


@shared_task(name="subscriptions.contracts_run")
def contracts_run(day: str | None = None) -> dict:
    """Product contracts brought to the day: started, issues scheduled, credits granted and
    expired, ended (the days missed caught up)."""
    run_day = date.fromisoformat(day) if day else clock.today()
    return services.contracts_run(day=run_day).as_dict()
