"""E-invoices: made once per issued document, outside the issuing transaction (asked for after
its commit, swept up by the beat job), downloadable in three formats, and the platform's
statuses recorded with their history."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import EInvoice, EInvoiceStatusEvent, Invoice
from billing.services import (
    billing_run,
    einvoice_file,
    einvoice_generate,
    einvoice_status_record,
    einvoices_generate_pending,
    invoice_issue,
)
from billing.tasks import einvoices_generate
from config import celery as celery_config
from core.errors import ApplicationError
from tests.billing.builders import manual_draft

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


@pytest.fixture
def issued():
    return invoice_issue(invoice=manual_draft(), day=DAY)


def test_generating_twice_keeps_one_e_invoice(issued):
    first = einvoice_generate(invoice=issued)
    second = einvoice_generate(invoice=issued)

    assert first.pk == second.pk
    assert EInvoice.objects.filter(invoice=issued).count() == 1
    assert issued.number.encode() in bytes(first.cii_xml)
    assert issued.number.encode() in bytes(first.ubl_xml)
    assert bytes(first.facturx_pdf).startswith(b"%PDF-")
    assert first.status == EInvoice.Status.GENERATED
    assert list(first.status_events.values_list("status", flat=True)) == ["generated"]


def test_a_draft_has_no_e_invoice():
    with pytest.raises(ApplicationError, match="draft"):
        einvoice_generate(invoice=manual_draft())
    assert not EInvoice.objects.exists()


def test_the_pending_job_makes_what_is_missing_in_bounded_batches_and_runs_twice_safely():
    drafts = [manual_draft() for _ in range(3)]
    for draft in drafts:
        invoice_issue(invoice=draft, day=DAY)
    manual_draft()  # a draft stays without one

    assert einvoices_generate_pending(limit=2) == 2
    assert einvoices_generate_pending(limit=2) == 1
    assert einvoices_generate_pending(limit=2) == 0
    assert EInvoice.objects.count() == 3
    assert set(EInvoice.objects.values_list("invoice_id", flat=True)) == {d.pk for d in drafts}


def test_a_document_that_fails_is_left_for_the_next_round(monkeypatch):
    from billing.services import einvoices

    first, _second = (invoice_issue(invoice=manual_draft(), day=DAY) for _ in range(2))
    real = einvoices.invoice_cii

    def broken(invoice, payment_means=None):
        if invoice.pk == first.pk:
            raise ValueError("schema refused")
        return real(invoice)

    monkeypatch.setattr(einvoices, "invoice_cii", broken)
    assert einvoices_generate_pending(limit=10) == 1
    assert not EInvoice.objects.filter(invoice=first).exists()
    monkeypatch.setattr(einvoices, "invoice_cii", real)
    assert einvoices_generate_pending(limit=10) == 1
    assert EInvoice.objects.filter(invoice=first).exists()


def test_the_task_makes_the_pending_e_invoices(issued):
    assert einvoices_generate() == 1
    assert einvoices_generate() == 0
    assert EInvoice.objects.get().invoice == issued


def test_the_pending_query_does_not_grow_with_the_documents():
    for _ in range(3):
        invoice_issue(invoice=manual_draft(), day=DAY)
    with CaptureQueriesContext(connection) as three:
        einvoices_generate_pending(limit=3)
    EInvoice.objects.all().delete()
    for _ in range(3):
        invoice_issue(invoice=manual_draft(), day=DAY)
    with CaptureQueriesContext(connection) as six:
        einvoices_generate_pending(limit=6)
    # Per document: its claim, its row and its first history row (savepoints aside).
    per_document = (len(six) - len(three)) / 3
    assert per_document <= len(three) / 3 + 1


def test_issuing_asks_for_the_e_invoices_after_the_commit_only(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EINVOICES_ON_ISSUE = True
    sent = []
    monkeypatch.setattr(
        "billing.services.einvoices.send", lambda name, *args, **kw: sent.append(name)
    )
    draft = manual_draft()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_issue(invoice=draft, day=DAY)
    assert sent == []  # nothing inside the issuing transaction
    assert not EInvoice.objects.exists()
    for callback in callbacks:
        callback()
    assert sent == ["billing.einvoices_generate"]


def test_a_billing_run_asks_after_its_commit_and_never_generates_itself(
    office, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EINVOICES_ON_ISSUE = True
    sent = []
    monkeypatch.setattr(
        "billing.services.einvoices.send", lambda name, *args, **kw: sent.append(name)
    )
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(day=date(2026, 1, 1), send_emails=False)
    assert Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists()
    assert "billing.einvoices_generate" in sent
    assert not EInvoice.objects.exists()  # made by the job, not by the run


def test_a_dead_broker_loses_nothing(issued, settings, monkeypatch):
    from kombu.exceptions import OperationalError

    monkeypatch.setitem(celery_config.app.conf, "task_always_eager", False)

    def dead(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(celery_config.app, "send_task", dead)
    assert celery_config.send("billing.einvoices_generate") is False
    monkeypatch.setitem(celery_config.app.conf, "task_always_eager", True)
    assert einvoices_generate() == 1  # the beat's next run


@pytest.mark.parametrize(
    ("file_format", "suffix", "content_type", "start"),
    [
        ("facturx", "factur-x.pdf", "application/pdf", b"%PDF-"),
        ("cii", "cii.xml", "application/xml", b"<?xml"),
        ("ubl", "ubl.xml", "application/xml", b"<?xml"),
    ],
)
def test_a_file_is_made_on_demand_in_each_format(issued, file_format, suffix, content_type, start):
    file = einvoice_file(invoice=issued, file_format=file_format)
    assert file.filename == f"{issued.number}-{suffix}"
    assert file.content_type == content_type
    assert file.content.startswith(start)
    assert EInvoice.objects.count() == 1


def test_an_unknown_format_is_refused(issued):
    with pytest.raises(ApplicationError) as error:
        einvoice_file(invoice=issued, file_format="pdf")
    assert error.value.field == "format"


def test_platform_statuses_are_recorded_with_their_history(issued, operator):
    einvoice = einvoice_generate(invoice=issued)
    einvoice_status_record(
        einvoice=einvoice, status="submitted", platform_reference="PA-1", actor=operator
    )
    einvoice = einvoice_status_record(einvoice=einvoice, status="accepted")

    assert einvoice.status == EInvoice.Status.ACCEPTED
    assert einvoice.platform_reference == "PA-1"
    assert einvoice.status_at is not None
    assert list(
        EInvoiceStatusEvent.objects.filter(einvoice=einvoice).values_list("status", "recorded_by")
    ) == [("generated", None), ("submitted", operator.pk), ("accepted", None)]


@pytest.mark.parametrize(
    ("status", "reason", "field"),
    [("rejected", "  ", "reason"), ("generated", "", "status"), ("lost", "", "status")],
)
def test_a_rejection_without_reason_or_an_unknown_status_changes_nothing(
    issued, status, reason, field
):
    einvoice = einvoice_generate(invoice=issued)
    with pytest.raises(ApplicationError) as error:
        einvoice_status_record(einvoice=einvoice, status=status, reason=reason)
    assert error.value.field == field
    assert EInvoiceStatusEvent.objects.filter(einvoice=einvoice).count() == 1
    assert EInvoice.objects.get().status == EInvoice.Status.GENERATED
