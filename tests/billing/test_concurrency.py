"""Real concurrency on PostgreSQL: two runs at once, a real Celery worker, a killed worker.

Whatever the interleaving, each charge is invoiced once and invoice numbers have no gap.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from billing.models import Invoice, InvoiceLine, InvoiceSequence
from billing.services import billing_run
from billing.services.run import BillingProcessFailed
from catalog.models import Plan, SeatType
from demo.catalog import seed_catalog
from subscriptions import services
from subscriptions.models import Subscription
from tests.concurrency import postgresql_only, run_together
from tests.subscriptions.factories import CustomerFactory

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 4, 1)


def make_subscriptions(count: int) -> int:
    """`count` subscriptions over several plans from 2026-01-01; returns the invoices due on DAY."""
    seed_catalog()
    office = Plan.objects.get(code="office-24m")  # monthly: 4 invoices by 2026-04-01
    seats = Plan.objects.get(code="device-seats")  # quarterly: 2 invoices by 2026-04-01
    gateway = SeatType.objects.get(code="gateway")
    expected = 0
    for n in range(count):
        if n % 2:
            services.subscription_create(
                customer=CustomerFactory(),
                plan=office,
                start_date=date(2026, 1, 1),
                today=date(2026, 1, 1),
            )
            expected += 4
        else:
            services.subscription_create(
                customer=CustomerFactory(),
                plan=seats,
                start_date=date(2026, 1, 1),
                today=date(2026, 1, 1),
                seats={gateway: 1 + n % 7},
                service_period_years=1,
            )
            expected += 2
    return expected


def assert_each_charge_once_and_no_gap(expected: int):
    assert Invoice.objects.count() == expected
    assert (
        InvoiceLine.objects.values("subscription", "charge_key").distinct().count()
        == InvoiceLine.objects.count()
    )
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, expected + 1)), "numbers must be gapless"
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == expected


def test_two_runs_at_once_invoice_each_charge_once_with_gapless_numbers():
    expected = make_subscriptions(40)
    reports, errors = run_together(
        lambda: billing_run(day=DAY, chunk_size=5), lambda: billing_run(day=DAY, chunk_size=5)
    )
    assert errors == [None, None]
    assert sum(r.invoices for r in reports) == expected
    assert_each_charge_once_and_no_gap(expected)
    # And once more, both again: nothing new.
    reports, errors = run_together(lambda: billing_run(day=DAY), lambda: billing_run(day=DAY))
    assert errors == [None, None] and sum(r.invoices for r in reports) == 0
    assert_each_charge_once_and_no_gap(expected)


# Each child waits for the start file, so that the four runs overlap, then runs the whole day.
FOUR_RUNS_CHILD = """
import os, time
import django
django.setup()
from datetime import date
from billing.services import billing_run
while not os.path.exists(os.environ["START_FILE"]):
    time.sleep(0.01)
report = billing_run(day=date(2026, 4, 1), chunk_size=3)
print(report.invoices)
"""


def test_four_processes_at_once_number_gapless_and_in_issue_order(tmp_path):
    """Four runs of the same day in four processes (as four machines would): each charge
    invoiced once, numbers gapless, and in the order of issue (a later number is never issued
    before an earlier one: the issue time is read once the block of numbers is held)."""
    expected = make_subscriptions(48)
    start = tmp_path / "start"
    env = {**_child_env(), "START_FILE": str(start), "DJANGO_SETTINGS_MODULE": "config.settings"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", FOUR_RUNS_CHILD],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(3)  # the children's Django is set up meanwhile
    start.touch()
    outputs = [child.communicate(timeout=240) for child in children]
    assert [child.returncode for child in children] == [0] * 4, [err for _, err in outputs]
    assert sum(int(out.split()[-1]) for out, _ in outputs) == expected
    assert_each_charge_once_and_no_gap(expected)
    issued = list(Invoice.objects.order_by("sequence").values_list("issued_at", flat=True))
    assert issued == sorted(issued), "numbers must follow the order of issue"


def test_a_run_interrupted_in_its_third_chunk_is_completed_by_the_next(monkeypatch):
    expected = make_subscriptions(12)
    from billing.services import run as run_module

    real_save = run_module.save_documents
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        real_save(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk's invoices are written, not committed
            raise SystemExit("worker killed")

    monkeypatch.setattr(run_module, "save_documents", crash_on_third)
    with pytest.raises(SystemExit):
        billing_run(day=DAY, chunk_size=4, processes=1)  # the calls counted in this process
    done_before = Invoice.objects.count()
    assert 0 < done_before < expected  # two chunks landed, the third left nothing behind
    monkeypatch.setattr(run_module, "save_documents", real_save)
    billing_run(day=DAY, chunk_size=4, processes=1)
    assert_each_charge_once_and_no_gap(expected)


def test_a_run_in_three_processes_invoices_each_charge_once_with_gapless_numbers():
    expected = make_subscriptions(30)
    report = billing_run(day=DAY, chunk_size=2, processes=3)
    assert report.subscriptions == 30 and report.invoices == expected
    assert report.timings["commit"] > 0  # the processes' timings are added up too
    assert_each_charge_once_and_no_gap(expected)
    assert billing_run(day=DAY, chunk_size=2, processes=3).invoices == 0


def _third_chunk(chunk_size: int) -> int:
    """The first subscription of the run's third chunk (the chunks are in id order)."""
    return Subscription.objects.order_by("pk").values_list("pk", flat=True)[2 * chunk_size]


