"""Settlement: an invoice entirely reversed by credit notes is cancelled by them.

Below both the run (credit notes for charges no longer due) and the corrections (an operator's
credit note): each calls it, neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Q

from billing.models import Invoice, InvoiceEvent
from core import clock


def settle_credited_invoices(*, invoice_ids: Iterable[int | None]) -> None:
    """An invoice whose every line is reversed by credit notes is cancelled by them."""
    ids = {i for i in invoice_ids if i}
    if not ids:
        return
    fully = (
        Invoice.objects.filter(pk__in=ids)
        .annotate(
            lines_count=Count("lines"),
            reversed_count=Count("lines", filter=Q(lines__reversed_by__isnull=False)),
        )
        .filter(lines_count=F("reversed_count"))
        .values_list("pk", flat=True)
    )
    cancelled = list(
        Invoice.objects.filter(pk__in=list(fully))
        .exclude(status=Invoice.Status.CANCELLED)
        .values_list("pk", flat=True)
    )
    Invoice.objects.filter(pk__in=cancelled).update(status=Invoice.Status.CANCELLED)
    InvoiceEvent.objects.bulk_create(
        [
            InvoiceEvent(invoice_id=pk, kind=InvoiceEvent.Kind.CANCELLED, day=clock.today())
            for pk in cancelled
        ]
    )
