"""The billing tasks: a run's chunks share their worker's price book, a new run loads a new one;
the email tasks only call their service."""

from datetime import date

import pytest

from billing import services, tasks
from billing.models import Invoice
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db
DAY = date(2026, 4, 1)


def test_the_chunks_of_a_run_share_a_price_book_and_a_new_run_loads_its_own(
    office, seats, django_assert_num_queries
):
    run = tasks.new_run_id(DAY)
    assert run.startswith("2026-04-01:")
    first = tasks._book_for(run)
    # Loaded once: the same run asks again without a query.
    with django_assert_num_queries(0):
        assert tasks._book_for(run) is first
    other = tasks._book_for(tasks.new_run_id(DAY))
    assert other is not first
    assert tasks._book_for(None) is None  # a chunk queued without a run loads its own


def test_chunks_of_one_run_bill_like_the_whole_run(office, seats):
    run = tasks.new_run_id(DAY)
    results = [
        tasks.run_chunk([subscription.pk], DAY.isoformat(), run)
        for subscription in Subscription.objects.order_by("pk")
    ]
    assert [r["invoices"] for r in results] == [4, 2]  # office monthly, seats quarterly
    assert Invoice.objects.count() == 6
    # Run again, in the same run or a new one: nothing more.
    assert tasks.run_chunk([office.pk, seats.pk], DAY.isoformat(), run)["invoices"] == 0
    assert tasks.run_chunk([office.pk, seats.pk], DAY.isoformat())["invoices"] == 0
    assert Invoice.objects.count() == 6


def test_the_daily_task_fans_out_its_chunks_with_one_run(office, seats, monkeypatch):
    queued = []
    real = tasks.run_chunk.run

    def spy(subscription_ids, day, run=None):
        queued.append(run)
        return real(subscription_ids, day, run)

    monkeypatch.setattr(tasks.run_chunk, "run", spy)
    monkeypatch.setattr(tasks.settings, "BILLING_CHUNK_SIZE", 1)
    result = tasks.daily(DAY.isoformat())
    assert result["chunks"] == 2
    assert len(queued) == 2 and queued[0] == queued[1] and queued[0].startswith("2026-04-01:")
    assert Invoice.objects.count() == 6


@pytest.mark.parametrize("job", ["daily", "sweep"])
def test_the_daily_jobs_finish_the_numbers_a_stopped_worker_left(office, seats, monkeypatch, job):
    """A worker killed between its chunk's commit and its numbers: the day's jobs give its
    drafts their numbers (billing/services/numbering.py)."""
    from billing.services import numbering

    monkeypatch.setattr(numbering, "issue_claimed", lambda *args, **kwargs: None)
    tasks.run_chunk([office.pk, seats.pk], DAY.isoformat())
    assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}
    monkeypatch.undo()

    getattr(tasks, job)(DAY.isoformat())

    assert list(Invoice.objects.order_by("sequence").values_list("sequence", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert set(Invoice.objects.values_list("status", flat=True)) == {"issued"}


@pytest.mark.parametrize(
    ("task", "service", "argument"),
    [
        (tasks.reminder_send, "reminder_email_send", "reminder_id"),
        (tasks.notice_send, "notice_email_send", "notice_id"),
    ],
)
def test_the_reminder_email_tasks_call_their_service(task, service, argument, monkeypatch):
    calls = []
    monkeypatch.setattr(services, service, lambda **kwargs: calls.append(kwargs))
    task.delay(7)  # eager in the tests: run in this process, through Celery's call path
    assert calls == [{argument: 7}]
