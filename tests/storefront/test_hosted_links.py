"""Temporary signed links to hosted pages: made over the API (operator, partner; another
partner's customer is not found), opened without a login, they reach that customer's plan change
(for that one subscription) or payment methods, and nothing else, until they expire. Forged,
withdrawn and expired links are refused with a page saying what to do."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from catalog.models import Plan
from core.errors import ApplicationError
from payments.models import PaymentMethod
from storefront.models import HostedPageLink
from storefront.services.links import hosted_link_create, hosted_link_open
from subscriptions.models import SubscriptionEvent
from tests.partners import builders
from tests.support.api import token_client
from tests.support.pages import text

pytestmark = pytest.mark.django_db

IBAN = "FR7630006000011234567890189"

# Fixtures: the self-service customers of the portal tests (Maple: Hosting A from 2026-11-01).
maple, maple_client, dupont, on = (
    builders.maple,
    builders.maple_client,
    builders.dupont,
    builders.on,
)


@pytest.fixture
def day(on):
    on(date(2026, 11, 21))  # Maple's Hosting A, from 2026-11-01 (billing-rules example 6.3)


@pytest.fixture
def hosting(maple, day):
    return maple.subscriptions.get()


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20.00", "ada")


@pytest.fixture
def nordic(demo_catalog):
    return builders.partner("nordic", "Nordic Devices", "15.00", "nils")


def api_as(username: str):
    return token_client(get_user_model().objects.get(username=username))


def hosted_pages_url(customer) -> str:
    return f"/api/v1/customers/{customer.pk}/hosted-pages/"


def link_path(url: str) -> str:
    assert url.startswith(settings.SITE_URL + "/offers/link/")
    return url.removeprefix(settings.SITE_URL)


# Made over the API ---------------------------------------------------------------------------


def test_an_operator_makes_a_plan_change_link_valid_for_the_set_time(hosting, maple, operator):
    response = token_client(operator).post(
        hosted_pages_url(maple), {"page": "change_plan", "subscription": hosting.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    link = HostedPageLink.objects.get()
    assert body["id"] == link.pk and body["page"] == "change_plan"
    assert body["customer"] == maple.pk and body["subscription"] == hosting.pk
    assert link_path(body["url"]).startswith("/offers/link/")
    ttl = timedelta(minutes=settings.STOREFRONT_LINK_TTL_MINUTES)
    assert link.expires_at == timezone.now() + ttl
    assert body["expires_at"] == "2026-11-21T10:00:00Z"  # 60 minutes after 10:00 in Paris
    assert link.created_by == operator and link.opened_at is None


def test_a_partner_makes_links_for_its_customers_only(acme, nordic, day):
    bakery = builders.partner_customer(acme, "Boulangerie Martin")
    fjord = builders.partner_customer(nordic, "Fjord Logistics", country="NO")
    ada = api_as("ada")
    made = ada.post(hosted_pages_url(bakery), {"page": "payment_methods"}, format="json")
    assert made.status_code == 201, made.content
    assert HostedPageLink.objects.get().customer == bakery

    refused = ada.post(hosted_pages_url(fjord), {"page": "payment_methods"}, format="json")
    assert refused.status_code == 404
    assert HostedPageLink.objects.count() == 1


def test_a_partners_sale_is_not_changed_through_a_link(acme, day):
    bakery = builders.partner_customer(acme, "Boulangerie Martin")
    sold = builders.sell_seats(bakery, start=date(2026, 11, 1), today=date(2026, 11, 21))
    response = api_as("ada").post(
        hosted_pages_url(bakery), {"page": "change_plan", "subscription": sold.pk}, format="json"
    )
    assert response.status_code == 400
    assert "managed by Acme Resellers SAS" in response.json()["subscription"][0]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"page": "invoices"}, "page", "is not a valid choice"),
        ({"page": "change_plan"}, "subscription", "Name the subscription"),
        ({"page": "payment_methods", "subscription": "mine"}, "subscription", "valid integer"),
        ({"page": "payment_methods", "colour": "red"}, "colour", "no field of this name"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(hosting, maple, operator, body, field, message):
    response = token_client(operator).post(hosted_pages_url(maple), body, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not HostedPageLink.objects.exists()


def test_the_subscription_must_be_the_customers_and_only_for_a_plan_change(
    hosting, maple, dupont, operator
):
    api = token_client(operator)
    other = dupont.subscriptions.get()
    foreign = api.post(
        hosted_pages_url(maple), {"page": "change_plan", "subscription": other.pk}, format="json"
    )
    assert foreign.status_code == 400
    assert foreign.json() == {"subscription": [f"This customer has no subscription {other.pk}."]}
    extra = api.post(
        hosted_pages_url(maple),
        {"page": "payment_methods", "subscription": hosting.pk},
        format="json",
    )
    assert extra.status_code == 400
    assert "names no subscription" in extra.json()["subscription"][0]
    assert not HostedPageLink.objects.exists()


def test_the_service_refuses_a_subscription_that_has_ended(hosting, maple):
    hosting.status = hosting.Status.ENDED
    hosting.save(update_fields=["status"])
    with pytest.raises(ApplicationError, match="has ended") as refused:
        hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    assert refused.value.field == "subscription"


# Opened without a login ----------------------------------------------------------------------


def open_link(client, path: str):
    response = client.get(path)
    assert response.status_code == 302, response.content
    return response


def test_the_link_opens_the_plan_change_without_a_login(client, hosting, maple):
    link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    opened = open_link(client, path)
    assert opened.url == reverse("account:change_plan", args=[hosting.pk])
    assert "_auth_user_id" not in client.session  # nobody is logged in

    page = text(client.get(opened.url))
    assert 'id="plan-hosting-b"' in page and "<strong>33.33 CAD</strong>" in page
    assert "You are on a secure link for Maple Hosting Co., valid until 11:00." in page
    assert 'aria-label="Your account"' not in page and "Log out" not in page
    assert 'href="{}"'.format(reverse("account:subscriptions")) not in page  # no way out

    link.refresh_from_db()
    first = link.opened_at
    assert first == timezone.now()
    open_link(client, path)
    link.refresh_from_db()
    assert link.opened_at == first  # the first opening is the one recorded


def test_the_change_is_previewed_then_made_through_the_link(client, hosting, maple):
    _link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    open_link(client, path)
    hosting_b = Plan.objects.get(code="hosting-b")
    url = reverse("account:change_plan_confirm", args=[hosting.pk, hosting_b.pk])
    assert "(250.00 − 150.00) × 10/30" in text(client.get(url))
    done = client.post(url)
    assert done.status_code == 302
    assert done.url == reverse("account:change_plan", args=[hosting.pk])
    hosting.refresh_from_db()
    assert hosting.plan == hosting_b
    change = hosting.events.get(kind=SubscriptionEvent.Kind.PLAN_CHANGED)
    assert change.channel == "hosted link" and change.actor is None
    assert "Upgraded to Hosting B now" in text(client.get(done.url))


def test_the_link_reaches_its_subscription_only(client, hosting, maple, dupont):
    second = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
    _link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    open_link(client, path)
    assert client.get(reverse("account:change_plan", args=[second.pk])).status_code == 404
    others = dupont.subscriptions.get()
    assert client.get(reverse("account:change_plan", args=[others.pk])).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["account:subscriptions", "account:invoices", "account:payment_methods"],
)
def test_a_plan_change_link_opens_no_other_page(client, hosting, maple, name):
    _link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    open_link(client, path)
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_payment_methods_link_signs_a_mandate_and_reaches_nothing_else(client, dupont, day):
    office = dupont.subscriptions.get()
    _link, path = hosted_link_create(customer=dupont, page="payment_methods")
    assert open_link(client, path).url == reverse("account:payment_methods")
    page = text(client.get(reverse("account:payment_methods")))
    assert "You are on a secure link for Atelier Dupont, valid until 11:00." in page
    signed = client.post(
        reverse("account:payment_methods"),
        {"account_holder": "Atelier Dupont", "iban": IBAN, "accepted": "on"},
    )
    assert signed.status_code == 302 and signed.url == reverse("account:payment_methods")
    method = PaymentMethod.objects.get(customer=dupont)
    assert method.kind == "sepa_debit" and method.is_default
    revoked = client.post(reverse("account:payment_method_revoke", args=[method.pk]))
    assert revoked.status_code == 302
    method.refresh_from_db()
    assert method.status == "revoked"
    for name, args in [
        ("account:change_plan", [office.pk]),
        ("account:subscription", [office.pk]),
        ("account:invoices", []),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and response.url.startswith(reverse("login")), name


def test_a_logged_in_customer_keeps_its_own_pages(maple_client, hosting, maple):
    birch = builders.self_service_customer("Birch Ltd", "bert")
    other = builders.subscribe(birch, "hosting-a", date(2026, 11, 1))
    _link, path = hosted_link_create(customer=birch, page="change_plan", subscription=other)
    open_link(maple_client, path)
    page = text(maple_client.get(reverse("account:change_plan", args=[hosting.pk])))
    assert "secure link" not in page and "Log out" in page
    hosted = text(maple_client.get(reverse("account:change_plan", args=[other.pk])))
    assert "You are on a secure link for Birch Ltd" in hosted and "Log out" not in hosted


# Refused -------------------------------------------------------------------------------------


def test_an_expired_link_is_refused_and_its_session_stops(client, hosting, maple, time_machine):
    link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    open_link(client, path)
    page_url = reverse("account:change_plan", args=[hosting.pk])
    time_machine.move_to(link.expires_at - timedelta(seconds=1), tick=False)
    assert client.get(page_url).status_code == 200

    time_machine.move_to(link.expires_at, tick=False)
    expired = client.get(page_url)
    assert expired.status_code == 410
    assert "This secure link expired on 2026-11-21 at 11:00 CET." in text(expired)
    refused = client.get(path)
    assert refused.status_code == 410
    assert "Ask whoever sent it to you for a new one." in text(refused)
    with pytest.raises(ApplicationError, match="expired"):
        hosted_link_open(token=path.split("/")[-2])


@pytest.mark.parametrize("change", ["tamper", "other salt", "garbage"])
def test_a_forged_link_is_refused(client, hosting, maple, change):
    link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    token = path.split("/")[-2]
    if change == "tamper":
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "other salt":
        forged = signing.dumps(link.pk, salt="storefront.verify")
    else:
        forged = "not-a-token"
    response = client.get(reverse("storefront:hosted_link", args=[forged]))
    assert response.status_code == 404
    assert "This link is not valid" in text(response)
    link.refresh_from_db()
    assert link.opened_at is None
    assert client.get(reverse("account:change_plan", args=[hosting.pk])).status_code == 302


def test_a_withdrawn_link_is_refused_even_where_it_was_opened(client, hosting, maple):
    link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)
    open_link(client, path)
    link.delete()
    response = client.get(path)
    assert response.status_code == 404
    assert "This link has been withdrawn" in text(response)
    page = client.get(reverse("account:change_plan", args=[hosting.pk]))
    assert page.status_code == 404 and "This link has been withdrawn" in text(page)
