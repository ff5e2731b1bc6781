"""The exports over the API: `GET /api/v1/exports/<dataset>/`, for operators only, with the
filters of each dataset's list endpoint and the currency; a bad filter is a 400 naming it."""

import pytest
from django.contrib.auth import get_user_model

from reports.exports import DATASETS
from tests.support.api import token_client
from tests.support.exports import csv_rows

pytestmark = pytest.mark.django_db


def rows(api, path: str) -> list[dict]:
    return csv_rows(api("operator").get(path))


@pytest.mark.parametrize("login", ["partner", "partner2", "customer", "customer2"])
def test_a_partner_or_a_customer_token_is_refused(tenants, api, login):
    # Exports hold every tenant's rows: only operators take them (a partner lists its own).
    for dataset in DATASETS:
        response = api(login).get(f"/api/v1/exports/{dataset}/")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"
        assert "operators" in response.json()["detail"]


def test_no_token_or_a_login_with_no_role_is_refused(logins, client):
    assert client.get("/api/v1/exports/invoices/").status_code == 401
    nobody = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    assert token_client(nobody).get("/api/v1/exports/invoices/").status_code == 403


def test_an_unknown_dataset_or_format_is_not_found(logins, api):
    assert api("operator").get("/api/v1/exports/secrets/").status_code == 404
    response = api("operator").get("/api/v1/exports/invoices/?format=pdf")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_invoices_filtered_by_issue_date_customer_status_currency_and_partner(tenants, api):
    url = "/api/v1/exports/invoices/"
    november = rows(api, f"{url}?issue_date_after=2026-11-01&issue_date_before=2026-11-30")
    assert {row["customer"] for row in november} == {"Maple Hosting Co.", "Atelier Dupont"}
    assert {row["issue_date"] for row in november} == {"2026-11-01"}
    (maple,) = rows(api, f"{url}?customer={tenants.maple.pk}")
    assert maple["currency"] == "CAD"
    assert [row["currency"] for row in rows(api, f"{url}?currency=CAD")] == ["CAD"]
    (overdue,) = rows(api, f"{url}?status=overdue")
    assert overdue["end_customer"] == "Fjord Logistics"
    assert len(rows(api, f"{url}?status=overdue&status=paid")) == 2
    (acme,) = rows(api, f"{url}?partner=acme")
    assert acme["end_customer"] == "Boulangerie Martin"
    assert rows(api, f"{url}?issue_date_after=2027-01-01") == []


def test_each_dataset_takes_its_list_endpoints_filters(documents, api):
    lines = rows(api, "/api/v1/exports/invoice-lines/?issue_date_before=2026-10-31")
    assert {row["issue_date"] for row in lines} == {"2026-10-01"} and len(lines) == 2
    credits = rows(api, "/api/v1/exports/invoice-lines/?invoice_kind=credit_note")
    assert [row["kind"] for row in credits] == ["credit"]
    (returned,) = rows(api, "/api/v1/exports/payments/?received_on_after=2026-11-01")
    assert returned["amount"] == "-129.60"
    (credit_note,) = rows(api, f"/api/v1/exports/credit-notes/?customer={documents.maple.pk}")
    assert credit_note["number"] == documents.credit_note.number
    (fjord,) = rows(api, "/api/v1/exports/customers/?partner=nordic")
    assert fjord["name"] == "Fjord Logistics"
    (trial,) = rows(api, "/api/v1/exports/subscriptions/?status=trial")
    assert trial["plan"] == "cloud-backup-monthly"
    (hosting,) = rows(api, "/api/v1/exports/subscriptions/?currency=CAD")
    assert hosting["customer"] == "Maple Hosting Co."


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("issue_date_after=2026-13-45", "issue_date"),
        ("currency=XXX", "currency"),
        ("status=nope", "status"),
        ("customer=abc", "customer"),
        ("customer=0", "customer"),
        ("kind=credit_note", "kind"),  # the dataset is the kind: no such filter here
        ("custmer=3", "custmer"),
        ("currency=", "currency"),
        ("delimiter=pipe", "delimiter"),
        ("bom=maybe", "bom"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it_never_a_500(logins, api, query, field):
    response = api("operator").get(f"/api/v1/exports/invoices/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in "".join(response.json())


def test_a_client_may_ask_for_the_file_by_its_media_type(tenants, api):
    client = api(
        "operator", HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = client.get("/api/v1/exports/customers/")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert api("operator").get("/api/v1/exports/customers/")["Content-Type"].startswith("text/csv")


def test_the_exports_are_in_the_openapi_schema_with_their_filters(logins, api):
    schema = api("operator").get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/exports/invoice-lines/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"format", "delimiter", "bom", "issue_date_after", "currency", "customer"} <= names
    assert set(operation["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert {f"/api/v1/exports/{key}/" for key in DATASETS} <= set(schema["paths"])


def test_a_sheet_too_long_is_a_400_not_a_cut_file(tenants, api, monkeypatch):
    monkeypatch.setattr("reports.exports.writers.XLSX_MAX_ROWS", 3)  # the header and 2 rows
    response = api("operator").get("/api/v1/exports/invoices/?format=xlsx")
    assert response.status_code == 400
    assert response.json() == {
        "__all__": [
            "An XLSX sheet holds at most 2 rows: narrow the export with filters, or export it "
            "as CSV."
        ]
    }
    assert len(csv_rows(api("operator").get("/api/v1/exports/invoices/"))) == 4
