"""Token authentication and roles: an operator sees everything, a partner its customers, a
customer itself; another tenant's row answers 404 and changes nothing. Partner details by role,
isolation across the two kinds of tenant (a partner and a customer sold directly), and plans for
sale by role.

The fixed users are those of tests/api/conftest.py (`logins`, and `tenants` with what was sold
and invoiced): operator; partner (Acme: Boulangerie Martin, Clinique Saint-Roch), partner2
(Nordic: Fjord Logistics); customer (Maple Hosting Co.) and customer2 (Atelier Dupont), both sold
directly, without a partner.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework.test import APIClient

from billing.models import Invoice
from catalog.api import PlanSerializer
from catalog.models import Plan
from partners.models import Partner
from subscriptions.models import CustomerUser, Subscription, SubscriptionEvent
from tests.catalog.factories import PlanFactory
from tests.support.api import results, token_client
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db

LISTS = ["customers", "subscriptions", "invoices", "partners"]

# Who sees which customers among the tenants (the operator sees the partners' billing accounts too).
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
def test_each_role_lists_only_its_own_customers_subscriptions_and_invoices(tenants, api, username):
    client = api(username)
    own = CUSTOMERS_OF[username]
    assert names(results(client.get("/api/v1/customers/")), key=None) == own
    subscriptions = results(client.get("/api/v1/subscriptions/"))
    assert subscriptions, "every tenant but the clinic has a subscription"
    assert names(subscriptions) <= own
    invoices = results(client.get("/api/v1/invoices/?page_size=200"))
    # A partner's sales are invoiced to its billing account, for its customers (billing-rules §9).
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
def test_partners_are_seen_by_their_users_and_their_customers(logins, api, username, partners):
    assert {p["code"] for p in results(api(username).get("/api/v1/partners/"))} == partners


def foreign_rows(tenants, username):
    """A customer, a subscription and an invoice the user must not see."""
    other = {
        "partner": (tenants.fjord, tenants.fjord_seats),
        "partner2": (tenants.bakery, tenants.bakery_seats),
        "customer": (tenants.dupont, tenants.office),
        "customer2": (tenants.maple, tenants.hosting),
    }[username]
    return other[0], other[1], tenants.invoice_of(other[0])


@pytest.mark.parametrize("username", ["partner", "partner2", "customer", "customer2"])
def test_another_tenants_rows_are_not_found(tenants, api, username):
    client = api(username)
    customer, subscription, invoice = foreign_rows(tenants, username)
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
    tenants, api, username
):
    client = api(username)
    _customer, subscription, _invoice = foreign_rows(tenants, username)
    before = SubscriptionEvent.objects.count()
    rows = snapshot()
    for path, body in CHANGES:
        response = client.post(f"/api/v1/subscriptions/{subscription.pk}/{path}", body)
        assert response.status_code == 404, path
        response = client.post(
            f"/api/v1/subscriptions/{subscription.pk}/{path}", body, HTTP_IDEMPOTENCY_KEY=path
        )
        assert response.status_code == 404, path
    assert SubscriptionEvent.objects.count() == before
    assert snapshot() == rows


@pytest.mark.parametrize("username", ["partner", "customer"])
def test_a_subscription_cannot_be_created_for_another_tenants_customer(tenants, api, username):
    other = tenants.fjord if username == "partner" else tenants.dupont
    response = api(username).post(
        "/api/v1/subscriptions/",
        {"customer": other.pk, "plan": "office-24m", "start_date": "2026-12-01"},
    )
    assert response.status_code == 400
    assert "customer" in response.json()
    assert not other.subscriptions.filter(plan__code="office-24m", start_date="2026-12-01").exists()


def test_without_a_token_the_api_answers_401(logins):
    response = APIClient().get("/api/v1/subscriptions/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_answers_401(logins):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/plans/").status_code == 401


def test_a_user_with_no_role_is_refused(logins):
    outsider = get_user_model().objects.create_user("outsider", password="x-long-password-1")
    response = token_client(outsider).get("/api/v1/plans/")
    assert response.status_code == 403
    assert "no access to the API" in response.json()["detail"]


def test_the_users_of_an_inactive_partner_lose_access(logins, api):
    Partner.objects.filter(code="acme").update(is_active=False)
    assert api("partner").get("/api/v1/customers/").status_code == 403
    assert api("partner2").get("/api/v1/customers/").status_code == 200


def test_an_inactive_user_cannot_use_its_token(logins, api):
    client = api("partner")
    get_user_model().objects.filter(username="partner").update(is_active=False)
    assert client.get("/api/v1/customers/").status_code == 401


def test_unknown_addresses_under_the_api_answer_a_json_404(logins, api):
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


PARTNER_FIELDS = {"id", "code", "name", "email", "discount_percent", "is_active"}
MISSING = 999999


def not_found(response, like=None) -> bool:
    """A 404 that says nothing but "not found" (the same answer as for a missing row)."""
    if response.status_code != 404 or set(response.json()) != {"detail"}:
        return False
    return like is None or response.json() == like.json()


def partner(code: str) -> Partner:
    return Partner.objects.get(code=code)


# /api/v1/partners/{id}/ --------------------------------------------------------------------------


def test_an_operator_sees_every_partner(logins, api):
    client = api("operator")
    for code, name, email, discount in [
        ("acme", "Acme Resellers", "orders@acme-resellers.example", "20.00"),
        ("nordic", "Nordic Devices", "sales@nordic-devices.example", "15.00"),
    ]:
        response = client.get(f"/api/v1/partners/{partner(code).pk}/")
        assert response.status_code == 200
        assert response.json() == {
            "id": partner(code).pk,
            "code": code,
            "name": name,
            "email": email,
            "discount_percent": discount,
            "is_active": True,
        }


@pytest.mark.parametrize(
    ("username", "own", "other"), [("partner", "acme", "nordic"), ("partner2", "nordic", "acme")]
)
def test_a_partner_user_sees_its_own_partner_and_not_another(logins, api, username, own, other):
    client = api(username)
    response = client.get(f"/api/v1/partners/{partner(own).pk}/")
    assert response.status_code == 200
    assert set(response.json()) == PARTNER_FIELDS and response.json()["code"] == own

    foreign = client.get(f"/api/v1/partners/{partner(other).pk}/")
    missing = client.get(f"/api/v1/partners/{MISSING}/")
    assert missing.status_code == 404
    assert not_found(foreign, like=missing)  # the same answer as a missing one
    assert partner(other).name.encode() not in foreign.content


@pytest.mark.parametrize("username", ["customer", "customer2"])
def test_a_direct_customer_sees_no_partner(logins, api, username):
    client = api(username)
    missing = client.get(f"/api/v1/partners/{MISSING}/")
    for code in ("acme", "nordic"):
        response = client.get(f"/api/v1/partners/{partner(code).pk}/")
        assert not_found(response, like=missing)
        assert partner(code).name.encode() not in response.content


def test_a_partners_customer_sees_only_the_partner_that_manages_it(logins):
    user = get_user_model().objects.create_user("bruno", password="x-long-password-1")
    CustomerUser.objects.create(customer=logins.bakery, user=user)
    client = token_client(user)
    own = client.get(f"/api/v1/partners/{partner('acme').pk}/")
    assert own.status_code == 200 and own.json()["code"] == "acme"
    foreign = client.get(f"/api/v1/partners/{partner('nordic').pk}/")
    assert not_found(foreign, like=client.get(f"/api/v1/partners/{MISSING}/"))


def test_without_a_token_or_a_role_the_partner_is_refused_and_nothing_leaks(logins):
    url = f"/api/v1/partners/{partner('acme').pk}/"
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    outsider = get_user_model().objects.create_user("olga", password="x-long-password-1")
    refused = token_client(outsider).get(url)
    assert refused.status_code == 403
    assert "no access to the API" in refused.json()["detail"]
    for response in (anonymous, refused):
        assert set(response.json()) == {"detail"}
        assert b"Acme" not in response.content and b"acme-resellers" not in response.content


# Isolation across kinds of tenant: partners and direct customers ---------------------------------


def rows_of(tenants, customer, subscription) -> list[tuple[str, str]]:
    """The detail addresses of a customer's rows, each with the same address for a missing row."""
    invoice = tenants.invoice_of(customer)
    assert invoice is not None, "the fixture invoices every tenant that has a subscription"
    return [
        (f"/api/v1/customers/{customer.pk}/", f"/api/v1/customers/{MISSING}/"),
        (f"/api/v1/subscriptions/{subscription.pk}/", f"/api/v1/subscriptions/{MISSING}/"),
        (f"/api/v1/invoices/{invoice.pk}/", f"/api/v1/invoices/{MISSING}/"),
        (f"/api/v1/invoices/{invoice.pk}/pdf/", f"/api/v1/invoices/{MISSING}/pdf/"),
    ]


