"""What each dataset exports (issue 16, "Exports"): its header, one row per record with the
joined names, amounts as decimals beside their currency, ISO dates — as CSV and as XLSX.

The rows are the API tests' tenants (tests/api/conftest.py), made by the services and the
billing run; `documents` adds a credit note and a payment that came back."""

from datetime import datetime, timedelta

import pytest

from billing.models import Invoice, Payment
from reports.exports import DATASETS
from tests.support.exports import body, csv_header, csv_rows, xlsx_rows, xlsx_sheet

pytestmark = pytest.mark.django_db


def export(api, dataset: str, query: str = ""):
    return api("operator").get(f"/api/v1/exports/{dataset}/{query}")


def by(rows: list[dict], key: str, value: str) -> dict:
    (row,) = [row for row in rows if row[key] == value]
    return row


def test_the_header_is_the_columns_stable_machine_names(tenants, api):
    # An accountant's spreadsheet and an integrator's import rely on these names: changing one
    # is a breaking change, to be made on purpose (and told in the release notes).
    assert csv_header(export(api, "invoices")) == [
        "id",
        "number",
        "kind",
        "status",
        "issue_date",
        "due_date",
        "period_start",
        "period_end",
        "customer_id",
        "customer",
        "billed_to",
        "vat_number",
        "partner",
        "end_customer",
        "subscription_id",
        "plan",
        "po_reference",
        "currency",
        "net_total",
        "tax_total",
        "total",
        "amount_paid",
        "paid_on",
        "corrects_invoice",
        "issued_at",
    ]
    for key, dataset in DATASETS.items():
        assert csv_header(export(api, key)) == dataset.header


def test_invoices_name_the_partner_the_end_customer_and_the_plan(tenants, api):
    response = export(api, "invoices")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-11-22.csv"'
    rows = csv_rows(response)
    assert len(rows) == Invoice.objects.filter(kind="invoice").count() == 4
    bakery = tenants.invoice_of(tenants.bakery)
    # Billing-rules example 6.1, invoiced to the partner for its customer (billing-rules §9), paid.
    assert by(rows, "number", bakery.number) == {
        "id": str(bakery.pk),
        "number": bakery.number,
        "kind": "invoice",
        "status": "paid",
        "issue_date": "2026-10-01",
        "due_date": "2026-10-31",
        "period_start": "2026-10-01",
        "period_end": "2027-01-01",
        "customer_id": str(bakery.customer_id),
        "customer": "Acme Resellers SARL",
        "billed_to": "Acme Resellers SARL",
        "vat_number": "FR40303265045",
        "partner": "Acme Resellers",
        "end_customer": "Boulangerie Martin",
        "subscription_id": str(tenants.bakery_seats.pk),
        "plan": "device-seats",
        "po_reference": "PO-BM-2026-01",
        "currency": "EUR",
        "net_total": "108.00",
        "tax_total": "21.60",
        "total": "129.60",
        "amount_paid": "129.60",
        "paid_on": "2026-10-13",
        "corrects_invoice": "",
        "issued_at": bakery.issued_at.isoformat(),
    }
    maple = by(rows, "customer", "Maple Hosting Co.")
    assert (maple["currency"], maple["total"], maple["partner"]) == ("CAD", "150.00", "")


def test_credit_notes_are_their_own_dataset_and_name_the_invoice_they_correct(documents, api):
    cancelled = documents.cancelled
    (credit_note,) = csv_rows(export(api, "credit-notes"))
    assert credit_note["number"] == documents.credit_note.number
    assert credit_note["kind"] == "credit_note"
    assert credit_note["number"].startswith("AV2026-")
    assert credit_note["corrects_invoice"] == cancelled.number
    # As printed on it: its amounts are positive, its kind says it credits.
    assert (credit_note["currency"], credit_note["total"]) == ("CAD", "150.00")
    invoices = csv_rows(export(api, "invoices"))
    assert {row["kind"] for row in invoices} == {"invoice"}
    assert by(invoices, "number", cancelled.number)["status"] == "cancelled"


def test_invoice_lines_carry_their_invoice_customer_product_and_amounts(tenants, api):
    rows = csv_rows(export(api, "invoice-lines"))
    bakery = tenants.invoice_of(tenants.bakery)
    line = by(rows, "invoice_number", bakery.number)
    assert line["invoice_id"] == str(bakery.pk)
    assert line["issue_date"] == "2026-10-01"
    assert line["customer"] == "Acme Resellers SARL"
    assert line["product"] == "seat-gateway"
    assert line["kind"] == "recurring"
    assert line["period_start"], line["period_end"] == ("2026-10-01", "2027-01-01")
    # 10 seats × 15.00 a quarter, −10 % (3 years) − 20 % (Acme) = 108.00 at 20 % VAT.
    assert (line["quantity"], line["unit_price"], line["gross"]) == ("10.00", "15.0000", "150.00")
    assert (line["discount_total"], line["net"], line["tax_rate"]) == ("42.00", "108.00", "20.00")
    assert (line["currency"], line["tax_category"]) == ("EUR", "S")
    assert len(rows) == 4


