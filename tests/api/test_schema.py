"""The OpenAPI 3 schema at /api/schema/ and its documentation pages, served without any CDN."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/plans/", "get"),
    ("/api/v1/plans/{id}/", "get"),
    ("/api/v1/bundles/", "get"),
    ("/api/v1/bundles/{id}/", "get"),
    ("/api/v1/terms/", "get"),
    ("/api/v1/terms/{id}/", "get"),
    ("/api/v1/product-contracts/", "get"),
    ("/api/v1/product-contracts/{id}/", "get"),
    ("/api/v1/billable-metrics/", "get"),
    ("/api/v1/billable-metrics/{id}/", "get"),
    ("/api/v1/partners/", "get"),
    ("/api/v1/partners/{id}/", "get"),
    ("/api/v1/customers/", "get"),
    ("/api/v1/customers/{id}/", "get"),
    ("/api/v1/subscriptions/", "get"),
    ("/api/v1/subscriptions/", "post"),
    ("/api/v1/subscriptions/preview/", "post"),
    ("/api/v1/subscriptions/{id}/", "get"),
    ("/api/v1/subscriptions/{id}/seats/", "post"),
    ("/api/v1/subscriptions/{id}/seats/preview/", "post"),
    ("/api/v1/subscriptions/{id}/seat-reductions/", "post"),
    ("/api/v1/subscriptions/{id}/seat-reductions/preview/", "post"),
    ("/api/v1/subscriptions/{id}/plan-change/", "post"),
    ("/api/v1/subscriptions/{id}/plan-change/preview/", "post"),
    ("/api/v1/subscriptions/{id}/plan-change/withdraw/", "post"),
    ("/api/v1/subscriptions/{id}/plan-change/withdraw/preview/", "post"),
    ("/api/v1/subscriptions/{id}/cancel/", "post"),
    ("/api/v1/subscriptions/{id}/cancel/preview/", "post"),
    ("/api/v1/subscriptions/{id}/coupons/", "post"),
    ("/api/v1/subscriptions/{id}/coupons/preview/", "post"),
    ("/api/v1/subscriptions/{id}/contracts/{contract_id}/consumptions/", "post"),
    ("/api/v1/subscriptions/{id}/contracts/", "get"),
    ("/api/v1/subscriptions/{id}/contracts/{contract_id}/topups/", "post"),
    ("/api/v1/subscriptions/{id}/usage/", "get"),
    ("/api/v1/usage-events/", "post"),
    ("/api/v1/invoices/", "get"),
    ("/api/v1/invoices/{id}/", "get"),
    ("/api/v1/invoices/{id}/pdf/", "get"),
    ("/api/v1/invoices/{id}/einvoice/", "get"),
    ("/api/v1/einvoices/", "get"),
    ("/api/v1/einvoices/{id}/status/", "post"),
    ("/api/v1/invoices/{id}/refunds/", "post"),
    ("/api/v1/invoices/{id}/pay/", "post"),
    ("/api/v1/refunds/", "get"),
    ("/api/v1/refunds/{id}/", "get"),
    ("/api/v1/payment-methods/", "get"),
    ("/api/v1/payment-methods/", "post"),
    ("/api/v1/payment-methods/{id}/", "get"),
    ("/api/v1/payment-methods/{id}/make-default/", "post"),
    ("/api/v1/payment-methods/{id}/revoke/", "post"),
    ("/api/v1/payment-methods/cards/", "post"),
    ("/api/v1/card-payments/", "get"),
    ("/api/v1/card-payments/{id}/", "get"),
    ("/api/v1/payments/", "get"),
    ("/api/v1/payments/{id}/", "get"),
    ("/api/v1/customers/{id}/credit/", "get"),
    ("/api/v1/customers/{id}/entitlements/", "get"),
    ("/api/v1/customers/{id}/hosted-pages/", "post"),
    ("/api/v1/reports/mrr/", "get"),
    ("/api/v1/reports/mrr/movements/", "get"),
    ("/api/v1/exports/invoices/", "get"),
    ("/api/v1/exports/credit-notes/", "get"),
    ("/api/v1/exports/invoice-lines/", "get"),
    ("/api/v1/exports/payments/", "get"),
    ("/api/v1/exports/customers/", "get"),
    ("/api/v1/exports/subscriptions/", "get"),
}
CHARGING = {
    "/api/v1/subscriptions/",
    "/api/v1/subscriptions/{id}/seats/",
    "/api/v1/subscriptions/{id}/seat-reductions/",
    "/api/v1/subscriptions/{id}/plan-change/",
    "/api/v1/subscriptions/{id}/plan-change/withdraw/",  # charges nothing, keyed like the others
    "/api/v1/subscriptions/{id}/cancel/",
    "/api/v1/subscriptions/{id}/coupons/",
    "/api/v1/subscriptions/{id}/contracts/{contract_id}/consumptions/",
    "/api/v1/subscriptions/{id}/contracts/{contract_id}/topups/",
    "/api/v1/invoices/{id}/refunds/",
    "/api/v1/payment-methods/",
    "/api/v1/payment-methods/{id}/make-default/",
    "/api/v1/payment-methods/{id}/revoke/",
    "/api/v1/payment-methods/cards/",
    "/api/v1/invoices/{id}/pay/",
    "/api/v1/usage-events/",  # usage is invoiced: a key may ride along with transaction ids
}


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_openapi_3_and_documents_every_operation(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Cadence API"
    found = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert found == OPERATIONS
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"


def test_changes_document_the_idempotency_key_and_their_errors(schema):
    for path, method in OPERATIONS:
        operation = schema["paths"][path][method]
        responses = operation["responses"]
        assert {"401", "403", "404"} <= set(responses), path
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post":
            assert {"400", "409"} <= set(responses), path
            assert responses["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/FieldErrors"
            }
        if path in CHARGING and method == "post":
            assert "Idempotency-Key" in headers and "422" in responses, path
        else:
            assert "Idempotency-Key" not in headers, path


def test_money_is_documented_as_a_two_decimal_string(schema):
    invoice = schema["components"]["schemas"]["Invoice"]["properties"]
    assert invoice["total"]["type"] == "string"
    assert invoice["total"]["pattern"] == r"^-?\d+\.\d{2}$"
    preview = schema["components"]["schemas"]["Preview"]["properties"]
    assert set(preview) == {
        "charges",
        "total_now",
        "next_charges",
        "total_next",
        "currency",
        "effective_date",
        "rule",
        "message",
    }


def test_the_schema_is_public_and_also_json(db):
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_documentation_pages_use_only_local_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    assets = ASSET.findall(html)
    assert assets, "the page loads its scripts and styles"
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not shipped"
    assert not re.search(r"https?://", html), "no CDN or any other outside address"


def test_the_schema_states_the_bounds_the_api_enforces(schema):
    operations = schema["paths"]
    by_name = {p["name"]: p["schema"] for p in operations["/api/v1/invoices/"]["get"]["parameters"]}
    assert by_name["page_size"]["minimum"] == 1 and by_name["page_size"]["maximum"] == 200
    assert by_name["customer"]["minimum"] == 1
    assert by_name["plan"]["minLength"] == 1
    path = operations["/api/v1/subscriptions/{id}/seats/"]["post"]
    by_name = {p["name"]: p["schema"] for p in path["parameters"]}
    assert by_name["id"]["minimum"] == 1
    assert by_name["Idempotency-Key"]["pattern"] == r"^[\x21-\x7e]{1,255}$"
    seats = schema["components"]["schemas"]["SeatsInputRequest"]
    assert seats["additionalProperties"] is False
    assert seats["properties"]["seat_type"]["pattern"].startswith("^[^\\u0000-\\u0008")
    creation = schema["components"]["schemas"]["SubscriptionCreateInputRequest"]
    assert creation["properties"]["seats"]["propertyNames"]["pattern"].startswith("^[^")
