"""Fixtures of the self-service tests: customers with their logins, on the demo catalog (defined
in tests/partners/builders.py, which the partner portal's language tests share)."""

from tests.partners.builders import (  # noqa: F401 - fixtures
    dupont,
    dupont_client,
    maple,
    maple_client,
    on,
)