def test_payments_and_their_reversal_the_money_that_came_back(documents, api):
    rows = csv_rows(export(api, "payments"))
    payment = Payment.objects.get(reverses__isnull=True)
    reversal = Payment.objects.get(reverses=payment)
    assert by(rows, "id", str(payment.pk)) | {"recorded_at": ""} == {
        "id": str(payment.pk),
        "invoice_id": str(payment.invoice_id),
        "invoice_number": payment.invoice.number,
        "customer_id": str(payment.invoice.customer_id),
        "customer": "Acme Resellers SARL",
        "received_on": "2026-10-13",
        "method": "bank_transfer",
        "currency": "EUR",
        "amount": "129.60",
        "reference": f"VIR {payment.invoice.number}",
        "reverses_id": "",
        "recorded_by": "",
        "recorded_at": "",
    }
    returned = by(rows, "id", str(reversal.pk))
    assert (returned["amount"], returned["reverses_id"]) == ("-129.60", str(payment.pk))
    assert returned["received_on"] == "2026-11-21"


def test_customers_name_their_partner_and_the_partners_own_accounts(tenants, api):
    rows = csv_rows(export(api, "customers"))
    assert len(rows) == 7
    bakery = by(rows, "name", "Boulangerie Martin")
    assert (bakery["partner"], bakery["partner_code"], bakery["billing_account_of"]) == (
        "Acme Resellers",
        "acme",
        "",
    )
    assert (bakery["country"], bakery["language"], bakery["currency"]) == ("FR", "fr", "EUR")
    assert by(rows, "name", "Acme Resellers SARL")["billing_account_of"] == "acme"
    assert by(rows, "name", "Maple Hosting Co.")["partner"] == ""


def test_subscriptions_name_the_plan_the_customer_and_who_is_invoiced(tenants, api):
    rows = csv_rows(export(api, "subscriptions"))
    assert len(rows) == 5
    bakery = by(rows, "id", str(tenants.bakery_seats.pk))
    assert bakery["customer"] == "Boulangerie Martin"
    assert (bakery["partner"], bakery["bill_to"]) == ("Acme Resellers", "Acme Resellers SARL")
    assert (bakery["plan"], bakery["status"], bakery["currency"]) == (
        "device-seats",
        "active",
        "EUR",
    )
    assert (bakery["start_date"], bakery["renewal_date"]) == ("2026-10-01", "2029-10-01")
    assert (bakery["auto_renew"], bakery["service_period_years"]) == ("true", "3")
    backup = by(rows, "id", str(tenants.backup.pk))
    assert (backup["status"], backup["trial_end"], backup["bill_to"]) == ("trial", "2026-11-24", "")


def test_a_semicolon_file_with_a_byte_order_mark_for_a_french_spreadsheet(tenants, api):
    response = export(api, "invoices", "?delimiter=semicolon&bom=true")
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbfid;number;kind;")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert b";129.60;" in data


def test_the_xlsx_holds_typed_cells(tenants, api):
    response = export(api, "invoices", "?format=xlsx")
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-11-22.xlsx"'
    sheet = xlsx_sheet(response)
    assert sheet.title == "invoices"
    rows = xlsx_rows(sheet)
    assert len(rows) == 4
    bakery = tenants.invoice_of(tenants.bakery)
    row = by(rows, "number", bakery.number)
    assert row["total"] == 129.6 and row["net_total"] == 108 and row["currency"] == "EUR"
    assert row["issue_date"] == datetime(2026, 10, 1)  # noqa: DTZ001 - Excel has no zones
    assert row["id"] == bakery.pk
    assert row["end_customer"] == "Boulangerie Martin"
    # UTC, to the millisecond Excel keeps.
    assert abs(row["issued_at"] - bakery.issued_at.replace(tzinfo=None)) < timedelta(milliseconds=1)
    assert row["corrects_invoice"] is None
    # Amounts show two places at least (four at most: a unit price of 0.0020); dates are dates.
    total_cell = sheet.cell(row=2, column=DATASETS["invoices"].header.index("total") + 1)
    assert total_cell.number_format == "0.00##"
    assert sheet.cell(row=2, column=5).is_date


def test_every_dataset_exports_as_xlsx_with_the_csv_header(documents, api):
    for key, dataset in DATASETS.items():
        sheet = xlsx_sheet(export(api, key, "?format=xlsx"))
        header = next(sheet.iter_rows(values_only=True))
        assert list(header) == dataset.header
        assert sheet.max_row == 1 + len(csv_rows(export(api, key)))


def test_a_text_that_looks_like_a_formula_stays_a_text(tenants, api):
    tenants.maple.name = '=HYPERLINK("http://evil.example","x")'
    tenants.maple.save()
    sheet = xlsx_sheet(export(api, "customers", "?format=xlsx"))
    (cell,) = [c for c in sheet["B"] if c.value == tenants.maple.name]
    assert cell.data_type == "s"  # a string cell, never a formula
    # The CSV keeps the data as it is (a program reads it; a spreadsheet user takes the XLSX).
    assert by(csv_rows(export(api, "customers")), "id", str(tenants.maple.pk))["name"] == (
        tenants.maple.name
    )
