"""The MRR job: on the beat schedule, registered, and safe to run twice (it rebuilds derived
rows, it never adds to them); its command does the same at once."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
import time_machine
from celery import current_app
from django.conf import settings
from django.core.management import call_command

from reports import tasks
from reports.models import MrrMonth, MrrSegment
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory, monthly_plan

pytestmark = pytest.mark.django_db


def rows():
    return (
        sorted(MrrSegment.objects.values_list("subscription_id", "start", "end", "amount")),
        sorted(MrrMonth.objects.values_list("month", "currency", "mrr_end", "new")),
    )


def test_the_job_is_scheduled_and_registered():
    entry = settings.CELERY_BEAT_SCHEDULE["mrr-refresh"]
    assert entry["task"] == "reports.mrr_refresh"
    assert "reports.mrr_refresh" in current_app.tasks


def test_running_it_twice_changes_nothing(demo_catalog):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=monthly_plan("30.00", code="job"),
        start_date=date(2026, 1, 10),
        today=date(2026, 1, 10),
    ).subscription

    with time_machine.travel(date(2026, 4, 2), tick=False):
        first = tasks.mrr_refresh()
        once = rows()
        again = tasks.mrr_refresh()

    assert first["full"] is True and again["full"] is False  # the day's first run rebuilds all
    assert rows() == once
    assert once[0] == [(subscription.pk, date(2026, 1, 10), None, 30)]
    # January (new), February and March are closed months, stored once each
    assert [(m, c, end) for m, c, end, _new in once[1]] == [
        (date(2026, 1, 1), "EUR", 30),
        (date(2026, 2, 1), "EUR", 30),
        (date(2026, 3, 1), "EUR", 30),
    ]


def test_a_change_since_the_last_run_is_picked_up(demo_catalog):
    with time_machine.travel(datetime(2026, 1, 10, 9, tzinfo=UTC), tick=False):
        subscription = services.subscription_create(
            customer=CustomerFactory(),
            plan=monthly_plan("30.00", code="job"),
            start_date=date(2026, 1, 10),
            today=date(2026, 1, 10),
        ).subscription
    with time_machine.travel(datetime(2026, 4, 2, 1, tzinfo=UTC), tick=False):
        tasks.mrr_refresh()
    with time_machine.travel(datetime(2026, 4, 2, 10, tzinfo=UTC), tick=False):
        services.subscription_cancel(subscription=subscription, today=date(2026, 4, 2))

    with time_machine.travel(datetime(2026, 4, 2, 12, tzinfo=UTC), tick=False):
        report = tasks.mrr_refresh()

    # Only the cancelled subscription is priced again; no closed month moved (it ends on the
    # 10th, at its period end, in the current month)
    assert report == {"subscriptions": 1, "segments": 1, "months": 0, "full": False}
    [(start, end)] = MrrSegment.objects.values_list("start", "end")
    assert (start, end) == (date(2026, 1, 10), date(2026, 4, 10))


def test_the_command_rebuilds_everything(demo_catalog):
    services.subscription_create(
        customer=CustomerFactory(),
        plan=monthly_plan("30.00", code="job"),
        start_date=date(2026, 1, 10),
        today=date(2026, 1, 10),
    )
    out = StringIO()

    call_command("mrr_refresh", "--full", stdout=out)

    assert "1 subscriptions, 1 segments" in out.getvalue()
    assert MrrSegment.objects.count() == 1
