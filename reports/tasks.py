"""Report jobs (Celery beat, schedule in config/settings.py). Thin: a day in, a service called."""

from __future__ import annotations

from celery import shared_task

from core import clock
from reports import services


@shared_task(name="reports.mrr_refresh")
def mrr_refresh(full: bool = False) -> dict:
    """MRR segments and monthly movements: all of them on the first run of the day, then only
    what changed. Idempotent: it rebuilds derived rows, it never adds to them."""
    report = services.mrr_refresh(today=clock.today(), full=full)
    return {
        "subscriptions": report.subscriptions,
        "segments": report.segments,
        "months": report.months,
        "full": report.full,
    }
