"""The customer.created webhook: each customer created (directly, by a partner, a partner's
billing account) is one delivery carrying the customer, to the endpoints that take that type
and, for a partner's endpoint, only about that partner's customers; dispatching again sends
nothing twice."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from integrations import services
from integrations.models import OutboxCursor, WebhookDelivery, WebhookEndpoint
from partners.models import Partner
from partners.services import partner_account_create, partner_customer_create
from subscriptions import services as subscription_services
from subscriptions.models import CustomerEvent

pytestmark = pytest.mark.django_db

ADDRESS = {
    "address_line1": "3 rue de la Paix",
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
    "currency": "EUR",
}


@pytest.fixture
def caught_up(logins):
    """The fixed tenants, their creations already dispatched (the dispatcher runs every
    minute): only what a test creates is new."""
    services.webhooks_dispatch()
    return logins


def endpoint(name: str, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name, url=f"http://127.0.0.1:9/{name}", secret="whsec_test", **fields
    )


def bodies(hook: WebhookEndpoint) -> list[dict]:
    return [json.loads(d.body) for d in hook.deliveries.order_by("id")]


def test_a_customer_created_is_one_delivery_carrying_the_customer(caught_up):
    hook = endpoint("erp")
    customer = subscription_services.customer_create(
        name="Librairie Colette", email="compta@colette.example", channel="admin", **ADDRESS
    )
    assert services.webhooks_dispatch() == 1
    [body] = bodies(hook)
    event = CustomerEvent.objects.get(customer=customer)
    assert body["id"] == f"cus_evt_{event.pk}" and body["type"] == "customer.created"
    assert body["data"]["change"] == "created" and body["data"]["channel"] == "admin"
    sent = body["data"]["customer"]
    assert sent["id"] == customer.pk and sent["name"] == "Librairie Colette"
    assert sent["email"] == "compta@colette.example" and sent["currency"] == "EUR"
    assert sent["partner"] is None
    delivery = hook.deliveries.get()
    assert delivery.event_type == "customer.created" and delivery.event_id == body["id"]


def test_a_partners_endpoint_gets_only_its_own_customers(caught_up):
    acme, nordic = caught_up.acme, caught_up.nordic
    everything = endpoint("all")
    acme_only = endpoint("acme", partner=acme)
    customers_only = endpoint("customers", event_types=["customer.created"])
    invoices_only = endpoint("invoices", event_types=["invoice.issued"])

    ours = partner_customer_create(
        partner=acme, name="Fromagerie Alpine", email="a@fromagerie.example", **ADDRESS
    )
    partner_customer_create(
        partner=nordic, name="Sild AS", email="post@sild.example", **{**ADDRESS, "country": "NO"}
    )
    subscription_services.customer_create(name="Direct SA", email="d@direct.example", **ADDRESS)
    newcomer = Partner.objects.create(code="new", name="Newcomer", email="n@new.example")
    partner_account_create(
        partner=newcomer, name="Newcomer SAS", email="billing@new.example", **ADDRESS
    )
    services.webhooks_dispatch()

    assert [b["data"]["customer"]["name"] for b in bodies(everything)] == [
        "Fromagerie Alpine",
        "Sild AS",
        "Direct SA",
        "Newcomer SAS",
    ]
    [only] = bodies(acme_only)
    assert only["data"]["customer"]["id"] == ours.pk
    assert only["data"]["customer"]["partner"]["code"] == "acme"
    assert len(bodies(customers_only)) == 4
    assert bodies(invoices_only) == []


def test_dispatching_twice_sends_a_creation_once(caught_up):
    endpoint("erp")
    subscription_services.customer_create(name="Once SARL", email="o@once.example", **ADDRESS)
    assert services.webhooks_dispatch() == 1
    assert services.webhooks_dispatch() == 0
    assert WebhookDelivery.objects.count() == 1
    cursor = OutboxCursor.objects.get(source="customer_events")
    assert cursor.position == CustomerEvent.objects.order_by("pk").last().pk


def test_a_refused_creation_leaves_no_event(caught_up):
    endpoint("erp")
    before = CustomerEvent.objects.count()
    with pytest.raises(ValidationError, match="email"):
        subscription_services.customer_create(name="No Mail", email="not-an-email", **ADDRESS)
    assert CustomerEvent.objects.count() == before
    assert services.webhooks_dispatch() == 0