@pytest.mark.parametrize("username", ["partner", "partner2"])
def test_a_partner_does_not_see_a_direct_customers_rows(tenants, api, username):
    client = api(username)
    for customer, subscription in [
        (tenants.maple, tenants.hosting),
        (tenants.dupont, tenants.office),
    ]:
        for url, missing in rows_of(tenants, customer, subscription):
            response = client.get(url)
            assert not_found(response, like=client.get(missing)), url
            assert customer.name.encode() not in response.content
    # nor in its lists
    listed = client.get("/api/v1/customers/?page_size=200").json()["results"]
    assert {tenants.maple.pk, tenants.dupont.pk}.isdisjoint(row["id"] for row in listed)


@pytest.mark.parametrize("username", ["customer", "customer2"])
def test_a_direct_customer_does_not_see_a_partners_customers_rows(tenants, api, username):
    client = api(username)
    for customer, subscription in [
        (tenants.bakery, tenants.bakery_seats),
        (tenants.fjord, tenants.fjord_seats),
    ]:
        for url, missing in rows_of(tenants, customer, subscription):
            response = client.get(url)
            assert not_found(response, like=client.get(missing)), url
            assert customer.name.encode() not in response.content
    clinic = client.get(f"/api/v1/customers/{tenants.clinic.pk}/")  # Acme's, no subscription yet
    assert not_found(clinic, like=client.get(f"/api/v1/customers/{MISSING}/"))


