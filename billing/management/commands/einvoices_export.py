"""`manage.py einvoices_export --day YYYY-MM-DD --to DIR`: a day's e-invoices, as files.

Writes the Factur-X PDF and the UBL XML of every document issued that day into DIR (made if
missing), named after the document's number; makes the e-invoices still missing first. Safe
to run twice: a file already there with the same content is left alone, and a file is written
whole (a temporary file, then renamed) so that a platform picking files up never reads half of
one. For a platform (PA) that takes files rather than the API (GET /api/v1/einvoices/).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import EInvoice, Invoice
from billing.services import einvoice_generate


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--day {value!r} is not a date: write it YYYY-MM-DD, e.g. 2026-11-21."
        ) from None


def _write(path: Path, content: bytes) -> bool:
    """Write `content` at `path` unless it is there already; True when written."""
    if path.exists() and path.read_bytes() == content:
        return False
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    Path(temporary).replace(path)
    return True


class Command(BaseCommand):
    help = "Write a day's Factur-X PDFs and UBL files into a folder (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--day", required=True, help="the issue date, YYYY-MM-DD")
        parser.add_argument("--to", required=True, dest="folder", help="the folder to write into")

    def handle(self, *args, day: str, folder: str, **options):
        issue_date = _day(day)
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        documents = (
            Invoice.objects.filter(issue_date=issue_date)
            .exclude(status=Invoice.Status.DRAFT)
            .order_by("pk")
        )
        for invoice in documents.filter(einvoice__isnull=True).iterator():
            einvoice_generate(invoice=invoice)
        written = documents_count = 0
        rows = (
            EInvoice.objects.filter(invoice__in=documents)
            .select_related("invoice")
            .order_by("invoice_id")
        )
        for einvoice in rows.iterator(chunk_size=100):
            documents_count += 1
            number = einvoice.invoice.number
            written += _write(target / f"{number}-factur-x.pdf", bytes(einvoice.facturx_pdf))
            written += _write(target / f"{number}-ubl.xml", bytes(einvoice.ubl_xml))
        self.stdout.write(
            f"{issue_date}: {documents_count} documents, {written} files written to {target}"
        )
