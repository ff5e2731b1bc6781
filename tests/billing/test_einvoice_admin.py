"""E-invoices in the admin: download links and the platform status with its history on the
invoice page; a read-only list of e-invoices filtered by status."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import EInvoice, Invoice
from billing.services import billing_run, einvoice_generate, einvoice_status_record
from tests.billing.builders import manual_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoiced(office, seats):
    billing_run(day=date(2026, 1, 1))
    return list(Invoice.objects.order_by("id"))


def test_the_invoice_page_links_the_files_and_shows_the_platform_history(
    operator_client, operator, invoiced
):
    invoice = invoiced[0]
    einvoice = einvoice_generate(invoice=invoice)
    einvoice_status_record(einvoice=einvoice, status="rejected", reason="BR-FR-12", actor=operator)

    html = operator_client.get(
        reverse("admin:billing_invoice_change", args=[invoice.pk])
    ).content.decode()
    for file_format in ("facturx", "ubl", "cii"):
        assert reverse("admin:billing_invoice_einvoice", args=[invoice.pk, file_format]) in html
    assert "BR-FR-12" in html and "rejected" in html and "operator" in html


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [("facturx", "application/pdf"), ("ubl", "application/xml"), ("cii", "application/xml")],
)
def test_the_files_download_made_on_demand(operator_client, invoiced, file_format, content_type):
    invoice = invoiced[0]
    response = operator_client.get(
        reverse("admin:billing_invoice_einvoice", args=[invoice.pk, file_format])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert EInvoice.objects.filter(invoice=invoice).count() == 1


def test_a_draft_has_no_e_invoice_to_download(operator_client, db):
    draft = manual_draft()
    response = operator_client.get(
        reverse("admin:billing_invoice_einvoice", args=[draft.pk, "ubl"])
    )
    assert response.status_code == 302
    assert not EInvoice.objects.exists()
    page = operator_client.get(reverse("admin:billing_invoice_change", args=[draft.pk]))
    assert "A draft has no e-invoice" in page.content.decode()


def test_the_e_invoice_list_filters_by_status_and_is_read_only(operator_client, invoiced):
    first, second = (einvoice_generate(invoice=invoice) for invoice in invoiced[:2])
    einvoice_status_record(einvoice=first, status="accepted")
    changelist = reverse("admin:billing_einvoice_changelist")

    html = operator_client.get(changelist, {"status__exact": "accepted"}).content.decode()
    assert first.invoice.number in html and second.invoice.number not in html
    page = operator_client.get(reverse("admin:billing_einvoice_change", args=[first.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert operator_client.get(reverse("admin:billing_einvoice_add")).status_code == 403


def test_the_e_invoice_list_costs_the_same_queries_whatever_its_length(operator_client, invoiced):
    changelist = reverse("admin:billing_einvoice_changelist")
    einvoice_generate(invoice=invoiced[0])
    with CaptureQueriesContext(connection) as one:
        operator_client.get(changelist)
    for invoice in invoiced[1:]:
        einvoice_generate(invoice=invoice)
    with CaptureQueriesContext(connection) as many:
        operator_client.get(changelist)
    assert len(invoiced) >= 2
    assert len(many) == len(one)
    assert not any("facturx_pdf" in query["sql"] for query in many.captured_queries)
