"""`manage.py einvoices_export`: a day's Factur-X PDFs and UBL files, written once."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from billing.models import EInvoice
from billing.services import invoice_issue
from tests.billing.builders import manual_draft

pytestmark = pytest.mark.django_db


def test_a_days_files_are_written_once(tmp_path):
    day = date(2026, 3, 2)
    issued = [invoice_issue(invoice=manual_draft(), day=day) for _ in range(2)]
    invoice_issue(invoice=manual_draft(), day=date(2026, 3, 3))  # another day
    out = io.StringIO()

    call_command("einvoices_export", "--day", "2026-03-02", "--to", str(tmp_path), stdout=out)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{invoice.number}-{suffix}" for invoice in issued for suffix in ("factur-x.pdf", "ubl.xml")
    )
    stored = EInvoice.objects.get(invoice=issued[0])
    assert (tmp_path / f"{issued[0].number}-ubl.xml").read_bytes() == bytes(stored.ubl_xml)
    assert "2 documents, 4 files written" in out.getvalue()

    again = io.StringIO()
    call_command("einvoices_export", "--day", "2026-03-02", "--to", str(tmp_path), stdout=again)
    assert "2 documents, 0 files written" in again.getvalue()
    assert EInvoice.objects.count() == 2


def test_a_bad_day_is_refused(tmp_path):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("einvoices_export", "--day", "02/03/2026", "--to", str(tmp_path))