def test_an_error_in_a_process_stops_the_run_and_the_next_run_completes_it(monkeypatch):
    expected = make_subscriptions(12)
    from billing.services import run as run_module

    real_chunk = run_module.billing_chunk
    failing = _third_chunk(2)

    def fail_on_third(**kwargs):
        if failing in kwargs["subscription_ids"]:
            raise RuntimeError("chunk failed")
        return real_chunk(**kwargs)

    monkeypatch.setattr(run_module, "billing_chunk", fail_on_third)  # inherited by the fork
    with pytest.raises(BillingProcessFailed, match=r"(?s)Traceback.*RuntimeError: chunk failed"):
        billing_run(day=DAY, chunk_size=2, processes=2)
    assert 0 < Invoice.objects.count() < expected
    monkeypatch.setattr(run_module, "billing_chunk", real_chunk)
    billing_run(day=DAY, chunk_size=2, processes=2)
    assert_each_charge_once_and_no_gap(expected)


def test_a_process_killed_mid_chunk_stops_the_run_and_the_next_run_completes_it(monkeypatch):
    """SIGKILL (the OOM killer) in a process holding its third chunk's locks, its transaction
    open: never ignored, and the chunk is left whole for the next run."""
    expected = make_subscriptions(12)
    from billing.services import run as run_module

    real_lock = run_module._lock_and_load
    doomed, run_pid = _third_chunk(2), os.getpid()

    def lock_then_die(subscription_ids, *args, **kwargs):
        locked = real_lock(subscription_ids, *args, **kwargs)
        if doomed in subscription_ids and os.getpid() != run_pid:
            os.kill(os.getpid(), signal.SIGKILL)
        return locked

    monkeypatch.setattr(run_module, "_lock_and_load", lock_then_die)
    with pytest.raises(BillingProcessFailed, match="killed by SIGKILL"):
        billing_run(day=DAY, chunk_size=2, processes=2)
    billed = Invoice.objects.count()
    assert 0 < billed < expected
    assert not Invoice.objects.filter(lines__subscription_id=doomed).exists()
    monkeypatch.setattr(run_module, "_lock_and_load", real_lock)
    assert billing_run(day=DAY, chunk_size=2, processes=2).invoices == expected - billed
    assert_each_charge_once_and_no_gap(expected)


def test_a_run_with_one_chunk_or_inside_a_transaction_stays_in_this_process(monkeypatch):
    import multiprocessing

    expected = make_subscriptions(4)

    def no_fork(*args, **kwargs):
        raise AssertionError("forked")

    monkeypatch.setattr(multiprocessing, "get_context", no_fork)
    with transaction.atomic():
        assert billing_run(day=DAY, chunk_size=2, processes=2).invoices == expected
        transaction.set_rollback(True)
    assert billing_run(day=DAY, chunk_size=4, processes=2).invoices == expected
    assert_each_charge_once_and_no_gap(expected)


