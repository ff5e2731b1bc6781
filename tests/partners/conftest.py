"""Fixtures of the partner portal tests: two partners with their users, a customer with devices;
the self-service customers of tests/account too, for the language tests."""

import pytest

from tests.partners import builders
from tests.partners.builders import (  # noqa: F401 - fixtures
    dupont,
    dupont_client,
    maple,
    maple_client,
    on,
)


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20.00", "paul")


@pytest.fixture
def nordic(demo_catalog):
    return builders.partner("nordic", "Nordic Devices", "15.00", "nora")


@pytest.fixture
def bakery(acme):
    """Acme's customer with 10 gateways installed and no subscription yet."""
    customer = builders.partner_customer(acme, "Boulangerie Martin")
    builders.devices(customer, "gateway", 10)
    return customer


@pytest.fixture
def partner_client(client, acme):
    client.force_login(acme.users.get().user)
    return client
