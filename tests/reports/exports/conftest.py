"""Fixtures of the export tests: the API tests' tenants (tests/api/conftest.py: partners,
their customers, direct customers, subscriptions and invoices made by the billing run, under
a fixed date), with a credit note and a payment that came back."""

from datetime import date

import pytest

from billing.models import Payment
from billing.services import invoice_cancel_by_credit_note, payment_reverse
from tests.api.conftest import _now, api, logins, tenants  # noqa: F401 - fixtures reused


@pytest.fixture
def documents(tenants):  # noqa: F811 - the fixture imported above
    """`tenants`, with Maple's invoice cancelled (`cancelled`) by a credit note (`credit_note`)
    and the payment of Acme's invoice for the bakery returned (a reversal)."""
    tenants.cancelled = tenants.invoice_of(tenants.maple)
    tenants.credit_note = invoice_cancel_by_credit_note(
        invoice=tenants.cancelled, reason="Wrong plan", day=date(2026, 11, 20)
    )
    payment = Payment.objects.get(invoice=tenants.invoice_of(tenants.bakery))
    payment_reverse(payment=payment, day=date(2026, 11, 21), reason="AM04")
    return tenants
