"""Subscriptions over the API: lists and filters, detail, creation and every change with its
preview (the golden figures of billing-rules through HTTP), refusals with the pages' messages."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import translation

from billing.models import Invoice
from catalog.models import Plan, ProductContract, SeatType
from subscriptions import services
from subscriptions.models import (
    CreditEntry,
    Customer,
    Subscription,
    SubscriptionEvent,
    SubscriptionSeat,
)
from tests.support.api import acme_selling_over_the_api, created, results, token_client
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db


def at(day: date):
    """Business date `day` (10:00 in Paris)."""
    return time_machine.travel(f"{day.isoformat()} 09:00Z", tick=True)


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def nets(charges) -> list[str]:
    return [c["net"] for c in charges]


@pytest.fixture
def acme(demo_catalog):
    """A partner (20 %) with one customer and a portal user with a token
    (billing-rules example 6.1)."""
    return acme_selling_over_the_api()


def sell_seats(acme, *, years=3, seats=10) -> dict:
    with at(date(2026, 1, 1)):
        return created(
            acme.client.post(
                "/api/v1/subscriptions/",
                {
                    "customer": acme.customer.pk,
                    "plan": "device-seats",
                    "start_date": "2026-01-01",
                    "seats": {"gateway": seats},
                    "service_period_years": years,
                    "po_reference": "PO-BM-2026-01",
                },
            )
        )


# Creation --------------------------------------------------------------------------------------


def test_create_preview_gives_the_quarter_of_example_6_1_and_saves_nothing(acme):
    before = snapshot()
    with at(date(2026, 1, 1)):
        preview = ok(
            acme.client.post(
                "/api/v1/subscriptions/preview/",
                {
                    "customer": acme.customer.pk,
                    "plan": "device-seats",
                    "start_date": "2026-01-01",
                    "seats": {"gateway": 10},
                    "service_period_years": 3,
                },
            )
        )
    assert snapshot() == before
    [quarter] = preview["next_charges"]
    assert quarter["gross"] == "150.00"
    assert [d["amount"] for d in quarter["discounts"]] == ["15.00", "27.00"]
    assert quarter["net"] == preview["total_next"] == "108.00"
    assert quarter["tax_rate"] == "20.00"
    assert (quarter["period_start"], quarter["period_end"]) == ("2026-01-01", "2026-04-01")
    assert quarter["rule"] == "10 × 60.00 EUR / 1 year × 3/12"
    assert preview["charges"] == [] and preview["total_now"] == "0.00"
    assert preview["effective_date"] == "2026-01-01"
    assert preview["currency"] == "EUR"
    assert preview["message"].startswith("Billing starts on 2026-01-01")
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


def test_create_sells_through_the_partner_with_its_discount(acme):
    body = sell_seats(acme)
    subscription = body["subscription"]
    assert subscription["status"] == "active"
    assert subscription["partner"]["code"] == "acme"
    assert subscription["customer"] == {"id": acme.customer.pk, "name": "Boulangerie Martin"}
    assert subscription["seats"] == [
        {"seat_type": "gateway", "quantity": 10, "scheduled_quantity": None}
    ]
    assert subscription["po_reference"] == "PO-BM-2026-01"
    assert body["total_next"] == "108.00"
    assert body["event"]["kind"] == "created"
    row = Subscription.objects.get(pk=subscription["id"])
    assert row.events.get().channel == "api"
    assert row.events.get().actor.username == "acme-api"


def test_create_refusals_name_the_field_with_the_pages_message(acme):
    with at(date(2026, 1, 1)):
        response = acme.client.post(
            "/api/v1/subscriptions/",
            {"customer": acme.customer.pk, "plan": "device-seats", "start_date": "2026-01-01"},
        )
        assert response.status_code == 400
        assert response.json() == {"seats": ["Choose at least one seat."]}
        response = acme.client.post(
            "/api/v1/subscriptions/",
            {
                "customer": acme.customer.pk,
                "plan": "hosting-a",  # sold in CAD, the customer is invoiced in EUR
                "start_date": "2026-01-01",
            },
        )
        assert response.status_code == 400
        assert response.json()["plan"] == [
            "Hosting A is sold in CAD and Boulangerie Martin is invoiced in EUR: choose a plan in "
            "EUR."
        ]
    assert not Subscription.objects.exists()


def test_create_input_errors(acme):
    response = acme.client.post("/api/v1/subscriptions/", {})
    assert response.status_code == 400
    assert set(response.json()) == {"customer", "plan", "start_date"}
    response = acme.client.post(
        "/api/v1/subscriptions/",
        {
            "customer": acme.customer.pk,
            "plan": "no-such-plan",
            "start_date": "2026-01-01",
            "seats": {"unicorn": 1},
        },
    )
    assert response.status_code == 400
    assert "plan" in response.json()
    response = acme.client.post(
        "/api/v1/subscriptions/",
        {
            "customer": acme.customer.pk,
            "plan": "device-seats",
            "start_date": "2026-01-01",
            "seats": {"unicorn": 1},
        },
    )
    assert response.json() == {"seats": ["Unknown seat type: unicorn."]}
    response = acme.client.post(
        "/api/v1/subscriptions/",
        {"customer": acme.customer.pk, "plan": "device-seats", "start_date": "3026-01-01"},
    )
    assert list(response.json()) == ["start_date"]
    response = acme.client.post("/api/v1/subscriptions/", "not json", content_type="text/plain")
    assert response.status_code == 415
    response = acme.client.post(
        "/api/v1/subscriptions/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["__all__"]


def test_refusals_come_in_the_callers_language(acme):
    subscription = sell_seats(acme)["subscription"]
    with translation.override("fr"):
        expected = "Ajoutez au moins une licence."
    response = acme.client.post(
        f"/api/v1/subscriptions/{subscription['id']}/seats/",
        {"seat_type": "gateway", "quantity": 0},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert response.json() == {"quantity": [expected]}


# Seats ----------------------------------------------------------------------------------------


def test_seats_added_mid_quarter_example_6_2(acme, django_capture_on_commit_callbacks):
    subscription = sell_seats(acme)["subscription"]
    url = f"/api/v1/subscriptions/{subscription['id']}/seats/"
    with at(date(2026, 2, 15)):
        preview = ok(acme.client.post(url + "preview/", {"seat_type": "gateway", "quantity": 4}))
        assert SubscriptionSeat.objects.get().quantity == 10  # nothing saved
        [charge] = preview["charges"]
        assert charge["kind"] == "proration"
        assert (charge["gross"], charge["net"]) == ("30.00", "21.60")
        assert [d["amount"] for d in charge["discounts"]] == ["3.00", "5.40"]
        assert charge["rule"] == "(4 × 60.00 EUR / 1 year × 3/12) × 45/90"
        assert (charge["period_start"], charge["period_end"]) == ("2026-02-15", "2026-04-01")
        assert preview["total_now"] == "21.60"
        assert preview["total_next"] == "151.20"  # 14 seats from 2026-04-01
        with django_capture_on_commit_callbacks(execute=True):
            done = ok(acme.client.post(url, {"seat_type": "gateway", "quantity": 4}))
    assert {k: done[k] for k in preview} == preview | {"charges": done["charges"]}
    assert nets(done["charges"]) == ["21.60"]
    assert done["subscription"]["seats"][0]["quantity"] == 14
    assert done["event"]["kind"] == "seats_added"
    # One-off charges are invoiced at once: 21.60 + VAT 4.32 = 25.92.
    invoices = results(acme.client.get(f"/api/v1/invoices/?subscription={subscription['id']}"))
    assert "25.92" in {invoice["total"] for invoice in invoices}


def test_seat_reduction_accepted_before_the_freeze_refused_within_example_5_2(acme):
    subscription = sell_seats(acme, years=1)["subscription"]
    assert subscription["renewal_date"] == "2027-01-01"
    url = f"/api/v1/subscriptions/{subscription['id']}/seat-reductions/"
    with at(date(2026, 9, 30)):
        preview = ok(acme.client.post(url + "preview/", {"seat_type": "gateway", "quantity": 6}))
        assert preview["effective_date"] == "2027-01-01"
        assert preview["charges"] == []
        assert SubscriptionSeat.objects.get().scheduled_quantity is None
    with at(date(2026, 10, 1)):
        response = acme.client.post(url, {"seat_type": "gateway", "quantity": 6})
        assert response.status_code == 400
        assert response.json() == {
            "quantity": [
                "Seats cannot be reduced from 2026-10-01, 3 months before the renewal on "
                "2027-01-01."
            ]
        }
    with at(date(2026, 9, 30)):
        done = ok(acme.client.post(url, {"seat_type": "gateway", "quantity": 6}))
    assert done["effective_date"] == "2027-01-01"
    assert done["subscription"]["seats"] == [
        {"seat_type": "gateway", "quantity": 10, "scheduled_quantity": 6}
    ]


# Plan change, cancellation --------------------------------------------------------------------


def test_plan_upgrade_preview_then_change(tenants, api):
    client = api("customer")
    url = f"/api/v1/subscriptions/{tenants.hosting.pk}/plan-change/"
    preview = ok(client.post(url + "preview/", {"plan": "hosting-b"}))
    assert Subscription.objects.get(pk=tenants.hosting.pk).plan.code == "hosting-a"
    [charge] = preview["charges"]
    assert charge["kind"] == "proration"
    assert charge["rule"] == "(250.00 − 150.00) × 9/30"  # 22 Nov → 1 Dec of a 30-day month
    assert preview["total_now"] == "30.00" and preview["currency"] == "CAD"
    done = ok(client.post(url, {"plan": "hosting-b"}))
    assert done["subscription"]["plan"]["code"] == "hosting-b"
    assert done["total_now"] == "30.00"
    assert done["message"].startswith("Upgraded to Hosting B now: 30.00 CAD now")


def test_plan_change_outside_the_upgrade_group_is_refused(tenants, api):
    response = api("customer").post(
        f"/api/v1/subscriptions/{tenants.hosting.pk}/plan-change/", {"plan": "office-24m"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "plan": ["Hosting A can only move to the plans of its upgrade group (Hosting B)."]
    }


@pytest.fixture
def office(demo_catalog, operator):
    customer = Customer.objects.create(
        name="Atelier Dupont",
        email="compta@dupont.example",
        address_line1="12 rue des Tanneurs",
        postal_code="69001",
        city="Lyon",
        country="FR",
    )
    client = token_client(operator)
    with at(date(2026, 1, 1)):
        body = created(
            client.post(
                "/api/v1/subscriptions/",
                {"customer": customer.pk, "plan": "office-24m", "start_date": "2026-01-01"},
            )
        )
    return SimpleNamespace(client=client, url=f"/api/v1/subscriptions/{body['subscription']['id']}")


def test_cancellation_with_prorated_penalty_example_4_2(office, django_capture_on_commit_callbacks):
    with at(date(2026, 10, 1)):
        preview = ok(office.client.post(office.url + "/cancel/preview/", {}))
        assert preview["effective_date"] == "2026-11-01"
        [penalty] = preview["charges"]
        assert penalty["kind"] == "penalty"
        assert penalty["net"] == preview["total_now"] == "140.05"
        assert "240.00 × 426 ÷ 730 = 140.05 EUR" in preview["rule"]
        assert SubscriptionEvent.objects.filter(kind="cancellation").count() == 0
        with django_capture_on_commit_callbacks(execute=True):
            done = ok(office.client.post(office.url + "/cancel/"))
    assert done["subscription"]["status"] == "pending_cancellation"
    assert done["subscription"]["end_date"] == "2026-11-01"
    assert done["rule"] == preview["rule"]
    assert done["message"] == (
        "The subscription ends on 2026-11-01. A penalty of 168.06 EUR is invoiced now."
    )
    assert Invoice.objects.filter(lines__kind="penalty", net_total=Decimal("140.05")).exists()
    with at(date(2026, 10, 2)):  # later than 2026-11-01 it has ended: "already ended"
        response = office.client.post(office.url + "/cancel/")
    assert response.status_code == 400
    assert response.json() == {"__all__": ["A cancellation is already scheduled for 2026-11-01."]}


def test_cancellation_within_the_grace_period_has_no_penalty_example_4_2(office):
    with at(date(2026, 1, 10)):
        preview = ok(office.client.post(office.url + "/cancel/preview/"))
    assert preview["effective_date"] == "2026-02-01"
    assert preview["charges"] == [] and preview["total_now"] == "0.00"
    assert "no penalty" in preview["rule"]


# Coupons, credits --------------------------------------------------------------------------


def test_redeem_a_coupon_example_3_4(tenants, api):
    client = api("customer2")
    url = f"/api/v1/subscriptions/{tenants.backup.pk}/coupons/"
    preview = ok(client.post(url + "preview/", {"code": "coupon_87"}))
    assert not tenants.backup.redemptions.exists()
    done = ok(client.post(url, {"code": "coupon_87"}))
    assert done["next_charges"] == preview["next_charges"]
    addon = [c for c in done["next_charges"] if c["gross"] == "10.00"]
    assert [c["net"] for c in addon] == ["8.00"]
    assert done["message"].startswith("Code coupon_87 redeemed: 2.00 EUR off the invoice of")
    response = client.post(url, {"code": "coupon_87"})
    assert response.status_code == 400
    assert response.json() == {"code": ["The code coupon_87 has been fully used."]}
    response = client.post(url, {"code": ""})
    assert response.json() == {"code": ["Enter a code."]}


def test_redeem_a_coupon_whatever_its_case(tenants, api):
    """billing-rules §7: codes match whatever their case: COUPON_88 is the catalog's coupon_88."""
    client = api("customer2")
    url = f"/api/v1/subscriptions/{tenants.backup.pk}/coupons/"
    preview = ok(client.post(url + "preview/", {"code": "COUPON_88"}))
    assert preview["message"].startswith("Code coupon_88 redeemed: 2.00 EUR off the invoice of")
    assert preview["rule"] == "20 % off the additional service"
    assert not tenants.backup.redemptions.exists()
    done = ok(client.post(url, {"code": "COUPON_88"}))
    assert [c["net"] for c in done["next_charges"] if c["gross"] == "10.00"] == ["8.00"]
    assert tenants.backup.redemptions.get().code.code == "coupon_88"


