"""Talking to the API in tests: token clients, answers read, a partner selling over the API."""

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import Partner, PartnerUser
from partners.services import partner_account_create, partner_customer_create


def token_client(user, **headers) -> APIClient:
    token, _created = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", **headers)
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def acme_selling_over_the_api() -> SimpleNamespace:
    """A partner (20 %) with one customer and a portal user with a token
    (billing-rules example 6.1): `partner`, `customer`, and `client`, that user's API client. Needs
    the demo catalog."""
    partner = Partner.objects.create(
        code="acme", name="Acme Resellers", email="orders@acme.example", discount_percent=20
    )
    partner_account_create(
        partner=partner,
        name="Acme Resellers SARL",
        email="billing@acme.example",
        address_line1="25 rue des Entrepreneurs",
        postal_code="69003",
        city="Lyon",
        country="FR",
        currency="EUR",
    )
    customer = partner_customer_create(
        partner=partner,
        name="Boulangerie Martin",
        email="factures@boulangerie.example",
        address_line1="4 place du Marché",
        postal_code="33000",
        city="Bordeaux",
        country="FR",
        currency="EUR",
    )
    user = get_user_model().objects.create_user("acme-api", password="x-long-password-1")
    PartnerUser.objects.create(partner=partner, user=user)
    return SimpleNamespace(partner=partner, customer=customer, client=token_client(user))
