"""The API's product contracts (billing-rules §8): a sale attaches the plan's contract; a
subscription's contracts with their deliveries and credit ledger; credits bought; other tenants'
rows are not found; query counts do not grow with the rows."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ProductContract
from subscriptions import services
from subscriptions.models import CreditEntry, ScheduledIssue, SubscriptionContract
from tests.subscriptions.factories import monthly_plan
from tests.support.api import created

pytestmark = pytest.mark.django_db


def ok(response) -> dict | list:
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def credits(tenants):
    held = services.subscription_contract_add(
        subscription=tenants.office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    base = f"/api/v1/subscriptions/{tenants.office.pk}/contracts/"
    return held, base


def test_selling_over_the_api_attaches_the_plans_contract(tenants, api):
    plan = monthly_plan("30.00", contract=ProductContract.objects.get(code="support-credits"))
    body = created(
        api("customer2").post(
            "/api/v1/subscriptions/",
            {"customer": tenants.dupont.pk, "plan": plan.code, "start_date": "2026-11-22"},
            format="json",
        )
    )
    contracts = body["subscription"]["contracts"]
    assert [
        (c["contract"], c["status"], c["start_date"], c["credit_balance"]) for c in contracts
    ] == [("support-credits", "active", "2026-11-22", "20.00")]


def test_a_sale_refused_for_its_contract_says_why(tenants, api):
    plan = monthly_plan("30.00", contract=ProductContract.objects.get(code="magazine-6-issues"))
    response = api("customer2").post(
        "/api/v1/subscriptions/",
        {"customer": tenants.dupont.pk, "plan": plan.code, "start_date": "2026-11-22"},
        format="json",
    )
    assert response.status_code == 400
    assert (
        "an issue-based contract is sold on a plan billed over the issues' billing period"
        in (response.json()["plan"][0])
    )
    assert not SubscriptionContract.objects.exists()


def test_contracts_with_their_ledger_and_a_top_up(tenants, api, credits):
    held, base = credits
    client = api("customer2")
    services.credits_consume(subscription_contract=held, amount=5, day=date(2026, 11, 20))
    [shown] = ok(client.get(base))
    assert (shown["id"], shown["contract"], shown["kind"], shown["status"]) == (
        held.pk,
        "support-credits",
        "credit",
        "active",
    )
    assert shown["credit_balance"] == "15.00"
    assert [(c["kind"], c["day"], c["amount"], c["balance"]) for c in shown["credits"]] == [
        ("grant", "2026-11-01", "20.00", "20.00"),
        ("consumption", "2026-11-20", "-5.00", "15.00"),
    ]
    body = created(client.post(f"{base}{held.pk}/topups/", {"credits": "10"}, format="json"))
    assert (body["kind"], body["amount"], body["balance"]) == ("topup", "10.00", "25.00")
    entry = CreditEntry.objects.get(kind="topup")
    assert (
        body["reference"]
        == entry.reference
        == f"event:{tenants.office.events.get(kind='credits_topped_up').pk}"
    )
    refused = client.post(f"{base}{held.pk}/topups/", {"credits": "0"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"credits": ["Buy a positive number of credits."]}
    assert CreditEntry.objects.filter(kind="topup").count() == 1


def test_other_tenants_contracts_are_not_found(tenants, api, credits):
    held, base = credits
    for username in ("customer", "partner"):
        client = api(username)
        assert client.get(base).status_code == 404
        assert (
            client.post(f"{base}{held.pk}/topups/", {"credits": "1"}, format="json").status_code
            == 404
        )
    # A contract of another subscription, under the caller's own subscription: 404 too.
    other = f"/api/v1/subscriptions/{tenants.backup.pk}/contracts/{held.pk}/topups/"
    assert api("customer2").post(other, {"credits": "1"}, format="json").status_code == 404
    assert not CreditEntry.objects.filter(kind="topup").exists()


def test_deliveries_are_listed_and_the_queries_do_not_grow_with_them(tenants, api):
    magazine = ProductContract.objects.get(code="magazine-6-issues")
    held = services.subscription_contract_add(
        subscription=tenants.office,
        contract=magazine,
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    url = f"/api/v1/subscriptions/{tenants.office.pk}/contracts/"
    client = api("customer2")
    with CaptureQueriesContext(connection) as few:
        [shown] = ok(client.get(url))
    # Issues 1 (2026-11-01, charged) delivered by the 22nd; the next is on 2026-12-01.
    assert [(d["number"], d["issue_date"], d["chargeable"]) for d in shown["deliveries"]] == [
        (1, "2026-11-01", True)
    ]
    # More contracts and more deliveries: the same number of queries.
    ScheduledIssue.objects.filter(subscription_contract=held).update(issue_date=date(2026, 11, 2))
    services.subscription_contract_add(
        subscription=tenants.office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    with CaptureQueriesContext(connection) as many:
        shown = ok(client.get(url))
    assert len(shown) == 2 and len(shown[0]["deliveries"]) == 12
    assert len(many.captured_queries) == len(few.captured_queries)
