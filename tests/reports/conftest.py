"""Fixtures of the reports tests: two partners (with their billing accounts and users), a direct
customer."""

import pytest

from tests.partners import builders
from tests.partners.builders import on  # noqa: F401 - fixture
from tests.subscriptions.factories import CustomerFactory


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20.00", "paul")


@pytest.fixture
def nordic(demo_catalog):
    return builders.partner("nordic", "Nordic Devices", "15.00", "nora")


@pytest.fixture
def alpha(db):
    """A direct customer (it is invoiced itself)."""
    return CustomerFactory(name="Alpha Hosting")
