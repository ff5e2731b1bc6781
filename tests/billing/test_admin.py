"""Invoices in the admin: lists, details, actions through the services, PDF."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from billing.models import (
    ClosedMonth,
    EInvoice,
    EInvoiceStatusEvent,
    Invoice,
    InvoiceLine,
    Payment,
)
from billing.services import billing_run

pytestmark = pytest.mark.django_db
BILLING_MODELS = [m for m in admin.site._registry if m._meta.app_label == "billing"]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def invoiced(office, seats):
    billing_run(day=date(2026, 1, 1))
    return Invoice.objects.order_by("id")


@pytest.mark.parametrize("model", BILLING_MODELS, ids=lambda m: m.__name__)
def test_billing_pages_load(operator_client, invoiced, model):
    if model is Payment:
        from billing.services import payment_record

        payment_record(
            invoice=invoiced[0], amount="1.00", method="card", received_on=date(2026, 1, 2)
        )
    if model in (EInvoice, EInvoiceStatusEvent):
        from billing.services import einvoice_generate

        einvoice_generate(invoice=invoiced[0])
    if model is ClosedMonth:
        ClosedMonth.objects.create(month=date(2025, 12, 1))
    assert operator_client.get(url(model, "changelist")).status_code == 200
    assert operator_client.get(url(model, "changelist"), {"q": "F2026"}).status_code == 200
    obj = model.objects.first()
    assert operator_client.get(url(model, "change", obj.pk)).status_code == 200


def test_every_invoice_filter_loads(operator_client, invoiced):
    response = operator_client.get(url(Invoice, "changelist"))
    changelist = response.context["cl"]
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            assert (
                operator_client.get(url(Invoice, "changelist") + choice["query_string"]).status_code
                == 200
            )


def test_the_invoice_page_shows_its_lines_and_rule(operator_client, invoiced):
    invoice = Invoice.objects.get(customer__name="Boulangerie Martin")
    html = operator_client.get(url(Invoice, "change", invoice.pk)).content.decode()
    assert (
        "F2026-000002" in html
        and "10 × 60.00 EUR / 1 year × 3/12" in html
        and "PO-BM-2026-01" in html
    )


def test_the_pdf_downloads(operator_client, invoiced):
    response = operator_client.get(reverse("admin:billing_invoice_pdf", args=[invoiced[0].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@time_machine.travel(date(2026, 1, 15))
def test_recording_a_payment_and_its_refusal(operator_client, operator, invoiced):
    operator_client.force_login(operator)
    invoice = invoiced[0]
    page = reverse("admin:billing_invoice_payment", args=[invoice.pk])
    assert operator_client.get(page).status_code == 200
    refused = operator_client.post(
        page, {"amount": "999", "method": "card", "received_on": "2026-01-15"}
    )
    assert refused.status_code == 200
    assert "left to pay; 999.00 is more than that" in refused.content.decode()
    assert Payment.objects.count() == 0
    done = operator_client.post(
        page, {"amount": "54.00", "method": "card", "received_on": "2026-01-15"}
    )
    assert done.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid.amount == Decimal("54.00")


@time_machine.travel(date(2026, 1, 20))
def test_cancel_by_credit_note_asks_the_reason_first(operator_client, operator, invoiced):
    operator_client.force_login(operator)
    invoice = invoiced[1]
    form = operator_client.post(
        url(Invoice, "changelist"),
        {"action": "cancel_by_credit_note", "_selected_action": [invoice.pk]},
    )
    assert form.status_code == 200 and "reason" in form.content.decode()
    operator_client.post(
        url(Invoice, "changelist"),
        {
            "action": "cancel_by_credit_note",
            "_selected_action": [invoice.pk],
            "reason": "Duplicate order",
        },
    )
    invoice.refresh_from_db()
    assert invoice.status == "cancelled"
    credit = Invoice.objects.get(kind="credit_note")
    assert (credit.number, credit.note, credit.issue_date) == (
        "AV2026-000001",
        "Duplicate order",
        date(2026, 1, 20),
    )


def test_issued_invoices_cannot_be_added_or_deleted_in_the_admin(operator_client, invoiced):
    assert operator_client.get(url(Invoice, "add")).status_code == 403
    assert operator_client.get(url(Invoice, "delete", invoiced[0].pk)).status_code == 403
    assert operator_client.get(url(InvoiceLine, "add")).status_code == 403
