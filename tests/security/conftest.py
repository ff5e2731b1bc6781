"""The security tests use the portal fixtures (a partner, its user and customer)."""

from tests.partners.builders import on  # noqa: F401 - a fixture
from tests.partners.conftest import acme, bakery, nordic, partner_client  # noqa: F401 - fixtures