def test_the_same_rows_are_there_for_their_owners(tenants, api):
    """The 404s above are about who asks: the operator and the owners get these rows."""
    for username, customer, subscription in [
        ("customer", tenants.maple, tenants.hosting),
        ("partner", tenants.bakery, tenants.bakery_seats),
        ("operator", tenants.dupont, tenants.office),
    ]:
        for url, _missing in rows_of(tenants, customer, subscription):
            assert api(username).get(url).status_code == 200, (username, url)


CROSS_KIND = [
    ("partner", "hosting"),  # Acme's user on Maple's (direct)
    ("partner2", "office"),  # Nordic's user on Dupont's (direct)
    ("customer", "bakery_seats"),  # Maple's user on Acme's customer's
    ("customer2", "fjord_seats"),  # Dupont's user on Nordic's customer's
]


@pytest.mark.parametrize(("username", "target"), CROSS_KIND)
def test_changes_across_kinds_of_tenant_are_not_found_and_change_nothing(
    tenants, api, username, target
):
    client = api(username)
    subscription = getattr(tenants, target)
    before = snapshot()
    for path, body in CHANGES:
        url = f"/api/v1/subscriptions/{subscription.pk}/{path}"
        for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": f"cross-{path}"}):
            response = client.post(url, body, format="json", **headers)
            missing = client.post(url.replace(f"/{subscription.pk}/", f"/{MISSING}/"), body)
            assert not_found(response, like=missing), (url, response.content)
            assert subscription.customer.name.encode() not in response.content
    assert snapshot() == before


