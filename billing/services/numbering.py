"""Invoice numbers: sequential and gapless per series and year, given at issue.

Gapless means a number is never taken without the document it goes to: the series' row is
locked while numbers are taken, and what took them commits before the lock is let go. Two ways
to issue, one series:

- **In the caller's transaction** (`issue_documents`: an operator's draft, a credit note, a
  sale billed as it is confirmed): the documents are written as drafts, their deferred checks
  run, then the lock, one UPDATE of their numbers, and the caller's commit. A few documents:
  the lock is held for a few statements.
- **The billing run** (`claim_numbers`, then `issue_claimed`), whose chunks write a thousand
  documents: held through their UPDATE and the commit of the whole chunk (its write-ahead
  log), the lock would serialize every worker of a cluster. So the chunk commits its documents
  as drafts with a claim per series (a narrow row: the series, the ids); then a transaction of
  its own takes the lock, gives a block of numbers to every claim of the series still waiting,
  oldest first, and commits (a few narrow rows: milliseconds whatever the chunk's size); then,
  outside the lock, the numbers are set on the documents, their "issued" events written and
  the claim marked applied. A process stopped between those steps leaves a claim waiting or
  numbered: the next lock holder of the series numbers it, and `numbering_recover` (each run,
  at its start and end) applies it. Its block is held for it meanwhile, so no number is lost.

Numbers follow the issue order: a block is taken under the lock, and the issue time is read
once it is held, so a later number never carries an earlier issue time.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceEvent, InvoiceSequence, NumberClaim, format_number
from billing.parties import seller_snapshot
from billing.services import chunk_io
from billing.services.closing import books_lock, books_refuse_closed
from billing.services.einvoices import einvoices_request
from catalog.models import SellerProfile

logger = logging.getLogger(__name__)

# Set before the lock: written with the documents (or, for drafts issued later, by an UPDATE
# before the lock). A draft may carry them: only a number makes a document issued. A committed
# draft with a series is the billing run's, waiting for its claim's numbers (`Invoice.being_numbered`).
DATED_FIELDS = ["seller", "series", "year", "issue_date", "due_date"]
# Set under the lock: what the numbers decide. Four narrow columns, so that the UPDATE inside
# the lock carries no JSON (the seller's copy) and stays short whatever the chunk's size.
NUMBER_FIELDS = ["status", "sequence", "number", "issued_at"]
ISSUE_FIELDS = [*DATED_FIELDS, *NUMBER_FIELDS]


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
        _set_numbers(group, series=series, year=day.year, first=first, issued_at=now)


def _set_numbers(
    invoices: Sequence[Invoice | None], *, series: str, year: int, first: int, issued_at
) -> None:
    """Issue documents in memory with a block's numbers, in their order (None: skipped, its
    number kept for it)."""
    for offset, invoice in enumerate(invoices):
        if invoice is not None:
            invoice.status = Invoice.Status.ISSUED
            invoice.sequence = first + offset
            invoice.number = format_number(series, year, first + offset)
            invoice.issued_at = issued_at


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


# The billing run's way (module docstring): claim, number under the lock, apply.


def claim_numbers(invoices: Sequence[Invoice], *, day: date) -> list[NumberClaim]:
    """Claim numbers for saved drafts dated for `day` (`date_documents`), one claim per series,
    in the caller's transaction: no lock. `issue_claimed` numbers them once it has committed."""
    by_series: dict[str, list[int]] = defaultdict(list)
    for invoice in invoices:
        by_series[invoice.series].append(invoice.pk)
    claims = [
        NumberClaim(series=series, year=day.year, day=day, invoice_ids=sorted(ids), count=len(ids))
        for series, ids in sorted(by_series.items())
    ]
    # Their keys taken first and written with them, as the documents' (chunk_io): a replay of
    # the run's statements (bench/complete_baseline.py) writes and numbers the same rows.
    chunk_io.reserve_row_ids(claims)
    return NumberClaim.objects.bulk_create(claims)


def issue_claimed(
    claims: Sequence[NumberClaim],
    invoices: Sequence[Invoice] = (),
    *,
    timings: dict[str, float] | None = None,
) -> None:
    """Number committed claims (`number_claims`), then set the numbers on their documents
    (`apply_claims`); `invoices`, the documents in memory, get them too."""
    if not claims:
        return
    number_claims({(claim.series, claim.year) for claim in claims}, timings=timings)
    apply_claims([claim.pk for claim in claims], invoices=invoices)


