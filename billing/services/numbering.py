"""Invoice numbers: sequential and gapless per series and year, given at issue.

The sequence row of a series is locked only for this short step, at the very end of the
transaction that created the documents: numbering never waits for a computation, and a
transaction that rolls back takes its numbers with it (no gap).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from billing.models import Invoice, InvoiceEvent, InvoiceSequence
from billing.parties import seller_snapshot
from billing.services import chunk_io
from billing.services.closing import books_refuse_closed
from billing.services.einvoices import einvoices_request
from catalog.models import SellerProfile

ISSUE_FIELDS = [
    "seller",
    "status",
    "series",
    "year",
    "sequence",
    "number",
    "issue_date",
    "due_date",
    "issued_at",
]


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}{year}-{sequence:06d}"


def _take_numbers(series: str, year: int, count: int) -> int:
    """Reserve `count` numbers of a series and year; returns the first. Locks the sequence row
    until the caller's transaction ends."""
    InvoiceSequence.objects.bulk_create(
        [InvoiceSequence(series=series, year=year, last_number=0)], ignore_conflicts=True
    )
    sequence = InvoiceSequence.objects.select_for_update().get(series=series, year=year)
    first = sequence.last_number + 1
    sequence.last_number += count
    sequence.save(update_fields=["last_number"])
    return first


def take_numbers(invoices: Sequence[Invoice], *, day: date) -> None:
    """Number documents (invoices and credit notes) on `day`, in id order, in memory: set their
    number, series, dates and status. Locks each series' sequence row until the transaction
    ends. Refused (ApplicationError) when `day` is in a closed month: every document's date
    is set here, so this is where the monthly close holds (billing/services/closing.py)."""
    books_refuse_closed(day, field="day")
    by_series: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_series[Invoice.SERIES[invoice.kind]].append(invoice)
    now = timezone.now()
    due = day + timedelta(days=settings.INVOICE_DUE_DAYS)
    # The seller as it is at issue, printed and written into the e-invoice ever after.
    seller = seller_snapshot(SellerProfile.current())
    for series in sorted(by_series):  # always the same order: two issuers never deadlock
        group = sorted(by_series[series], key=lambda invoice: invoice.pk)
        first = _take_numbers(series, day.year, len(group))
        for offset, invoice in enumerate(group):
            invoice.status = Invoice.Status.ISSUED
            invoice.seller = seller
            invoice.series = series
            invoice.year = day.year
            invoice.sequence = first + offset
            invoice.number = format_number(series, day.year, first + offset)
            invoice.issue_date = day
            # A credit note settles at once: nothing to pay, no later due date.
            invoice.due_date = (
                day if invoice.kind == Invoice.Kind.CREDIT_NOTE else invoice.due_date or due
            )
            invoice.issued_at = now


def issue_documents(invoices: Sequence[Invoice], *, day: date) -> None:
    """Number and issue saved drafts (invoices and credit notes) on `day`, in id order."""
    if not invoices:
        return
    take_numbers(invoices, day=day)
    chunk_io.update_rows(invoices, ISSUE_FIELDS)  # one statement, whatever the number of documents
    log_issued([invoice.pk for invoice in invoices], day)
    einvoices_request()  # after the commit: the e-invoices are made outside this transaction


def log_issued(invoice_ids: list[int], day: date) -> None:
    """The outbox's "issued" events (COPY on PostgreSQL; nothing points to them)."""
    chunk_io.insert_rows(
        [
            chunk_io.new_row(InvoiceEvent, invoice_id=pk, kind=InvoiceEvent.Kind.ISSUED, day=day)
            for pk in invoice_ids
        ],
        ids=False,
    )
