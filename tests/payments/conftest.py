import pytest

from tests.partners.builders import (  # noqa: F401 - fixtures
    dupont,
    dupont_client,
    maple,
    maple_client,
    on,
)
from tests.payments.builders import quarterly_invoice
from tests.subscriptions.factories import CustomerFactory


@pytest.fixture
def quarterly(demo_catalog):
    """The invoice of billing-rules example 6.1 (quarterly_invoice), to a French customer."""
    return quarterly_invoice(CustomerFactory(name="Boulangerie Martin", locale="fr"))
