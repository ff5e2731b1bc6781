"""The demo's payment methods (Acme Resellers pays its invoices by SEPA direct debit) and its
dunning policy."""

from __future__ import annotations

from core import clock
from partners.models import Partner
from payments.models import DunningPolicy, PaymentMethod
from payments.services import sepa_mandate_add


def seed_payments() -> None:
    # Stripe's and Chargebee's defaults, roughly: three retries within a week, suspension two
    # weeks after the due date, cancellation after 45 days.
    DunningPolicy.objects.get_or_create(
        name="Standard",
        defaults={
            "retry_days": "3, 5, 7",
            "suspend_after_days": 14,
            "final_after_days": 45,
            "final_action": DunningPolicy.Final.CANCEL,
        },
    )
    account = Partner.objects.get(code="acme").account
    if account is None or PaymentMethod.objects.filter(customer=account).exists():
        return  # seeded already (seed_demo runs twice without change)
    sepa_mandate_add(
        customer=account,
        account_holder="Acme Resellers SARL",
        iban="FR14 2004 1010 0505 0001 3M02 606",
        accepted=True,
        today=clock.today(),
    )
