"""Export CSV and Export XLSX on the admin's lists: exactly the rows the list shows with its
filters and search (every page of them), for staff who may view the list."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import Invoice, InvoiceLine, Payment
from reports.exports import DATASETS
from subscriptions.models import Customer, Subscription
from tests.support.exports import csv_rows, xlsx_rows, xlsx_sheet

pytestmark = pytest.mark.django_db

LISTS = [
    (Invoice, "invoices"),
    (InvoiceLine, "invoice-lines"),
    (Payment, "payments"),
    (Customer, "customers"),
    (Subscription, "subscriptions"),
]


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def admin_client(client, tenants, operator):
    """The demo operator (staff, in the Operators group), on the API tests' tenants."""
    client.force_login(operator)
    return client


@pytest.mark.parametrize(("model", "dataset"), LISTS)
def test_each_list_offers_its_exports_and_they_answer_the_datasets_file(
    admin_client, model, dataset
):
    page = admin_client.get(url(model, "changelist")).content.decode()
    assert f'href="{url(model, "export", "csv")}"' in page
    assert f'href="{url(model, "export", "xlsx")}"' in page
    response = admin_client.get(url(model, "export", "csv"))
    assert response["Content-Disposition"] == f'attachment; filename="{dataset}-2026-11-22.csv"'
    assert list(csv_rows(response)[0]) == DATASETS[dataset].header
    assert len(csv_rows(admin_client.get(url(model, "export", "csv")))) == model.objects.count()


def test_the_links_carry_the_lists_filters_and_search_but_not_its_page(admin_client):
    page = admin_client.get(url(Invoice, "changelist") + "?status__exact=overdue&q=Nordic&p=1")
    assert (
        f'href="{url(Invoice, "export", "csv")}?status__exact=overdue&amp;q=Nordic"'
        in page.content.decode()
    )


def test_the_export_is_exactly_the_filtered_and_searched_list(admin_client, tenants):
    export = url(Invoice, "export", "csv")
    overdue = csv_rows(admin_client.get(export + "?status__exact=overdue"))
    assert [row["end_customer"] for row in overdue] == ["Fjord Logistics"]
    searched = csv_rows(admin_client.get(export + "?q=Dupont"))
    assert [row["customer"] for row in searched] == ["Atelier Dupont"]
    by_partner = csv_rows(admin_client.get(export + f"?partner={tenants.acme.pk}"))
    assert [row["end_customer"] for row in by_partner] == ["Boulangerie Martin"]
    by_date = csv_rows(admin_client.get(export + "?issue_date__gte=2026-11-01"))
    assert {row["customer"] for row in by_date} == {"Maple Hosting Co.", "Atelier Dupont"}
    # In the list's order (newest first), every page of it, not the 50 rows of one.
    everything = csv_rows(admin_client.get(export))
    assert [int(row["id"]) for row in everything] == list(
        Invoice.objects.order_by("-id").values_list("id", flat=True)
    )
    customers = csv_rows(admin_client.get(url(Customer, "export", "csv") + "?country__exact=NO"))
    assert {row["name"] for row in customers} == {"Fjord Logistics", "Nordic Devices AS"}
    seats = csv_rows(admin_client.get(url(Subscription, "export", "csv") + "?q=Boulangerie"))
    assert [row["plan"] for row in seats] == ["device-seats"]


def test_the_invoice_list_filtered_to_credit_notes_exports_credit_notes(admin_client, documents):
    response = admin_client.get(url(Invoice, "export", "csv") + "?kind__exact=credit_note")
    assert response["Content-Disposition"].startswith('attachment; filename="credit-notes-')
    (credit_note,) = csv_rows(response)
    assert credit_note["corrects_invoice"] == documents.cancelled.number


def test_the_xlsx_of_a_filtered_list(admin_client):
    response = admin_client.get(url(Payment, "export", "xlsx") + "?method__exact=bank_transfer")
    (payment,) = xlsx_rows(xlsx_sheet(response))
    assert (payment["amount"], payment["currency"]) == (129.6, "EUR")


def test_a_filter_the_list_cannot_apply_goes_back_to_the_list(admin_client):
    response = admin_client.get(url(Invoice, "export", "csv") + "?no_such_field=1")
    assert response.status_code == 302
    assert response["Location"] == url(Invoice, "changelist") + "?e=1"
    assert admin_client.get(url(Invoice, "export", "json")).status_code == 404


def test_a_sheet_too_long_is_refused_with_a_message_not_cut(admin_client, monkeypatch):
    monkeypatch.setattr("reports.exports.writers.XLSX_MAX_ROWS", 3)  # the header and 2 rows
    response = admin_client.get(url(Invoice, "export", "xlsx") + "?currency__exact=EUR")
    assert response.status_code == 302  # 3 invoices in euros
    assert response["Location"] == url(Invoice, "changelist") + "?currency__exact=EUR"
    page = admin_client.get(response["Location"]).content.decode()
    assert "An XLSX sheet holds at most 2 rows" in page
    issued = admin_client.get(url(Invoice, "export", "xlsx") + "?status__exact=issued")
    assert len(xlsx_rows(xlsx_sheet(issued))) == 2


def test_staff_without_the_view_permission_get_no_file(client, tenants, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(clerk)
    assert client.get(url(Invoice, "export", "csv")).status_code == 403
    assert client.get(url(Customer, "export", "csv")).status_code == 200
    client.logout()
    response = client.get(url(Invoice, "export", "csv"))
    assert response.status_code == 302 and "/login/" in response["Location"]
