"""Invoice numbers: sequential and gapless per series and year, given at issue.

Gapless means the number is taken in the transaction that issues the documents: a transaction
that rolls back takes its numbers with it. So the series' row stays locked from taking the
numbers to the commit, and every document of the whole system waits behind it. That step is
therefore kept to what must be in it (`issue_documents`):

1. before the lock: the documents are already written (as drafts), their "issued" events too,
   the seller's copy is read, and every deferred check (foreign keys) is run now rather than at
   the commit: nothing left for the commit but the write-ahead log;
2. the lock: one statement per series takes a block of numbers (an upsert that locks, counts
   and answers the first number);
3. one UPDATE sets the numbers, dates and status of the documents; the caller commits.

Numbers follow the issue order: a block is taken in one statement, and `issued_at` is read
once the block is held, so a later number never carries an earlier issue time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from billing.models import Invoice, InvoiceEvent, InvoiceSequence
from billing.parties import seller_snapshot
from billing.services import chunk_io
from billing.services.closing import books_refuse_closed
from billing.services.einvoices import einvoices_request
from catalog.models import SellerProfile

# Set before the lock: written with the documents (or, for drafts issued later, by an UPDATE
# before the lock). A draft may carry them: only a number makes a document issued.
DATED_FIELDS = ["seller", "series", "year", "issue_date", "due_date"]
# Set under the lock: what the numbers decide. Four narrow columns, so that the UPDATE inside
# the lock carries no JSON (the seller's copy) and stays short whatever the chunk's size.
NUMBER_FIELDS = ["status", "sequence", "number", "issued_at"]
ISSUE_FIELDS = [*DATED_FIELDS, *NUMBER_FIELDS]


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}{year}-{sequence:06d}"


# One round trip that creates the series' row if needed, locks it until the transaction ends,
# and moves it on by the block's size; RETURNING gives the block's last number.
_TABLE = InvoiceSequence._meta.db_table
_TAKE_BLOCK = (
    f"INSERT INTO {_TABLE} (series, year, last_number) VALUES (%s, %s, %s) "  # noqa: S608 - a model's table
    "ON CONFLICT (series, year) DO UPDATE "
    f"SET last_number = {_TABLE}.last_number + EXCLUDED.last_number "
    "RETURNING last_number"
)


def _take_numbers(series: str, year: int, count: int) -> int:
    """Reserve `count` numbers of a series and year; returns the first. Locks the sequence row
    until the caller's transaction ends."""
    with connections[router.db_for_write(InvoiceSequence)].cursor() as cursor:
        cursor.execute(_TAKE_BLOCK, [series, year, count])
        (last,) = cursor.fetchone()
    return last - count + 1


def date_documents(invoices: Sequence[Invoice], *, day: date) -> None:
    """Date documents (invoices and credit notes) for their issue on `day`, in memory: their
    series, year, issue and due dates and the seller's copy, all but the number. Refused
    (ApplicationError) when `day` is in a closed month: every document's date is set here, so
    this is where the monthly close holds (billing/services/closing.py)."""
    books_refuse_closed(day, field="day")
    due = day + timedelta(days=settings.INVOICE_DUE_DAYS)
    # The seller as it is at issue, printed and written into the e-invoice ever after. Read
    # before the lock: it changes only by an operator's edit, never within a run.
    seller = seller_snapshot(SellerProfile.current())
    for invoice in invoices:
        invoice.seller = seller
        invoice.series = Invoice.SERIES[invoice.kind]
        invoice.year = day.year
        invoice.issue_date = day
        # A credit note settles at once: nothing to pay, no later due date.
        invoice.due_date = (
            day if invoice.kind == Invoice.Kind.CREDIT_NOTE else invoice.due_date or due
        )


def take_numbers(
    invoices: Sequence[Invoice], *, day: date, timings: dict[str, float] | None = None
) -> None:
    """Number dated documents (`date_documents`) in id order, in memory: set their number and
    status. Locks each series' sequence row until the transaction ends. `timings` gets the
    seconds spent waiting for the lock ("numbering wait")."""
    by_series: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_series[invoice.series].append(invoice)
    started = time.perf_counter()
    firsts = {
        # Always the same order of series: two issuers never deadlock.
        series: _take_numbers(series, day.year, len(by_series[series]))
        for series in sorted(by_series)
    }
    if timings is not None:
        _add(timings, "numbering wait", time.perf_counter() - started)
    now = timezone.now()  # once the numbers are held: issue times follow the numbers
    for series, first in firsts.items():
        group = sorted(by_series[series], key=lambda invoice: invoice.pk)
        for offset, invoice in enumerate(group):
            invoice.status = Invoice.Status.ISSUED
            invoice.sequence = first + offset
            invoice.number = format_number(series, day.year, first + offset)
            invoice.issued_at = now


def issue_documents(
    invoices: Sequence[Invoice],
    *,
    day: date,
    timings: dict[str, float] | None = None,
    dated: bool = False,
) -> None:
    """Number and issue saved drafts (invoices and credit notes) on `day`, in id order; with
    `dated`, they were saved dated already (`date_documents`). The caller's transaction should
    end right after: the numbering lock is held until it does. `timings` gets "numbering wait"
    and "numbering held" (from the lock to the end of this call; the commit adds to it)."""
    if not invoices:
        return
    if not dated:
        date_documents(invoices, day=day)
        chunk_io.update_rows(invoices, DATED_FIELDS)
    log_issued([invoice.pk for invoice in invoices], day)  # nothing in it needs the number
    _check_deferred(Invoice)
    started = time.perf_counter()
    take_numbers(invoices, day=day, timings=timings)
    chunk_io.update_rows(invoices, NUMBER_FIELDS)  # one statement, whatever the number of documents
    if timings is not None:
        _add(timings, "numbering held", time.perf_counter() - started)
        _add(timings, "numbering blocks", 1)
    einvoices_request()  # after the commit: the e-invoices are made outside this transaction


def _add(timings: dict[str, float], name: str, value: float) -> None:
    timings[name] = timings.get(name, 0.0) + value


def _check_deferred(model: type[Invoice]) -> None:
    """Run now the checks PostgreSQL defers to the commit (the foreign keys of every row this
    transaction wrote), so that the commit, inside the numbering lock, has none left. Checked
    here or at the commit, a broken reference fails the transaction all the same. (SQLite
    locks the whole database for a write transaction: nothing to shorten there.)"""
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        connection.check_constraints()


def log_issued(invoice_ids: list[int], day: date) -> None:
    """The outbox's "issued" events (COPY on PostgreSQL; nothing points to them)."""
    chunk_io.insert_rows(
        [
            chunk_io.new_row(InvoiceEvent, invoice_id=pk, kind=InvoiceEvent.Kind.ISSUED, day=day)
            for pk in invoice_ids
        ],
        ids=False,
    )