def number_claims(
    series_years: Iterable[tuple[str, int]], *, timings: dict[str, float] | None = None
) -> int:
    """In a transaction of its own (the lock is let go at its commit): for each series and
    year, lock its sequence row and give a block of numbers to each claim still waiting, oldest
    first, with the issue time read once the lock is held. Returns how many claims were
    numbered. `timings` gets "numbering wait" (for the lock) and "numbering held" (from the
    lock to the end of the commit)."""
    numbered = 0
    started = time.perf_counter()
    held_from = None
    with transaction.atomic(using=router.db_for_write(NumberClaim)):
        # Always the same order of series: two issuers never deadlock.
        for series, year in sorted(set(series_years)):
            last = _take_numbers(series, year, 0) - 1  # locks the row; takes nothing yet
            if held_from is None:
                held_from = time.perf_counter()
            waiting = list(
                NumberClaim.objects.filter(series=series, year=year, first_number__isnull=True)
                .order_by("pk")
                .only("pk", "count")
            )
            if not waiting:
                continue
            now = timezone.now()  # once the numbers are held: issue times follow the numbers
            for claim in waiting:
                claim.first_number, claim.issued_at = last + 1, now
                last += claim.count
            InvoiceSequence.objects.filter(series=series, year=year).update(last_number=last)
            NumberClaim.objects.bulk_update(waiting, ["first_number", "issued_at"])
            numbered += len(waiting)
    if timings is not None and held_from is not None:
        _add(timings, "numbering wait", held_from - started)
        _add(timings, "numbering held", time.perf_counter() - held_from)
        _add(timings, "numbering blocks", 1)
    return numbered


def apply_claims(
    claim_ids: Sequence[int], *, invoices: Sequence[Invoice] = (), skip_locked: bool = False
) -> int:
    """In a transaction of its own, set the numbers of numbered claims on their documents (one
    UPDATE), write their "issued" events and mark the claims applied. `invoices` in memory get
    their numbers whether this call or another applied them; the others are read. With
    `skip_locked`, claims another session is applying are left to it. Returns how many claims
    this call applied."""
    in_memory = {invoice.pk: invoice for invoice in invoices}
    with transaction.atomic(using=router.db_for_write(NumberClaim)):
        books_lock()  # a close waits for this issue, and refuses while a claim is unapplied
        claims = list(
            NumberClaim.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=claim_ids, first_number__isnull=False)
            .order_by("pk")
        )
        unapplied = [claim for claim in claims if claim.applied_at is None]
        missing = [pk for claim in unapplied for pk in claim.invoice_ids if pk not in in_memory]
        if missing:
            in_memory.update(Invoice.objects.in_bulk(missing))
        written: list[Invoice] = []
        for claim in claims:
            first = claim.first_number
            if first is None:  # filtered out above (for the type checker)
                continue
            documents = [in_memory.get(pk) for pk in claim.invoice_ids]
            if claim.applied_at is None:
                _check_claimed(claim, documents)
            # A document applied already and not in memory (None) has nothing to set.
            _set_numbers(
                documents,
                series=claim.series,
                year=claim.year,
                first=first,
                issued_at=claim.issued_at,
            )
            if claim.applied_at is None:
                written.extend(invoice for invoice in documents if invoice is not None)
                log_issued(claim.invoice_ids, claim.day)
        if not written:
            return 0
        chunk_io.update_rows(written, NUMBER_FIELDS)
        NumberClaim.objects.filter(pk__in=[claim.pk for claim in unapplied]).update(
            applied_at=timezone.now()
        )
        einvoices_request()
    return len(unapplied)


class ClaimBroken(RuntimeError):
    """A claim's documents are no longer all drafts waiting for it: its numbers would be lost."""


def _check_claimed(claim: NumberClaim, documents: list[Invoice | None]) -> None:
    """Every document of a claim is there and still a draft: otherwise its block would leave a
    gap, and the error says so rather than giving numbers to nothing."""
    for pk, invoice in zip(claim.invoice_ids, documents, strict=True):
        if invoice is None or invoice.status != Invoice.Status.DRAFT or invoice.number:
            raise ClaimBroken(
                f"number claim {claim.pk} ({claim}): document {pk} is gone or was issued"
                " outside it; its number would be lost"
            )


def numbering_recover() -> int:
    """Finish the claims a stopped process left (killed between its commit and its numbers):
    number those waiting, apply those numbered, skipping any another session is applying now.
    Safe at any time: a claim's owner finding its claim done only reads its numbers. Returns
    how many claims were applied.

    Each claim is applied on its own: one that cannot be (a document deleted behind the
    services' back, so its block would have a gap) is logged as an error and left, numbered,
    for a person to look at (the admin's number claims, state "numbered"); the others, and the
    run that called this, go on."""
    waiting = set(
        NumberClaim.objects.filter(first_number__isnull=True).values_list("series", "year")
    )
    if waiting:
        number_claims(waiting)
    applied = 0
    for pk in NumberClaim.objects.filter(applied_at__isnull=True).values_list("pk", flat=True):
        try:
            applied += apply_claims([pk], skip_locked=True)
        except ClaimBroken as error:
            logger.error("%s", error)
    return applied