@pytest.mark.parametrize(
    ("username", "target", "owner", "path", "body", "changed"),
    [
        (
            "partner",
            "hosting",
            "customer",
            "plan-change/",
            {"plan": "hosting-b"},
            lambda s: s.plan.code == "hosting-b",
        ),
        (
            "partner2",
            "hosting",
            "customer",
            "cancel/",
            {},
            lambda s: s.status == Subscription.Status.PENDING_CANCELLATION,
        ),
        (
            "customer",
            "bakery_seats",
            "partner",
            "seats/",
            {"seat_type": "gateway", "quantity": 2},
            lambda s: s.seats.get().quantity == 12,
        ),
        (
            "customer2",
            "bakery_seats",
            "partner",
            "cancel/",
            {},
            lambda s: s.status == Subscription.Status.PENDING_CANCELLATION,
        ),
    ],
)
def test_a_change_refused_across_kinds_is_made_by_the_owner(
    tenants, api, username, target, owner, path, body, changed
):
    """The same POST: 404 and nothing for the intruder, the change for the owner."""
    subscription = getattr(tenants, target)
    url = f"/api/v1/subscriptions/{subscription.pk}/{path}"
    before = snapshot()
    assert api(username).post(url, body, format="json").status_code == 404
    assert snapshot() == before
    assert not changed(Subscription.objects.get(pk=subscription.pk))

    response = api(owner).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert changed(Subscription.objects.get(pk=subscription.pk))


def test_an_idempotent_answer_is_never_replayed_to_another_user(tenants, api):
    """The owner's stored answer (with its rows) stays the owner's: the same key, address and
    body from another tenant is a new request, and a 404."""
    url = f"/api/v1/subscriptions/{tenants.hosting.pk}/cancel/"
    first = api("customer").post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key-1")
    assert first.status_code == 200
    replay = api("customer").post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key-1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    before = snapshot()
    for username in ("partner", "partner2", "customer2"):
        response = api(username).post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key-1")
        assert not_found(response), username
        assert "Idempotent-Replayed" not in response
    assert snapshot() == before


@pytest.mark.parametrize(("username", "other"), [("partner", "dupont"), ("customer", "bakery")])
def test_a_subscription_cannot_be_created_for_a_customer_of_the_other_kind(
    tenants, api, username, other
):
    customer = getattr(tenants, other)
    before = snapshot()
    for path in ("", "preview/"):
        response = api(username).post(
            f"/api/v1/subscriptions/{path}",
            {"customer": customer.pk, "plan": "office-24m", "start_date": "2026-12-01"},
            format="json",
        )
        assert response.status_code == 400, path
        assert "customer" in response.json()
        assert customer.name.encode() not in response.content
    assert snapshot() == before


# Plans for sale by role --------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["partner", "partner2", "customer", "customer2"])
def test_an_active_plan_is_seen_by_every_role_with_its_public_fields(logins, api, username):
    plan = Plan.objects.get(code="device-seats")
    response = api(username).get(f"/api/v1/plans/{plan.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(PlanSerializer.Meta.fields)
    assert (body["id"], body["code"], body["status"], body["currency"]) == (
        plan.pk,
        "device-seats",
        "active",
        "EUR",
    )
    assert body["billing_period"] == {"count": 3, "unit": "month"}
    assert [s["years"] for s in body["service_periods"]] == [1, 3, 5]


@pytest.mark.parametrize("status", [Plan.Status.DRAFT, Plan.Status.RETIRED])
@pytest.mark.parametrize("username", ["partner", "partner2", "customer", "customer2"])
def test_a_plan_not_for_sale_is_not_found_except_by_operators(logins, api, username, status):
    plan = PlanFactory(code=f"hidden-{status}", name="Hidden plan", status=status)
    response = api(username).get(f"/api/v1/plans/{plan.pk}/")
    assert not_found(response, like=api(username).get(f"/api/v1/plans/{MISSING}/"))
    assert b"Hidden plan" not in response.content
    listed = api(username).get("/api/v1/plans/?page_size=200").json()["results"]
    assert plan.code not in {row["code"] for row in listed}
    operator = api("operator").get(f"/api/v1/plans/{plan.pk}/")
    assert operator.status_code == 200 and operator.json()["status"] == status
