"""Fixtures of the self-service tests: customers with their logins, on the demo catalog."""

from datetime import date

import pytest

from tests.partners import builders
from tests.partners.builders import on  # noqa: F401 - a fixture


@pytest.fixture
def maple(demo_catalog):
    """RULES example 6.3: Hosting A, 150.00 CAD a month, from 2026-11-01."""
    customer = builders.self_service_customer("Maple Hosting Co.", "mary")
    builders.subscribe(customer, "hosting-a", date(2026, 11, 1))
    return customer


@pytest.fixture
def maple_client(client, maple):
    client.force_login(maple.users.get().user)
    return client


@pytest.fixture
def dupont(demo_catalog):
    """RULES example 4.2: the 24-month office suite with a prorated penalty, from 2026-01-01."""
    customer = builders.self_service_customer(
        "Atelier Dupont", "denis", currency="EUR", country="FR", postal_code="69001", city="Lyon"
    )
    builders.subscribe(customer, "office-24m", date(2026, 1, 1), po_reference="AD-2026-001")
    return customer


@pytest.fixture
def dupont_client(client, dupont):
    client.force_login(dupont.users.get().user)
    return client
