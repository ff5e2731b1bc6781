"""Invoices (list, filters, detail, PDF) and the catalog (plans with everything, bundles,
terms, product contracts) over the API."""

from decimal import Decimal

import pytest

from billing.models import Invoice
from catalog.models import Plan
from tests.catalog.factories import BundleItemFactory, PlanFactory, PriceSheetFactory
from tests.support.api import results

pytestmark = pytest.mark.django_db


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


# Invoices ------------------------------------------------------------------------------------


def test_invoice_detail_has_lines_taxes_and_payments(tenants, api):
    invoice = (
        Invoice.objects.filter(end_customer=tenants.bakery, status="paid")
        .order_by("issue_date")
        .first()
    )
    body = ok(api("partner").get(f"/api/v1/invoices/{invoice.pk}/"))
    assert body["number"] == invoice.number
    # Invoiced to the partner, for its customer (billing-rules §9)
    assert body["customer"]["name"] == body["customer_name"] == "Acme Resellers SARL"
    assert body["customer_vat_number"] == "FR40303265045"
    assert (body["end_customer"], body["end_customer_name"]) == (
        tenants.bakery.pk,
        "Boulangerie Martin",
    )
    assert (body["net_total"], body["tax_total"], body["total"]) == ("108.00", "21.60", "129.60")
    assert body["currency"] == "EUR" and body["status"] == "paid"
    assert body["balance"] == "0.00" and body["amount_paid"] == "129.60"
    [line] = body["lines"]
    assert line["gross"] == "150.00" and line["net"] == "108.00"
    assert [d["amount"] for d in line["discounts"]] == ["15.00", "27.00"]
    # in the customer's language, amounts included ("60,00 €": a no-break space before €)
    assert line["rule"] == "10 × 60,00\u00a0€ / 1 an × 3/12"
    assert body["taxes"] == [
        {
            "category": "S",
            "rate": "20.00",
            "base": "108.00",
            "tax": "21.60",
            "exemption_code": "",
            "exemption_reason": "",
        }
    ]
    [payment] = body["payments"]
    assert payment["amount"] == "129.60" and payment["method"] == "bank_transfer"
    assert body["po_reference"] == "PO-BM-2026-01"


def test_invoice_filters(tenants, api):
    client = api("operator")
    everything = results(client.get("/api/v1/invoices/?page_size=200"))
    # the tenants' invoices: Acme's quarter paid, Nordic's overdue, Maple's and Dupont's open
    assert {i["status"] for i in everything} == {"paid", "issued", "overdue"}
    overdue = results(client.get("/api/v1/invoices/?status=overdue"))
    assert overdue and {i["status"] for i in overdue} == {"overdue"}
    mine = results(client.get(f"/api/v1/invoices/?customer={tenants.maple.pk}"))
    assert mine and {i["customer"]["name"] for i in mine} == {"Maple Hosting Co."}
    acme = results(client.get("/api/v1/invoices/?partner=acme&page_size=200"))
    assert {i["customer"]["name"] for i in acme} == {"Acme Resellers SARL"}
    assert {i["end_customer_name"] for i in acme} == {"Boulangerie Martin"}
    seats = results(client.get("/api/v1/invoices/?plan=device-seats&page_size=200"))
    assert {i["end_customer_name"] for i in seats} == {"Boulangerie Martin", "Fjord Logistics"}
    november = results(
        client.get("/api/v1/invoices/?issue_date_after=2026-11-01&issue_date_before=2026-11-30")
    )
    assert november and all(i["issue_date"].startswith("2026-11") for i in november)
    by_subscription = results(client.get(f"/api/v1/invoices/?subscription={tenants.office.pk}"))
    assert {i["subscription"] for i in by_subscription} == {tenants.office.pk}
    assert results(client.get("/api/v1/invoices/?kind=credit_note")) == []
    assert client.get("/api/v1/invoices/?kind=receipt").status_code == 400


def test_drafts_are_seen_by_operators_only(tenants, api):
    invoice = Invoice.objects.create(
        customer=tenants.maple,
        currency="CAD",
        net_total=Decimal("1"),
        tax_total=Decimal("0"),
        total=Decimal("1"),
        amount_paid=Decimal("0"),
    )
    assert api("operator").get(f"/api/v1/invoices/{invoice.pk}/").status_code == 200
    assert api("customer").get(f"/api/v1/invoices/{invoice.pk}/").status_code == 404
    drafts = results(api("operator").get("/api/v1/invoices/?status=draft"))
    assert [i["id"] for i in drafts] == [invoice.pk]
    assert drafts[0]["number"] is None