@pytest.fixture
def credits(tenants):
    held = services.subscription_contract_add(
        subscription=tenants.office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    return SimpleNamespace(
        held=held,
        url=f"/api/v1/subscriptions/{tenants.office.pk}/contracts/{held.pk}/consumptions/",
    )


def test_record_credit_consumption_and_refuse_beyond_the_balance(tenants, api, credits):
    client = api("customer2")
    detail = ok(client.get(f"/api/v1/subscriptions/{tenants.office.pk}/"))
    assert [(c["id"], c["contract"], c["credit_balance"]) for c in detail["contracts"]] == [
        (credits.held.pk, "support-credits", "20.00")
    ]
    body = created(client.post(credits.url, {"amount": "5.50", "reference": "ticket 42"}))
    assert body["kind"] == "consumption"
    assert body["amount"] == "-5.50"
    assert body["balance"] == "14.50"
    assert body["reference"] == "ticket 42"
    response = client.post(credits.url, {"amount": "30"})
    assert response.status_code == 400
    assert response.json() == {"amount": ["Only 14.50 credits are left; 30.00 were asked for."]}
    response = client.post(credits.url, {"amount": "-1"})
    assert response.json() == {"amount": ["A consumption is a positive number of credits."]}
    assert CreditEntry.objects.filter(kind="consumption").count() == 1


def test_consumption_on_a_contract_of_another_subscription_is_not_found(tenants, api, credits):
    response = api("customer2").post(
        f"/api/v1/subscriptions/{tenants.backup.pk}/contracts/{credits.held.pk}/consumptions/",
        {"amount": "1"},
    )
    assert response.status_code == 404


# Reads -------------------------------------------------------------------------------------


def test_subscription_detail_has_seats_timeline_contracts_and_next_invoice(tenants, api):
    body = ok(api("partner").get(f"/api/v1/subscriptions/{tenants.bakery_seats.pk}/"))
    assert body["plan"]["code"] == "device-seats"
    assert body["partner"] == {"id": tenants.bakery.partner_link.partner_id, "code": "acme"} | {
        "name": "Acme Resellers"
    }
    assert body["seats"] == [{"seat_type": "gateway", "quantity": 10, "scheduled_quantity": None}]
    assert [e["kind"] for e in body["events"]] == ["created"]
    assert body["next_invoice"] == {"date": "2027-01-01", "amount": "108.00", "currency": "EUR"}
    assert body["service_period_years"] == 3
    assert body["renewal_date"] == "2029-10-01"  # sold from 2026-10-01 (tests/api/conftest.py)


def ids(response) -> set[int]:
    return {row["id"] for row in results(response)}


def test_subscription_filters(tenants, api):
    client = api("operator")
    everything = ids(client.get("/api/v1/subscriptions/"))
    assert len(everything) == 5
    assert ids(client.get("/api/v1/subscriptions/?status=trial")) == {tenants.backup.pk}
    assert ids(client.get("/api/v1/subscriptions/?status=trial&status=active")) == everything
    assert ids(client.get("/api/v1/subscriptions/?plan=device-seats")) == {
        tenants.bakery_seats.pk,
        tenants.fjord_seats.pk,
    }
    assert ids(client.get(f"/api/v1/subscriptions/?customer={tenants.dupont.pk}")) == {
        tenants.office.pk,
        tenants.backup.pk,
    }
    assert ids(client.get("/api/v1/subscriptions/?partner=nordic")) == {tenants.fjord_seats.pk}
    renewals = {s.pk: s.renewal_date for s in Subscription.objects.all()}
    day = renewals[tenants.fjord_seats.pk]
    assert ids(
        client.get(f"/api/v1/subscriptions/?renewal_date_after={day}&renewal_date_before={day}")
    ) == {pk for pk, renewal in renewals.items() if renewal == day}
    assert ids(client.get("/api/v1/subscriptions/?renewal_date_before=2026-12-31")) == {
        pk for pk, renewal in renewals.items() if renewal and renewal <= date(2026, 12, 31)
    }
    response = client.get("/api/v1/subscriptions/?status=nonsense")
    assert response.status_code == 400 and "status" in response.json()
    response = client.get("/api/v1/subscriptions/?renewal_date_after=someday")
    assert response.status_code == 400


def test_a_partner_filtering_on_another_partner_sees_nothing(tenants, api):
    assert results(api("partner").get("/api/v1/subscriptions/?partner=nordic")) == []
    assert results(api("partner").get("/api/v1/customers/?partner=nordic")) == []


def test_pagination(tenants, api):
    client = api("operator")
    first = client.get("/api/v1/subscriptions/?page_size=2").json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["next"].endswith("/api/v1/subscriptions/?page=2&page_size=2")
    last = client.get("/api/v1/subscriptions/?page_size=2&page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None
    assert client.get("/api/v1/subscriptions/?page=9").status_code == 404
    seen = [
        row["id"]
        for page in (1, 2, 3)
        for row in results(client.get(f"/api/v1/subscriptions/?page_size=2&page={page}"))
    ]
    assert len(seen) == len(set(seen)) == 5


def test_customer_list_filters_and_detail(tenants, api):
    client = api("operator")
    assert {c["name"] for c in results(client.get("/api/v1/customers/?partner=acme"))} == {
        "Boulangerie Martin",
        "Clinique Saint-Roch",
    }
    assert [c["name"] for c in results(client.get("/api/v1/customers/?currency=CAD"))] == [
        "Maple Hosting Co."
    ]
    assert [c["name"] for c in results(client.get("/api/v1/customers/?search=lyon"))] == [
        "Atelier Dupont"
    ]
    body = ok(api("partner2").get(f"/api/v1/customers/{tenants.fjord.pk}/"))
    assert body["partner"]["code"] == "nordic"
    assert body["country"] == "NO" and body["currency"] == "EUR"


def test_every_previewable_change_saves_nothing(tenants, api, credits):
    """Each preview runs the very service of its change with dry_run=True."""
    before = snapshot(), CreditEntry.objects.count(), Invoice.objects.count()
    plans = {p.code: p for p in Plan.objects.all()}
    assert plans  # the catalog is there
    for username, subscription, path, body in [
        (
            "partner",
            tenants.bakery_seats,
            "seats/preview/",
            {"seat_type": "gateway", "quantity": 2},
        ),
        (
            "partner",
            tenants.bakery_seats,
            "seat-reductions/preview/",
            {"seat_type": "gateway", "quantity": 1},
        ),
        ("customer", tenants.hosting, "plan-change/preview/", {"plan": "hosting-b"}),
        ("customer2", tenants.office, "cancel/preview/", {}),
        ("customer2", tenants.backup, "coupons/preview/", {"code": "coupon_88"}),
    ]:
        response = api(username).post(f"/api/v1/subscriptions/{subscription.pk}/{path}", body)
        assert response.status_code in (200, 400), response.content
    assert (snapshot(), CreditEntry.objects.count(), Invoice.objects.count()) == before
    assert SeatType.objects.filter(code="gateway").exists()
