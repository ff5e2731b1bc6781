"""GET /api/v1/customers/{id}/entitlements/, and the features of a plan-change preview."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Plan
from subscriptions import services
from subscriptions.models import CustomerUser
from tests.subscriptions.factories import CustomerFactory
from tests.support.api import token_client
from tests.support.entitlements import TODAY, at, book, subscribe, use

pytestmark = pytest.mark.django_db


def url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/entitlements/"


def _client_of(customer):
    user = get_user_model().objects.create_user(f"user-{customer.pk}", password="x-long-pw-1")
    CustomerUser.objects.create(customer=customer, user=user)
    return token_client(user)


@pytest.fixture
def _today(time_machine):
    time_machine.move_to(at(TODAY), tick=False)


@pytest.mark.usefixtures("_today")
def test_a_customer_reads_its_entitlements(operator):
    b = book()
    use(b.first, "api_call", at(date(2026, 11, 3)), times=3)
    response = _client_of(b.customer).get(url(b.customer.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == b.customer.pk and body["day"] == TODAY.isoformat()
    features = {f["code"]: f for f in body["features"]}
    assert features["calls"] == {
        "code": "calls",
        "name": "Calls",
        "kind": "limit",
        "enabled": True,
        "limit": "4000",
        "unit": "calls",
        "used": "3",
        "remaining": "3997",
        "enforcement": "hard",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "granted_by": [b.first.pk, b.second.pk],
    }
    assert features["sso"]["enabled"] and features["sso"]["limit"] is None
    assert features["sso"]["used"] is None and features["sso"]["period_start"] is None
    assert features["seats"]["limit"] == "21"
    # the operator reads it too
    staff = token_client(get_user_model().objects.get(username="operator"))
    assert staff.get(url(b.customer.pk)).json() == body


@pytest.mark.usefixtures("_today")
def test_another_customers_entitlements_are_not_found():
    b = book()
    other = CustomerFactory()
    subscribe(other, b.pro)
    client = _client_of(b.customer)
    assert client.get(url(other.pk)).status_code == 404
    assert client.get(url(999_999)).status_code == 404
    assert client.get(url(b.customer.pk), {"day": "2026-01-01"}).status_code == 400


def test_a_partner_sees_only_its_customers_entitlements(tenants, api):
    partner = api("partner")
    bakery = partner.get(url(tenants.bakery.pk))
    assert bakery.status_code == 200
    assert [f["code"] for f in bakery.json()["features"]] == ["api-access"]
    assert bakery.json()["features"][0]["granted_by"] == [tenants.bakery_seats.pk]
    assert partner.get(url(tenants.fjord.pk)).status_code == 404  # Nordic's customer
    assert partner.get(url(tenants.maple.pk)).status_code == 404  # a direct customer
    assert api("customer").get(url(tenants.dupont.pk)).status_code == 404


def test_the_plan_change_preview_says_what_is_gained_and_lost(tenants, api):
    response = api("customer").post(
        f"/api/v1/subscriptions/{tenants.hosting.pk}/plan-change/preview/",
        {"plan": "hosting-b"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["features"] == [
        {
            "code": "priority-support",
            "name": "Priority support",
            "change": "gained",
            "limit_before": None,
            "limit_after": None,
        },
        {
            "code": "storage",
            "name": "Storage",
            "change": "raised",
            "limit_before": "100",
            "limit_after": "500",
        },
    ]
    assert Plan.objects.get(subscriptions=tenants.hosting).code == "hosting-a"  # nothing saved


def test_a_suspended_subscription_turns_its_features_off(tenants, api):
    services.subscription_suspend(subscription=tenants.hosting, day=TODAY, reason="unpaid")
    assert api("customer").get(url(tenants.maple.pk)).json()["features"] == []