def test_invoice_pdf(tenants, api):
    invoice = tenants.invoice_of(tenants.maple)
    response = api("customer").get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    missing = api("customer").get("/api/v1/invoices/999999/pdf/", HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json() == {"detail": "No Invoice matches the given query."}


# Catalog -------------------------------------------------------------------------------------


def test_plans_come_with_bundles_prices_terms_features_and_service_periods(logins, api):
    plans = {p["code"]: p for p in results(api("partner").get("/api/v1/plans/"))}
    seats = plans["device-seats"]
    assert seats["billing_period"] == {"count": 3, "unit": "month"}
    assert seats["currency"] == "EUR" and seats["status"] == "active"
    assert [(s["years"], s["discount_percent"]) for s in seats["service_periods"]] == [
        (1, "0.00"),
        (3, "10.00"),
        (5, "15.00"),
    ]
    assert seats["term"]["code"] == "device-seats"
    assert seats["term"]["notice_period"] == {"count": 90, "unit": "day"}
    assert seats["term"]["seat_reduction_freeze"] == {"count": 3, "unit": "month"}
    items = [item for bundle in seats["bundles"] for item in bundle["items"]]
    gateway = next(i for i in items if i["product"] and i["product"]["seat_type"] == "gateway")
    assert gateway["price_sheet"]["pricing_model"] == "per_unit"
    assert gateway["price_sheet"]["amount"] == "60.00"
    assert gateway["price_sheet"]["period"] == {"count": 1, "unit": "year"}
    assert gateway["price_sheet"]["summary"] == "60.00 EUR per unit per 1 year"
    assert {f["code"] for f in seats["features"]} == {"api-access"}
    office = plans["office-24m"]
    assert office["term"]["early_termination"] == "penalty"
    assert office["term"]["penalty_cap"] == "240.00"
    assert office["addon_bundles"] == ["service-plus-eur"]
    hosting = plans["hosting-b"]
    assert hosting["upgrade_group"] == {"code": "hosting", "name": "Hosting", "rank": 2}
    backup = plans["cloud-backup-monthly"]
    assert backup["trial"] == {"count": 14, "unit": "day"}
    assert backup["minimum_commitment_occurrences"] == 12
    storage = next(f for f in backup["features"] if f["code"] == "storage")
    assert (storage["kind"], storage["limit"], storage["unit"]) == ("limit", 200, "GB")


def test_plans_not_for_sale_are_seen_by_operators_only(logins, api):
    draft = PlanFactory(code="draft-plan", status=Plan.Status.DRAFT)
    codes = {p["code"] for p in results(api("operator").get("/api/v1/plans/?page_size=200"))}
    assert "draft-plan" in codes
    codes = {p["code"] for p in results(api("customer").get("/api/v1/plans/?page_size=200"))}
    assert "draft-plan" not in codes
    assert api("customer").get(f"/api/v1/plans/{draft.pk}/").status_code == 404
    drafts = results(api("operator").get("/api/v1/plans/?status=draft"))
    assert [p["code"] for p in drafts] == ["draft-plan"]


def test_plan_filters(logins, api):
    client = api("customer")
    assert {p["code"] for p in results(client.get("/api/v1/plans/?currency=CAD"))} == {
        "hosting-a",
        "hosting-b",
    }
    assert [p["code"] for p in results(client.get("/api/v1/plans/?code=office-24m"))] == [
        "office-24m"
    ]
    assert {p["code"] for p in results(client.get("/api/v1/plans/?upgrade_group=hosting"))} == {
        "hosting-a",
        "hosting-b",
    }


def test_bundles_terms_and_product_contracts(logins, api):
    client = api("customer2")
    [coupon] = results(client.get("/api/v1/bundles/?code=coupon-service-20"))
    [discount] = [item["discount"] for item in coupon["items"] if item["kind"] == "discount"]
    assert (discount["kind"], discount["percentage"], discount["target"]) == (
        "percentage",
        "20.00",
        "product",
    )
    bundles = {b["code"]: b for b in results(client.get("/api/v1/bundles/?page_size=200"))}
    assert "device-seats" in bundles
    detail = ok(client.get(f"/api/v1/bundles/{bundles['device-seats']['id']}/"))
    assert detail == bundles["device-seats"]
    terms = {t["code"]: t for t in results(client.get("/api/v1/terms/"))}
    penalty = terms["penalty-24m"]
    assert penalty["commitment"] == {"count": 24, "unit": "month"}
    assert penalty["grace_period"] == {"count": 14, "unit": "day"}
    assert penalty["penalty_prorated"] is True
    assert terms["two-years-then-yearly"]["renewal_term"] == "one-year"
    assert ok(client.get(f"/api/v1/terms/{penalty['id']}/")) == penalty
    contracts = {c["code"]: c for c in results(client.get("/api/v1/product-contracts/"))}
    assert contracts["support-credits"]["kind"] == "credit"
    assert contracts["support-credits"]["credit_amount"] == "20.00"
    assert contracts["support-credits"]["accounting_period"] == {"count": 1, "unit": "month"}
    magazine = contracts["magazine-6-issues"]
    assert (magazine["issues_per_period"], magazine["chargeable_issues"]) == (6, 5)
    assert magazine["interval"] == {"count": 6, "unit": "month"}
    assert [c["code"] for c in results(client.get("/api/v1/product-contracts/?kind=time"))] == [
        "maintenance-monthly"
    ]
    assert ok(client.get(f"/api/v1/product-contracts/{magazine['id']}/")) == magazine


def test_plans_show_their_usage_charges_contract_and_features_counted_against_usage(logins, api):
    client = api("customer2")
    plans = {p["code"]: p for p in results(client.get("/api/v1/plans/?page_size=200"))}
    metered = plans["api-metered-monthly"]
    [charge] = metered["usage_charges"]
    assert (charge["metric"], charge["event_code"], charge["aggregation"]) == (
        "api_calls",
        "api_call",
        "count",
    )
    assert charge["pricing_model"] == "graduated"
    assert [
        (t["first_unit"], t["last_unit"], t["unit_price"]) for t in charge["price_sheet"]["tiers"]
    ] == [(1, 10000, "0.00"), (10001, None, "0.002")]
    features = {f["code"]: f for f in metered["features"]}
    assert (features["api_calls_limit"]["metric"], features["api_calls_limit"]["enforcement"]) == (
        "api_calls",
        "soft",
    )
    assert features["api_calls_limit"]["limit"] == 100000
    assert (features["usage-dashboard"]["metric"], features["usage-dashboard"]["kind"]) == (
        None,
        "on_off",
    )
    assert metered["contract"] is None
    assert plans["quotidien-tech-monthly"]["contract"] == "quotidien-tech-issues"
    assert plans["api-prepaid-monthly"]["contract"] == "api-credits-monthly"
    assert plans["quotidien-tech-monthly"]["usage_charges"] == []
    assert ok(client.get(f"/api/v1/plans/{metered['id']}/")) == metered


def test_billable_metrics_and_package_prices(logins, api):
    client = api("customer2")
    [metric] = results(client.get("/api/v1/billable-metrics/?code=api_calls"))
    assert {k: metric[k] for k in ("event_code", "aggregation", "field", "filters", "unit")} == {
        "event_code": "api_call",
        "aggregation": "count",
        "field": "",
        "filters": {},
        "unit": "calls",
    }
    assert ok(client.get(f"/api/v1/billable-metrics/{metric['id']}/")) == metric
    assert results(client.get("/api/v1/billable-metrics/?aggregation=sum")) == []
    sheet = PriceSheetFactory(pricing_model="package", amount=Decimal("5.00"), package_size=1000)
    bundle = BundleItemFactory(product=sheet.product, price_sheet=sheet).bundle
    [body] = results(client.get(f"/api/v1/bundles/?code={bundle.code}"))
    [item] = body["items"]
    assert (item["price_sheet"]["pricing_model"], item["price_sheet"]["package_size"]) == (
        "package",
        1000,
    )
    assert item["price_sheet"]["summary"] == "5.00 EUR per package of 1,000 units per 1 month"
    assert (body["contract"], body["features"]) == (None, [])
