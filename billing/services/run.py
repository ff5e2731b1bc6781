"""The billing run: renewals, invoicing and numbering for the subscriptions due on a date.

Work is cut in chunks of subscriptions. A chunk is one transaction: lock the chunk's
subscriptions (skipping those another worker holds), load everything they need in a fixed
number of queries, advance them (renewals, ends), derive what is due from their timelines,
subtract what was invoiced, and write in bulk the subscriptions, then the new documents (as
drafts, dated) with their lines and taxes and a claim for their numbers; commit. Killed before
the commit, a chunk leaves nothing; run again, it bills nothing twice (each line's charge key
is unique per subscription). Then, out of that transaction, the numbers: a short transaction
under the series' lock gives the claim its block, and another sets them on the documents
(billing/services/numbering.py). A run finishes, at its start and its end, the claims a
stopped process left (`numbering_recover`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine, NumberClaim
from billing.services import chunk_io, numbering
from billing.services.closing import books_open_day
from billing.services.documents import (
    Document,
    billing_key,
    build_credit_note,
    build_invoice,
    save_documents,
)
from billing.services.emails import send_pending_emails
from billing.services.settlement import settle_credited_invoices
from catalog.tax import TaxUndetermined
from core.periods import period_at, period_index
from subscriptions import timeline
from subscriptions.charges import (
    PriceBook,
    SubscriptionContext,
    due_charges,
)
from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.services.renewals import Advance, plan_advance

logger = logging.getLogger(__name__)
Status = Subscription.Status


@dataclass
class RunReport:
    day: date
    subscriptions: int = 0
    skipped_locked: int = 0
    # Of those, billed by the retry at the end of the run (waiting for their lock).
    retried_locked: int = 0
    skipped_ids: list[int] = field(default_factory=list, repr=False)
    # Subscriptions not invoiced because the tax of a line cannot be determined (by id, with
    # what to fix: billing-rules §10): retried by every run until it is fixed.
    refused: dict[int, str] = field(default_factory=dict)
    invoices: int = 0
    credit_notes: int = 0
    lines: int = 0
    renewals: int = 0
    # Subscriptions left for the next pass: a period's usage is due and its window still open.
    waiting_usage: int = 0
    documents: list[Document] = field(default_factory=list, repr=False)
    # Seconds spent per phase (load, compute, writes, commit), for the benchmark.
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float), repr=False)

    def add(self, other: RunReport) -> None:
        for phase_name, seconds in other.timings.items():
            self.timings[phase_name] += seconds
        self.skipped_ids.extend(other.skipped_ids)
        self.refused.update(other.refused)
        for name in (
            "subscriptions",
            "skipped_locked",
            "retried_locked",
            "invoices",
            "credit_notes",
            "lines",
            "renewals",
            "waiting_usage",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def due_subscriptions(*, day: date) -> QuerySet[Subscription]:
    """Subscriptions with something to do on `day`: a period or a charge to invoice, a renewal,
    a start, a trial end, a cancellation taking effect."""
    return Subscription.objects.filter(
        Q(next_billing_date__lte=day)
        | Q(renewal_date__lte=day, status__in=Subscription.LIVE_STATUSES)
        | Q(status=Status.SCHEDULED, start_date__lte=day)
        | Q(status=Status.TRIAL, trial_end__lte=day)
        | Q(status=Status.PENDING_CANCELLATION, end_date__lte=day)
    ).filter(invoicing_held=False)  # suspended with invoicing held (dunning): it waits


def due_chunks(*, day: date, chunk_size: int) -> Iterator[list[int]]:
    """Ids of the due subscriptions in chunks, read page by page (memory stays flat)."""
    last = 0
    while True:
        ids = list(
            due_subscriptions(day=day)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _next_billing_date(
    context: SubscriptionContext, subscription: Subscription, day: date
) -> date | None:
    """The start of the first period after `day` that still runs, or the date of a one-off change
    before it (None: nothing more to bill)."""
    if subscription.anchor_date is None:
        return None
    if day < subscription.anchor_date:
        return subscription.anchor_date
    period = context.billing_period
    start = period_at(
        subscription.anchor_date, period, period_index(subscription.anchor_date, period, day) + 1
    ).start
    # A one-off change dated after `day` and before that start (recorded ahead of a run for an
    # earlier day: a catch-up, a history replayed) is billed on its own date, not skipped.
    start = min([start, *_one_offs_between(context, day, start)])
    # The advance has just set the end date from the timeline (a cancellation, an end).
    if subscription.end_date is not None and subscription.end_date <= start:
        # The last period's usage is billed in arrears, on the end date.
        if subscription.end_date > day and _charges_usage(context, subscription.end_date):
            return subscription.end_date
        return None
    return start


def _one_offs_between(context: SubscriptionContext, day: date, start: date) -> list[date]:
    return [
        e.effective_date
        for e in context.events
        if e.revoked_by_id is None
        and day < e.effective_date < start
        and (timeline.is_immediate(e) or e.kind == SubscriptionEvent.Kind.CREDITS_TOPPED_UP)
    ]


def _charges_usage(context: SubscriptionContext, end: date) -> bool:
    state = context.fold.state_on(end - timedelta(days=1))
    return state.plan_id is not None and bool(context.book.usage_charges(state.plan_id))


def _lock_and_load(
    subscription_ids: Sequence[int], book: PriceBook, wait: bool = False
) -> list[Subscription]:
    """Lock the chunk's subscriptions, skipping those another worker holds, and load them with
    what an invoice prints of their customer (in the customer's language); plans and terms come
    from the price book, loaded once."""
    return chunk_io.lock_subscriptions(subscription_ids, book, wait)


def billing_chunk(
    *,
    subscription_ids: Sequence[int],
    day: date,
    book: PriceBook | None = None,
    dry_run: bool = False,
    send_emails: bool | None = None,
    wait: bool = False,
) -> RunReport:
    """Advance and invoice these subscriptions for `day`. Safe to run twice, or in two workers
    at once: a subscription locked by another session is skipped (`report.skipped_ids`) and
    retried by the end of the run; with `wait`, its lock is waited for instead."""
    with chunk_io.gc_paused():
        return _billing_chunk(
            subscription_ids=subscription_ids,
            day=day,
            book=book or PriceBook.load_all(),
            dry_run=dry_run,
            send_emails=send_emails,
            wait=wait,
        )


class _Laps:
    """The time a chunk spends in each phase, added to the report (the benchmark's breakdown)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] += now - self.mark
        self.mark = now


def _billing_chunk(
    *,
    subscription_ids: Sequence[int],
    day: date,
    book: PriceBook,
    dry_run: bool,
    send_emails: bool | None,
    wait: bool = False,
) -> RunReport:
    report = RunReport(day)
    laps = _Laps(report.timings)
    with transaction.atomic():
        subscriptions = _lock(subscription_ids, book=book, wait=wait, report=report)
        if not subscriptions:
            return report
        chunk = chunk_io.load_chunk(subscriptions, day=day, book=book)
        laps.lap("load")
        advances, documents = _advance_and_bill(subscriptions, chunk, day=day, report=report)
        laps.lap("compute")
        if dry_run:
            return report  # the same computation, nothing written
        chunk_io.write_chunk(advances)
        laps.lap("write subscriptions")
        claims = _write_documents(documents, day=day, send_emails=send_emails)
        laps.lap("write invoices")
    laps.lap("commit")
    # Inside a caller's transaction (a sale billed as it is confirmed), these are savepoints
    # and the lock is held to its commit: a few documents, as issue_documents.
    numbering.issue_claimed(claims, [d.invoice for d in documents], timings=report.timings)
    laps.lap("numbering")
    if documents and (settings.INVOICE_EMAILS if send_emails is None else send_emails):
        transaction.on_commit(send_pending_emails)  # at once, outside a transaction
    return report


def _lock(
    subscription_ids: Sequence[int], *, book: PriceBook, wait: bool, report: RunReport
) -> list[Subscription]:
    """The chunk's subscriptions, locked; those another session holds are skipped (unless
    `wait`) and reported, for the retry at the end of the run."""
    subscriptions = _lock_and_load(subscription_ids, book, wait)
    report.skipped_locked = len(subscription_ids) - len(subscriptions)
    if report.skipped_locked:
        locked = {s.pk for s in subscriptions}
        report.skipped_ids = [pk for pk in subscription_ids if pk not in locked]
    # Held by dunning since the chunk was listed (it waits until reactivated): left as it is.
    subscriptions = [s for s in subscriptions if not s.invoicing_held]
    report.subscriptions = len(subscriptions)
    return subscriptions


def _advance_and_bill(
    subscriptions: Sequence[Subscription], chunk: chunk_io.Chunk, *, day: date, report: RunReport
) -> tuple[list[Advance], list[Document]]:
    """Plan each subscription's advance to `day` (renewals, ends) and the documents of what is
    due since its next billing date, in memory."""
    advances = []
    documents: list[Document] = []
    now = timezone.now()  # the chunk's rows are stamped with its one transaction's time
    with translation.override(None):  # whatever the loop switches to, restored after it
        locale = language = None
        for subscription in subscriptions:
            context = chunk.contexts[subscription.pk]
            advance = plan_advance(
                subscription,
                events=context.events,
                seats=chunk.seats[subscription.pk],
                today=day,
                book=context.book,
                fold=context.fold,
                now=now,
            )
            advances.append(advance)
            report.renewals += sum(
                1 for e in advance.new_events if e.kind == SubscriptionEvent.Kind.RENEWED
            )
            since = subscription.next_billing_date
            if since is None or since > day:
                continue
            if subscription.billed_customer.locale != locale:
                # Lines are written in the language of the party billed (switched only when
                # it changes): the customer's, or its partner's.
                locale = subscription.billed_customer.locale
                translation.activate(locale)
                language = translation.get_language()
            if advance.new_events:
                # Charges derive from the timeline with the renewals just planned (folded
                # again; otherwise the advance's fold serves the billing too).
                context.events = advance.events
            context.language = language
            try:
                owed = _documents_for(
                    subscription, context, chunk.invoiced[subscription.pk], since=since, day=day
                )
            except TaxUndetermined as refusal:
                # Never issued at a guessed 0 %: left due (its billing date unchanged), named in
                # the report and the log, and billed by the first run after the setting is fixed.
                report.refused[subscription.pk] = refusal.message
                logger.warning("subscription %s not invoiced: %s", subscription.pk, refusal.message)
                continue
            if context.usage_waiting:
                # A period's usage is due and its window still open (subscriptions/usage.py):
                # the next pass bills it with the period's charges, on one invoice.
                report.waiting_usage += 1
                continue
            documents.extend(owed)
            subscription.next_billing_date = _next_billing_date(context, subscription, day)
    for document in documents:
        if document.invoice.kind == Invoice.Kind.CREDIT_NOTE:
            report.credit_notes += 1
        else:
            report.invoices += 1
        report.lines += len(document.lines)
    report.documents = documents
    return advances, documents


def _documents_for(
    subscription: Subscription,
    context: SubscriptionContext,
    invoiced: dict[str, list[InvoiceLine]],
    *,
    since: date,
    day: date,
) -> list[Document]:
    """The invoices of what is due in [since, day] and not invoiced yet, and the credit notes of
    what was invoiced and is no longer due."""
    due = [c for c in due_charges(context, up_to=day, since=since) if c.charge_date >= since]
    return [
        *_invoices_for(subscription, due, invoiced, context.book.memo),
        *_credits_for(subscription, due, invoiced, since, day),
    ]


def _write_documents(
    documents: list[Document], *, day: date, send_emails: bool | None
) -> list[NumberClaim]:
    """The documents as drafts dated for issue, and their number claims."""
    if settings.INVOICE_EMAILS if send_emails is None else send_emails:
        for document in documents:  # the outbox, written with the documents
            document.invoice.email_pending = True  # sent once issued (never a draft)
    # A run for a day of a closed month (a catch-up) issues on the first open day: corrections
    # go to the open month (billing/services/closing.py).
    return save_documents(
        documents,
        issue_on=books_open_day(day),
        before_issue=lambda: _settle_credited(documents),
        claim=True,
    )


def _invoices_for(
    subscription: Subscription, due, invoiced: dict[str, list[InvoiceLine]], memo: dict
) -> list[Document]:
    """What is due and not yet invoiced, one invoice per billing key."""
    missing = defaultdict(list)
    issues: dict[str, int] = {}
    for charge in due:
        lines = invoiced.get(charge.key, [])
        if any(_covers(line) for line in lines):
            continue
        missing[billing_key(charge)].append(charge)
        issues[charge.key] = len(lines) + 1  # a reissue after a credit note: "#2", "#3"…
    return [
        build_invoice(subscription, charges, issues, memo)
        for _key, charges in sorted(missing.items())
    ]


def _covers(line: InvoiceLine) -> bool:
    """An invoiced line settles its charge unless a credit note reversed it for reissue."""
    reversal = getattr(line, "reversed_by", None)
    return reversal is None or ":reissue:" not in reversal.invoice.billing_key


def _credits_for(
    subscription: Subscription, due, invoiced: dict[str, list[InvoiceLine]], since: date, day: date
) -> list[Document]:
    """Invoiced charges that are no longer due (a penalty whose cancellation was undone) are
    credited back, one credit note per invoice they were on."""
    due_keys = {c.key for c in due}
    stale = defaultdict(list)
    for charge, lines in invoiced.items():
        if charge in due_keys:
            continue
        for line in lines:
            if (
                getattr(line, "reversed_by", None) is None
                and line.charge_date is not None  # read with charge_date >= since: never None
                and since <= line.charge_date <= day
            ):
                stale[line.invoice_id].append(line)
    if not stale:
        return []
    originals = Invoice.objects.in_bulk(list(stale))
    return [
        build_credit_note(
            originals[invoice_id],
            lines,
            reason=_no_longer_due_reason(originals[invoice_id].language),
            reissue=False,
        )
        for invoice_id, lines in sorted(stale.items())
    ]


def _no_longer_due_reason(language: str) -> str:
    """Printed on the credit note: in the language of the invoice it corrects."""
    with translation.override(language):
        return _("These charges are no longer due (the change that caused them was undone).")


def _settle_credited(documents: Sequence[Document]) -> None:
    """An invoice entirely reversed by credit notes is cancelled by them."""
    settle_credited_invoices(
        invoice_ids=[
            d.invoice.credited_invoice_id
            for d in documents
            if d.invoice.kind == Invoice.Kind.CREDIT_NOTE
        ]
    )


def billing_run(
    *,
    day: date,
    chunk_size: int | None = None,
    send_emails: bool | None = None,
    processes: int | None = None,
) -> RunReport:
    """Every chunk due on `day`, from this process (run_billing, the benchmark, tests).

    With several `processes` (default: BILLING_RUN_PROCESSES, the CPUs this process may use),
    the chunks are billed by as many forked processes, each on its own database connection:
    threads would share one interpreter lock, and the computing is Python. Chunks are as
    independent as in several Celery workers (row locks, one transaction each). In this process
    on SQLite, inside a transaction (whose rows other connections cannot see), from a process
    that runs other threads (fork copies only this one: a lock another thread holds would stay
    held in the child), and when there is only one chunk."""
    chunk_size = chunk_size or settings.BILLING_CHUNK_SIZE
    processes = processes or settings.BILLING_RUN_PROCESSES
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        processes = 1
    elif processes > 1 and threading.active_count() > 1:
        logger.info("billing run in one process: this process runs other threads")
        processes = 1
    numbering.numbering_recover()  # what a process stopped in its numbers left
    book = PriceBook.load_all()
    report = RunReport(day)
    chunks = due_chunks(day=day, chunk_size=chunk_size)
    if processes > 1:
        # Two chunks at least, or the fork would cost more than it saves.
        first = list(itertools.islice(chunks, 2))
        chunks = itertools.chain(first, chunks)
        if len(first) < 2:
            processes = 1
    if processes == 1:
        for ids in chunks:
            report.add(
                billing_chunk(subscription_ids=ids, day=day, book=book, send_emails=send_emails)
            )
    else:
        _in_processes(processes, chunks, report, day=day, book=book, send_emails=send_emails)
    if report.skipped_ids:
        # Rows another session held (a change being made, a reminder being recorded): billed
        # now, waiting for their locks, so that nothing due today is left for tomorrow.
        retry = billing_chunk(
            subscription_ids=report.skipped_ids,
            day=day,
            book=book,
            send_emails=send_emails,
            wait=True,
        )
        retry.retried_locked, retry.skipped_locked = retry.subscriptions, 0
        report.add(retry)
    numbering.numbering_recover()  # a process of this run stopped in its numbers
    level = logging.INFO if report.subscriptions else logging.DEBUG
    logger.log(level, "billing run for %s: %s", day, report)
    return report


class BillingProcessFailed(RuntimeError):
    """A process of a billing run failed or was killed: the run stopped, the chunks committed
    stay billed, and the next run bills the rest (nothing twice)."""


# How long a process, or the run feeding them, waits on the queue before looking again whether
# the run stopped (an error, a process killed).
_POLL_SECONDS = 0.2


def _in_processes(
    processes: int,
    chunks: Iterator[list[int]],
    report: RunReport,
    *,
    day: date,
    book: PriceBook,
    send_emails: bool | None,
) -> None:
    """Bill `chunks` in `processes` forked processes, adding up their reports into `report`.

    Forked, the processes start with the price book loaded and the settings read. The queue
    holds at most one chunk's ids per process (memory stays flat); each process sends back one
    report, counts and timings without the documents. The first error stops the run (the other
    processes take no more chunks; chunks already committed stay billed, like a worker that
    dies) and is raised here with the failed process's traceback; a process killed by a signal
    is an error too."""
    context = multiprocessing.get_context("fork")
    work = context.Queue(maxsize=processes)
    stop = context.Event()
    # Forked, a child would share the parent's database socket: each opens its own.
    connections.close_all()
    pool: list = []
    try:
        for number in range(processes):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_bill_chunks,
                name=f"billing-{number + 1}",
                args=(work, stop, sender),
                kwargs={"day": day, "book": book, "send_emails": send_emails},
                daemon=True,
            )
            child.start()
            sender.close()  # the child's end only: reading fails as soon as the child dies
            pool.append((child, receiver))
        for ids in itertools.chain(chunks, [None] * processes):  # then one end mark each
            if not _hand_over(ids, work, stop, pool):
                break
    except BaseException:
        stop.set()
        raise
    finally:
        failures = _reap(pool, stop, report)
        _close(work)
    if failures:
        raise BillingProcessFailed(
            "the billing run stopped (chunks committed stay billed; run it again to bill the "
            "rest):\n" + "\n".join(failures)
        )


def _hand_over(ids: list[int] | None, work, stop, pool) -> bool:
    """Queue `ids` for the processes, unless the run has stopped: a process failed, or one
    ended before its end mark (killed)."""
    while not stop.is_set():
        if any(child.exitcode not in (None, 0) for child, _ in pool):
            stop.set()
            break
        try:
            work.put(ids, timeout=_POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False


def _bill_chunks(work, stop, results, *, day: date, book: PriceBook, send_emails) -> None:
    """A billing process: whole chunks from `work` until its end mark or a stop, then its
    report (or its error) sent to the run."""
    report = RunReport(day)
    parent = os.getppid()
    try:
        while not stop.is_set():
            try:
                ids = work.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # the run was killed: no one is left to hand over chunks
                continue
            if ids is None:
                break
            report.add(
                billing_chunk(subscription_ids=ids, day=day, book=book, send_emails=send_emails)
            )
        outcome: tuple[str, object] = ("report", report)
    except BaseException:
        stop.set()  # the others take no more chunks
        outcome = ("error", traceback.format_exc())
    finally:
        connections.close_all()
    try:  # pickled as send() would, so that a report that does not pickle is an error too
        message = pickle.dumps(outcome)
    except Exception:
        message = pickle.dumps(("error", traceback.format_exc()))
    with contextlib.suppress(OSError):  # the run is gone
        results.send_bytes(message)
    results.close()


def _reap(pool, stop, report: RunReport) -> list[str]:
    """Wait for the billing processes and add up their reports; what went wrong in them."""
    failures = []
    for child, receiver in pool:
        while not receiver.poll(_POLL_SECONDS) and child.exitcode is None:
            if any(other.exitcode not in (None, 0) for other, _ in pool):
                stop.set()  # one was killed: the others stop after their chunk
        try:
            kind, payload = receiver.recv()
        except EOFError:  # ended without a word
            kind, payload = "error", None
        receiver.close()
        child.join()
        if kind == "report" and child.exitcode == 0:
            report.add(payload)
            continue
        stop.set()
        where = f"process {child.name} (pid {child.pid})"
        if payload:
            failures.append(f"{where} failed:\n{payload}")
        elif child.exitcode is not None and child.exitcode < 0:
            failures.append(f"{where} was killed by {signal.Signals(-child.exitcode).name}")
        else:
            failures.append(f"{where} ended with exit code {child.exitcode} and no report")
    return failures


def _close(work) -> None:
    """Empty the queue of what no process took (after a stop), so that its feeding thread ends
    and the next run in this process may fork again."""
    try:
        while True:
            work.get(timeout=_POLL_SECONDS / 4)
    except queue.Empty:
        pass
    work.close()
    work.join_thread()


def subscription_invoice_now(*, subscription: Subscription, day: date) -> list[Invoice]:
    """Bill this subscription for `day` now, in the caller's transaction, and return the
    invoices issued: a sale whose start is in the past is invoiced as it is confirmed, and the
    confirmation links to its invoices (the task queued on commit then finds nothing left)."""
    report = billing_chunk(subscription_ids=[subscription.pk], day=day)
    return [d.invoice for d in report.documents if d.invoice.kind == Invoice.Kind.INVOICE]


def invoice_preview(*, subscription: Subscription, day: date) -> list[Document]:
    """What invoicing this subscription on `day` would issue, without saving anything."""
    return billing_chunk(subscription_ids=[subscription.pk], day=day, dry_run=True).documents
