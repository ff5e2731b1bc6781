"""Token authentication and roles: an operator sees everything, a partner its customers, a
customer itself; another tenant's row answers 404 and changes nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework.test import APIClient

from billing.models import Invoice
from partners.models import Partner
from subscriptions.models import SubscriptionEvent
from tests.api.conftest import results, token_client

pytestmark = pytest.mark.django_db

LISTS = ["customers", "subscriptions", "invoices", "partners"]

# Who sees which customers in the demo (the operator sees the partners' billing accounts too).
CUSTOMERS_OF = {
    "operator": {
        "Maple Hosting Co.",
        "Atelier Dupont",
        "Boulangerie Martin",
        "Clinique Saint-Roch",
        "Fjord Logistics",
        "Acme Resellers SARL",
        "Nordic Devices AS",
    },
    "partner": {"Boulangerie Martin", "Clinique Saint-Roch"},
    "partner2": {"Fjord Logistics"},
    "customer": {"Maple Hosting Co."},
    "customer2": {"Atelier Dupont"},
}

ACCOUNT_OF = {"partner": "Acme Resellers SARL", "partner2": "Nordic Devices AS"}


def names(rows, key="customer"):
    return {row[key]["name"] if key else row["name"] for row in rows}


@pytest.mark.parametrize("username", list(CUSTOMERS_OF))
def test_each_role_lists_only_its_own_customers_subscriptions_and_invoices(demo, api, username):
    client = api(username)
    own = CUSTOMERS_OF[username]
    assert names(results(client.get("/api/v1/customers/")), key=None) == own
    subscriptions = results(client.get("/api/v1/subscriptions/"))
    assert subscriptions, "every demo tenant but the clinic has a subscription"
    assert names(subscriptions) <= own
    invoices = results(client.get("/api/v1/invoices/?page_size=200"))
    # A partner's sales are invoiced to its billing account, for its customers (RULES §9).
    account = ACCOUNT_OF.get(username)
    assert invoices and names(invoices) <= own | ({account} if account else set())
    assert {row["end_customer_name"] for row in invoices} <= own | {""}
    expected = Invoice.objects.filter(
        Q(customer__name__in=own) | Q(customer__name=account) | Q(end_customer__name__in=own)
    )
    if username != "operator":
        expected = expected.exclude(status="draft")
    assert len(invoices) == expected.count()


@pytest.mark.parametrize(
    ("username", "partners"),
    [
        ("operator", {"acme", "nordic"}),
        ("partner", {"acme"}),
        ("partner2", {"nordic"}),
        ("customer", set()),  # sold directly
        ("customer2", set()),
    ],
)
def test_partners_are_seen_by_their_users_and_their_customers(demo, api, username, partners):
    assert {p["code"] for p in results(api(username).get("/api/v1/partners/"))} == partners


def foreign_rows(demo, username):
    """A customer, a subscription and an invoice the user must not see."""
    other = {
        "partner": (demo.fjord, demo.fjord_seats),
        "partner2": (demo.bakery, demo.bakery_seats),
        "customer": (demo.dupont, demo.office),
        "customer2": (demo.maple, demo.hosting),
    }[username]
    return other[0], other[1], demo.invoice_of(other[0])


@pytest.mark.parametrize("username", ["partner", "partner2", "customer", "customer2"])
def test_another_tenants_rows_are_not_found(demo, api, username):
    client = api(username)
    customer, subscription, invoice = foreign_rows(demo, username)
    for url in [
        f"/api/v1/customers/{customer.pk}/",
        f"/api/v1/subscriptions/{subscription.pk}/",
        f"/api/v1/invoices/{invoice.pk}/",
        f"/api/v1/invoices/{invoice.pk}/pdf/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert set(response.json()) == {"detail"}


CHANGES = [
    ("seats/", {"seat_type": "gateway", "quantity": 1}),
    ("seats/preview/", {"seat_type": "gateway", "quantity": 1}),
    ("seat-reductions/", {"seat_type": "gateway", "quantity": 1}),
    ("seat-reductions/preview/", {"seat_type": "gateway", "quantity": 1}),
    ("plan-change/", {"plan": "hosting-b"}),
    ("plan-change/preview/", {"plan": "hosting-b"}),
    ("cancel/", {}),
    ("cancel/preview/", {}),
    ("coupons/", {"code": "coupon_87"}),
    ("coupons/preview/", {"code": "coupon_87"}),
    ("contracts/1/consumptions/", {"amount": "1.00"}),
]


@pytest.mark.parametrize("username", ["partner", "partner2", "customer", "customer2"])
def test_changes_to_another_tenants_subscription_are_not_found_and_change_nothing(
    demo, api, username
):
    client = api(username)
    _customer, subscription, _invoice = foreign_rows(demo, username)
    before = SubscriptionEvent.objects.count()
    for path, body in CHANGES:
        response = client.post(f"/api/v1/subscriptions/{subscription.pk}/{path}", body)
        assert response.status_code == 404, path
        response = client.post(
            f"/api/v1/subscriptions/{subscription.pk}/{path}", body, HTTP_IDEMPOTENCY_KEY=path
        )
        assert response.status_code == 404, path
    assert SubscriptionEvent.objects.count() == before


@pytest.mark.parametrize("username", ["partner", "customer"])
def test_a_subscription_cannot_be_created_for_another_tenants_customer(demo, api, username):
    other = demo.fjord if username == "partner" else demo.dupont
    response = api(username).post(
        "/api/v1/subscriptions/",
        {"customer": other.pk, "plan": "office-24m", "start_date": "2026-12-01"},
    )
    assert response.status_code == 400
    assert "customer" in response.json()
    assert not other.subscriptions.filter(plan__code="office-24m", start_date="2026-12-01").exists()


def test_without_a_token_the_api_answers_401(demo):
    response = APIClient().get("/api/v1/subscriptions/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_answers_401(demo):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/plans/").status_code == 401


def test_a_user_with_no_role_is_refused(demo):
    outsider = get_user_model().objects.create_user("outsider", password="x-long-password-1")
    response = token_client(outsider).get("/api/v1/plans/")
    assert response.status_code == 403
    assert "no access to the API" in response.json()["detail"]


def test_the_users_of_an_inactive_partner_lose_access(demo, api):
    Partner.objects.filter(code="acme").update(is_active=False)
    assert api("partner").get("/api/v1/customers/").status_code == 403
    assert api("partner2").get("/api/v1/customers/").status_code == 200


def test_an_inactive_user_cannot_use_its_token(demo, api):
    client = api("partner")
    get_user_model().objects.filter(username="partner").update(is_active=False)
    assert client.get("/api/v1/customers/").status_code == 401


def test_unknown_addresses_under_the_api_answer_a_json_404(demo, api):
    client = api("operator")
    for method, url in [
        ("get", "/api/v1/subscriptions/abc/"),
        ("get", "/api/v1/invoices/0.5/pdf/"),
        ("post", "/api/v1/subscriptions/0.5/cancel/"),
        ("get", "/api/v1/no-such-thing/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found."}
    response = client.get("/api/v1/plans")
    assert (response.status_code, response["Location"]) == (301, "/api/v1/plans/")
