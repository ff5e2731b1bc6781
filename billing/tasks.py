"""Billing jobs (Celery beat, schedule in config/settings.py). Thin: ids in, services called.

Every job is safe to run twice or in two workers at once: the run locks the subscriptions it
bills and keys each line by its charge; reminders are recorded once each; an invoice email is
sent once (its invoice records when). A payment or notice reminder's email has no such mark: a
retry after the mail server took it, or a message delivered twice, sends it again.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from datetime import date

from celery import current_app, group, shared_task
from django.conf import settings
from django.db import transaction

from billing import services
from catalog import services as catalog_services
from config.celery import send
from core import clock
from subscriptions.charges import PriceBook

logger = logging.getLogger(__name__)
BILLING_QUEUE = "billing"
RETRY = {
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 3600,
    "max_retries": 8,
}


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else clock.today()


@shared_task(name="billing.daily")
def daily(day: str | None = None) -> dict:
    """The daily chain: renewals and invoicing fanned out in chunks on the billing queue, then
    (independent) overdue reminders, notice reminders and coupon expiry."""
    run_day = _day(day)
    services.numbering_recover()  # numbers a worker stopped in its numbering left
    chunks = list(services.due_chunks(day=run_day, chunk_size=settings.BILLING_CHUNK_SIZE))
    run = new_run_id(run_day)
    if chunks:
        group(
            run_chunk.s(ids, run_day.isoformat(), run).set(queue=BILLING_QUEUE) for ids in chunks
        ).apply_async()
    overdue.delay(run_day.isoformat())
    notice_reminders.delay(run_day.isoformat())
    coupon_expiry.delay(run_day.isoformat())
    return {"day": run_day.isoformat(), "chunks": len(chunks)}


@shared_task(name="billing.sweep")
def sweep(day: str | None = None) -> int:
    """The daily chain finishes its own work: after the run (beat, BILLING_RUN_HOUR:30 and two
    hours later), what is still due today — the chunk of a worker killed mid-run, a message
    lost with a broker — is queued again, waiting for locks, and the numbers of a worker
    killed between its chunk's commit and its numbers are set. Idempotent: a subscription
    already billed is no longer due. Returns the number of subscriptions re-queued."""
    run_day = _day(day)
    services.numbering_recover()
    queued = 0
    for ids in services.due_chunks(day=run_day, chunk_size=settings.BILLING_CHUNK_SIZE):
        send("billing.run_chunk", ids, run_day.isoformat(), None, True, queue=BILLING_QUEUE)
        queued += len(ids)
    if queued:
        logger.warning("billing sweep for %s: %s subscriptions still due, re-queued", day, queued)
    return queued


def new_run_id(day: date) -> str:
    """Names one billing run, so that its chunks share a price book in each worker."""
    return f"{day.isoformat()}:{uuid.uuid4().hex}"


# The price book of the run a worker is on: its chunks share the catalog rows and the prices
# memoized for the states they meet (loaded by the first chunk, reused by the next ones —
# rebuilding it for every chunk cost a solo worker a third of its time). A new run, a new book:
# catalog changes apply from the next run.
_run_book: dict[str, PriceBook] = {}
_run_book_lock = threading.Lock()


def _book_for(run: str | None) -> PriceBook | None:
    if run is None:
        return None
    with _run_book_lock:
        book = _run_book.get(run)
        if book is None:
            _run_book.clear()
            book = _run_book[run] = PriceBook.load_all()
        return book


@shared_task(name="billing.run_chunk", acks_late=True)
def run_chunk(
    subscription_ids: list[int], day: str, run: str | None = None, wait: bool = False
) -> dict:
    """One chunk of a run. acks_late: a worker killed mid-chunk leaves its message to be
    delivered again (after the broker's visibility timeout), and billing.sweep re-queues what
    is still due. Rows another session held are re-queued once, to wait for their locks."""
    report = services.billing_chunk(
        subscription_ids=subscription_ids, day=_day(day), book=_book_for(run), wait=wait
    )
    if report.skipped_ids and not wait:
        send("billing.run_chunk", report.skipped_ids, day, run, True, queue=BILLING_QUEUE)
    return {
        "subscriptions": report.subscriptions,
        "invoices": report.invoices,
        "lines": report.lines,
        "credit_notes": report.credit_notes,
        "skipped_locked": report.skipped_locked,
        "refused": {str(pk): reason for pk, reason in report.refused.items()},
    }


@shared_task(name="billing.overdue")
def overdue(day: str | None = None) -> dict:
    marked, reminder_ids = services.invoices_mark_overdue(day=_day(day))
    for reminder_id in reminder_ids:
        reminder_send.delay(reminder_id)
    return {"overdue": marked, "reminders": len(reminder_ids)}


@shared_task(name="billing.notice_reminders")
def notice_reminders(day: str | None = None) -> int:
    created = services.notice_reminders_due(day=_day(day))
    for notice in created:
        notice_send.delay(notice.pk)
    return len(created)


@shared_task(name="billing.coupon_expiry")
def coupon_expiry(day: str | None = None) -> int:
    return catalog_services.coupon_campaigns_expire(today=_day(day))


@shared_task(name="billing.invoice_send", **RETRY)
def invoice_send(invoice_id: int) -> bool:
    """Email an issued invoice (with its PDF) to the party billed, once."""
    return services.invoice_email_send(invoice_id=invoice_id)


@shared_task(name="billing.emails_send")
def emails_send() -> int:
    """Send the outboxes of invoice emails and of failed payments' emails, every few minutes,
    right after each run and after each failure."""
    return services.invoice_emails_send() + services.payment_failed_emails_send()


@shared_task(name="billing.einvoices_generate")
def einvoices_generate(limit: int | None = None) -> int:
    """Make the e-invoices still missing, a bounded batch (asked for after each issue, and every
    few minutes by the beat). A full batch asks for the next one at once: a backlog (a run of
    thousands of documents) drains on every free worker rather than a batch per beat tick."""
    limit = limit or settings.EINVOICES_BATCH
    made = services.einvoices_generate_pending(limit=limit)
    if made >= limit and not current_app.conf.task_always_eager:
        send("billing.einvoices_generate", limit)
    return made


@shared_task(name="billing.reminder_send", **RETRY)
def reminder_send(reminder_id: int) -> None:
    """Email a payment reminder to the party billed."""
    services.reminder_email_send(reminder_id=reminder_id)


@shared_task(name="billing.notice_send", **RETRY)
def notice_send(notice_id: int) -> None:
    """Email a notice reminder to the customer and, when it has one, to its partner."""
    services.notice_email_send(notice_id=notice_id)


def run_chain_now(day: date) -> dict:
    """The same chain as `daily`, in this process, for run_billing: catch up or rehearse a date."""
    report = services.billing_run(day=day)
    marked, reminder_ids = services.invoices_mark_overdue(day=day)
    notices = services.notice_reminders_due(day=day)
    expired = catalog_services.coupon_campaigns_expire(today=day)

    def send_all() -> None:
        for reminder_id in reminder_ids:
            reminder_send.delay(reminder_id)
        for notice in notices:
            notice_send.delay(notice.pk)

    transaction.on_commit(send_all)
    return {
        "report": report,
        "overdue": marked,
        "reminders": len(reminder_ids),
        "notices": len(notices),
        "expired_campaigns": expired,
    }