def _child_env() -> dict:
    database = connection.settings_dict
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        DEBUG="true",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EMAIL_URL="memorymail://",
        INVOICE_EMAILS="false",
        BILLING_CHUNK_SIZE="5",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_a_worker_killed_mid_run_loses_nothing():
    """run_billing killed (SIGKILL) inside its third chunk of 30: the next run completes it."""
    expected = make_subscriptions(150)
    child = subprocess.run(
        [
            sys.executable,
            "tests/faults/die_in_chunk.py",
            "run_billing",
            "--date",
            DAY.isoformat(),
        ],
        cwd=ROOT,
        env={**_child_env(), "KILL_IN_CHUNK": "3", "BILLING_RUN_PROCESSES": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL
    killed_at = Invoice.objects.count()
    assert 0 < killed_at < expected, "the kill must land in the middle of the run"
    billing_run(day=DAY)
    assert_each_charge_once_and_no_gap(expected)


@pytest.mark.parametrize("kill_at", ["claimed", "numbered"])
def test_a_run_killed_between_its_commit_and_its_numbers_loses_no_number(kill_at):
    """run_billing killed (SIGKILL) in its third chunk of 30 after the chunk committed its
    documents as drafts with their number claim, before the numbers were taken ("claimed") or
    once they were taken and committed but not yet set on the documents ("numbered"). The drafts
    wait for their numbers, nobody may delete or issue them meanwhile, and the next run gives
    them their block first: gapless, each charge once, numbers in the order of issue."""
    from billing.models import NumberClaim
    from billing.services import invoice_issue
    from core.errors import ApplicationError

    expected = make_subscriptions(150)
    child = subprocess.run(
        [sys.executable, "tests/faults/die_in_chunk.py", "run_billing", "--date", DAY.isoformat()],
        cwd=ROOT,
        env={
            **_child_env(),
            "KILL_IN_CHUNK": "3",
            "KILL_AT": kill_at,
            "BILLING_RUN_PROCESSES": "1",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL
    claim = NumberClaim.objects.get(applied_at__isnull=True)
    waiting = Invoice.objects.filter(pk__in=claim.invoice_ids)
    assert waiting.count() == claim.count > 0
    assert all(invoice.being_numbered for invoice in waiting)
    assert (claim.first_number is None) == (kill_at == "claimed")
    issued_before = Invoice.objects.filter(number__isnull=False).count()
    reserved = InvoiceSequence.objects.get(series="F", year=2026).last_number
    assert reserved == issued_before + (claim.count if kill_at == "numbered" else 0)
    with pytest.raises(ApplicationError, match="issuing this draft"):
        invoice_issue(invoice=waiting.first(), day=DAY)

    billing_run(day=DAY)

    assert_each_charge_once_and_no_gap(expected)
    claim.refresh_from_db()
    assert claim.applied_at is not None
    numbers = sorted(
        Invoice.objects.filter(pk__in=claim.invoice_ids).values_list("sequence", flat=True)
    )
    # The stopped chunk's block comes right after the chunks committed before it.
    assert numbers == list(range(issued_before + 1, issued_before + claim.count + 1))
    issued = list(Invoice.objects.order_by("sequence").values_list("issued_at", flat=True))
    assert issued == sorted(issued), "numbers must follow the order of issue"
    assert not NumberClaim.objects.filter(applied_at__isnull=True).exists()


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="a real worker needs the Redis broker",
)
def test_a_real_celery_worker_runs_the_daily_chain():
    from celery import current_app

    from billing.tasks import daily

    expected = make_subscriptions(20)
    current_app.control.purge()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            "celery,billing",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its pool children in its own group, to stop them all
    )
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        daily.apply_async(args=[DAY.isoformat()])
        deadline = time.monotonic() + 90
        while Invoice.objects.count() < expected and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker stopped"
            time.sleep(0.2)
    finally:
        current_app.conf.task_always_eager = eager
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            # A warm shutdown on a loaded machine can outlast the test: the work is checked in
            # the database, so the worker and its pool are killed rather than waited for.
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    assert_each_charge_once_and_no_gap(expected)


def test_a_dead_broker_neither_stops_the_run_nor_loses_an_email(mailoutbox):
    """issue 12, defect 2: with the broker down, `run_billing` stopped after its second chunk
    (the email task's publish raised after the commit) and the invoices were never emailed."""
    from billing.tasks import emails_send

    expected = make_subscriptions(20)
    env = _child_env()
    env.update(INVOICE_EMAILS="true", CELERY_BROKER_URL="redis://127.0.0.1:8029/5")  # nobody
    done = subprocess.run(
        [sys.executable, "manage.py", "run_billing", "--date", DAY.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_each_charge_once_and_no_gap(expected)
    # Every invoice is in the outbox, none was sent
    assert Invoice.objects.filter(email_pending=True, sent_at__isnull=True).count() == expected
    # The beat job sends them once, whatever the number of rounds
    assert emails_send() == expected
    assert len(mailoutbox) == expected
    assert {tuple(m.to) for m in mailoutbox} == set(
        Invoice.objects.values_list("customer__email").distinct()
    )
    assert not Invoice.objects.filter(Q(email_pending=True) | Q(sent_at__isnull=True)).exists()
    assert emails_send() == 0
    assert len(mailoutbox) == expected


def _worker(env: dict, *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="a real worker needs the Redis broker",
)
def test_a_worker_killed_mid_chunk_is_billed_the_same_day_by_the_sweep():
    """issue 12, defect 3: the killed worker's messages stay unacked until the visibility
    timeout (an hour by default); billing.sweep re-queues what is still due the same day."""
    from celery import current_app

    from billing.tasks import daily, sweep

    expected = make_subscriptions(20)  # 4 chunks of 5
    current_app.control.purge()
    with current_app.connection_for_write() as connection:
        # and what a worker killed by an earlier run left taken (kombu's Redis keys)
        connection.default_channel.client.delete("unacked", "unacked_index")
    env = _child_env()
    dying = _worker({**env, "KILL_IN_CHUNK": "2"}, "tests/faults/die_in_chunk.py", "worker")
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    healthy = None
    try:
        daily.apply_async(args=[DAY.isoformat()])
        assert dying.wait(120) == -signal.SIGKILL, "the worker must die in its second chunk"
        billed = Invoice.objects.count()
        assert 0 < billed < expected, "one chunk committed, the killed one and the rest not"
        # A fresh worker, long before the visibility timeout (600 s): the sweep finishes the day
        healthy = _worker(
            env,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            "celery,billing",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        )
        sweep.apply_async(args=[DAY.isoformat()])
        deadline = time.monotonic() + 90
        while Invoice.objects.count() < expected and time.monotonic() < deadline:
            assert healthy.poll() is None, "the worker stopped"
            time.sleep(0.2)
    finally:
        current_app.conf.task_always_eager = eager
        for child in (dying, healthy):
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait(30)
        current_app.control.purge()
    assert_each_charge_once_and_no_gap(expected)


def test_rows_locked_by_another_session_are_billed_by_the_end_of_the_run(monkeypatch):
    """issue 12, defect 4: a row held by another session (a change being made) was skipped and
    billed a day late. The run retries it at its end, waiting for the lock."""
    import threading

    from billing.services import run as run_module
    from subscriptions.models import Subscription

    expected = make_subscriptions(6)
    held = Subscription.objects.order_by("pk").first()
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        from django.db import connections, transaction

        try:
            with transaction.atomic():
                Subscription.objects.select_for_update().get(pk=held.pk)  # as a change does
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(30)
    real_chunk = run_module.billing_chunk

    def chunk(**kwargs):
        if kwargs.get("wait"):
            release.set()  # the retry has begun: the other session finishes its change
        return real_chunk(**kwargs)

    monkeypatch.setattr(run_module, "billing_chunk", chunk)
    try:
        report = billing_run(day=DAY, processes=1)
    finally:
        release.set()
        holder.join(30)
    assert (report.skipped_locked, report.retried_locked) == (1, 1)
    assert_each_charge_once_and_no_gap(expected)


def test_a_row_only_referenced_by_another_session_is_not_skipped():
    """A notice reminder being recorded references its subscription (FOR KEY SHARE): the run,
    which changes no key, locks FOR NO KEY UPDATE and does not skip it."""
    import threading

    from django.db import connections, transaction

    from billing.models import NoticeReminder
    from subscriptions.models import Subscription

    expected = make_subscriptions(4)
    held = Subscription.objects.order_by("pk").first()
    inserted, release = threading.Event(), threading.Event()

    def remind():
        try:
            with transaction.atomic():
                NoticeReminder.objects.create(
                    subscription=held,
                    renewal_date=date(2027, 1, 1),
                    deadline=date(2026, 10, 3),
                    sent_on=date(2026, 9, 3),
                )
                inserted.set()
                release.wait(60)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    holder = threading.Thread(target=remind)
    holder.start()
    try:
        assert inserted.wait(30)
        report = billing_run(day=DAY, processes=1)
    finally:
        release.set()
        holder.join(30)
    assert report.skipped_locked == 0
    assert_each_charge_once_and_no_gap(expected)
