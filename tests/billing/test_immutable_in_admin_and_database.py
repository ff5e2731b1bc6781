"""An issued document is read-only in the admin (no Save button: the database trigger used to
answer a 500 to it), and the database refuses what the row triggers cannot see: TRUNCATE, and a
change to the end customer an issued invoice names."""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from billing.models import Invoice, InvoiceLine, InvoiceSequence, InvoiceTax
from billing.services import billing_run
from tests.concurrency import postgresql_only

pytestmark = pytest.mark.django_db


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def issued(office):
    billing_run(day=date(2026, 1, 1))
    return Invoice.objects.get(subscription=office)


@pytest.mark.parametrize("part", ["invoice", "line", "payment"])
def test_an_issued_document_and_its_parts_have_no_save_button(
    operator_client, operator, issued, part
):
    from billing.services import payment_record

    payment = payment_record(
        invoice=issued,
        amount=issued.total.amount,
        method="bank_transfer",
        received_on=date(2026, 1, 5),
        reference="VIR 1",
    )
    row = {"invoice": issued, "line": issued.lines.first(), "payment": payment}[part]
    change_url = url(type(row), "change", row.pk)
    page = operator_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    # A Save posted anyway is refused, not a 500, and changes nothing
    before = InvoiceLine.objects.get(pk=issued.lines.first().pk).description
    assert operator_client.post(change_url, {"description": "changed"}).status_code == 403
    assert InvoiceLine.objects.get(pk=issued.lines.first().pk).description == before


def test_the_end_customer_of_an_issued_invoice_cannot_change(issued):
    with pytest.raises(DatabaseError, match="issued invoices are immutable"), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(end_customer_name="Someone else")
    assert Invoice.objects.get(pk=issued.pk).end_customer_name == ""


@postgresql_only
@pytest.mark.parametrize("model", [Invoice, InvoiceLine, InvoiceTax, InvoiceSequence])
def test_truncate_is_refused_on_the_billing_tables(issued, model):
    table = model._meta.db_table
    with (
        pytest.raises(DatabaseError, match=f"{table} cannot be truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The test's own transaction holds deferred foreign-key checks: fire them first, or
        # PostgreSQL refuses the TRUNCATE for that reason rather than ours.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert Invoice.objects.filter(pk=issued.pk).exists()
