"""E-invoices over the API: the download of an invoice's e-invoice (same access as the invoice)
and the export point of the approved platform (operators only)."""

import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from billing.models import EInvoice, EInvoiceStatusEvent, Invoice
from billing.services import einvoice_generate, einvoices_generate_pending

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("file_format", "content_type", "suffix"),
    [
        ("facturx", "application/pdf", "factur-x.pdf"),
        ("cii", "application/xml", "cii.xml"),
        ("ubl", "application/xml", "ubl.xml"),
    ],
)
def test_a_customer_downloads_its_e_invoice_in_each_format(
    tenants, api, file_format, content_type, suffix
):
    invoice = tenants.invoice_of(tenants.maple)
    response = api("customer").get(f"/api/v1/invoices/{invoice.pk}/einvoice/?format={file_format}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}-{suffix}"'
    assert invoice.number.encode() in response.content or file_format == "facturx"


def test_the_factur_x_pdf_carries_the_stored_cii(tenants, api):
    invoice = tenants.invoice_of(tenants.dupont)
    response = api("customer2").get(f"/api/v1/invoices/{invoice.pk}/einvoice/?format=facturx")
    embedded = PdfReader(io.BytesIO(response.content)).attachments["factur-x.xml"][0]
    assert embedded == bytes(EInvoice.objects.get(invoice=invoice).cii_xml)
    assert invoice.number.encode() in embedded


def test_another_tenants_invoice_is_not_found(tenants, api):
    maple = tenants.invoice_of(tenants.maple)
    fjord = tenants.invoice_of(tenants.fjord)
    assert (
        api("customer2").get(f"/api/v1/invoices/{maple.pk}/einvoice/?format=ubl").status_code == 404
    )
    assert (
        api("partner").get(f"/api/v1/invoices/{fjord.pk}/einvoice/?format=ubl").status_code == 404
    )
    assert (
        api("partner2").get(f"/api/v1/invoices/{fjord.pk}/einvoice/?format=ubl").status_code == 200
    )
    assert not EInvoice.objects.filter(invoice=maple).exists()


def test_a_bad_or_missing_format_is_a_400_naming_it(tenants, api):
    invoice = tenants.invoice_of(tenants.maple)
    for query in ("?format=pdf", ""):
        response = api("customer").get(f"/api/v1/invoices/{invoice.pk}/einvoice/{query}")
        assert response.status_code == 400
        assert list(response.json()) == ["format"]


def test_a_draft_has_no_e_invoice(tenants, api):
    draft = Invoice.objects.filter(status=Invoice.Status.DRAFT).first()
    if draft is None:
        draft = Invoice.objects.create(
            customer=tenants.maple,
            currency="CAD",
            net_total=0,
            tax_total=0,
            total=0,
            amount_paid=0,
        )
    response = api("operator").get(f"/api/v1/invoices/{draft.pk}/einvoice/?format=ubl")
    assert response.status_code == 400
    assert "draft" in response.json()["__all__"][0]
    # Nobody else sees a draft at all.
    assert (
        api("customer").get(f"/api/v1/invoices/{draft.pk}/einvoice/?format=ubl").status_code == 404
    )


# The platform's export point --------------------------------------------------------------------


def test_the_export_lists_the_e_invoices_by_cursor_and_day(tenants, api):
    einvoices_generate_pending(limit=100)
    client = api("operator")
    everything = client.get("/api/v1/einvoices/").json()
    assert everything["next"] is None
    rows = everything["results"]
    assert len(rows) == EInvoice.objects.count() >= 4
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    first = rows[0]
    invoice = Invoice.objects.get(pk=first["invoice"])
    assert first["number"] == invoice.number
    assert first["kind"] == invoice.kind
    assert first["issue_date"] == invoice.issue_date.isoformat()
    assert first["status"] == "generated"
    assert first["downloads"]["ubl"].endswith(f"/api/v1/invoices/{invoice.pk}/einvoice/?format=ubl")

    after = client.get(f"/api/v1/einvoices/?after={first['id']}").json()["results"]
    assert [row["id"] for row in after] == [row["id"] for row in rows[1:]]
    day = date(2026, 10, 1)
    of_day = client.get(f"/api/v1/einvoices/?day={day.isoformat()}").json()["results"]
    assert of_day
    assert {row["issue_date"] for row in of_day} == {day.isoformat()}


def test_the_export_is_for_operators_only(tenants, api):
    for username in ("partner", "customer"):
        assert api(username).get("/api/v1/einvoices/").status_code == 403
    einvoice = einvoice_generate(invoice=tenants.invoice_of(tenants.maple))
    response = api("customer").post(
        f"/api/v1/einvoices/{einvoice.pk}/status/", {"status": "paid"}, format="json"
    )
    assert response.status_code == 403
    assert EInvoice.objects.get().status == "generated"


def test_the_export_list_costs_the_same_queries_whatever_its_length(tenants, api):
    client = api("operator")
    einvoice_generate(invoice=tenants.invoice_of(tenants.maple))
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/einvoices/")
    einvoices_generate_pending(limit=100)
    assert EInvoice.objects.count() >= 4
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/einvoices/")
    assert len(many) == len(one)
    assert not any("facturx_pdf" in query["sql"] for query in many.captured_queries)


def test_the_platform_records_statuses(tenants, api, operator):
    einvoice = einvoice_generate(invoice=tenants.invoice_of(tenants.maple))
    client = api("operator")
    url = f"/api/v1/einvoices/{einvoice.pk}/status/"
    response = client.post(
        url, {"status": "submitted", "platform_reference": "PA-2026-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    assert response.json()["platform_reference"] == "PA-2026-1"
    response = client.post(url, {"status": "rejected", "reason": "BR-FR-12"}, format="json")
    assert response.json()["status_reason"] == "BR-FR-12"
    assert list(
        EInvoiceStatusEvent.objects.filter(einvoice=einvoice).values_list("status", "recorded_by")
    ) == [("generated", None), ("submitted", operator.pk), ("rejected", operator.pk)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "rejected"}, "reason"),
        ({"status": "rejected", "reason": "  "}, "reason"),
        ({"status": "lost"}, "status"),
        ({"status": "generated"}, "status"),
        ({}, "status"),
    ],
)
def test_a_bad_status_is_a_400_naming_its_field_and_changes_nothing(tenants, api, body, field):
    einvoice = einvoice_generate(invoice=tenants.invoice_of(tenants.maple))
    response = api("operator").post(f"/api/v1/einvoices/{einvoice.pk}/status/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert EInvoiceStatusEvent.objects.filter(einvoice=einvoice).count() == 1
