"""The demo's payment methods — Acme Resellers pays its invoices by SEPA direct debit; Maple
Hosting Co. by a saved test card (the test gateway's 4242 4242 4242 4242: no internet, no real
money) — and its dunning policy."""

from __future__ import annotations

from core import clock
from partners.models import Partner
from payments.models import DunningPolicy, PaymentMethod
from payments.services import card_add, sepa_mandate_add
from subscriptions.models import Customer

MAPLE_EMAIL = "billing@maple-hosting.example"


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
    today = clock.today()
    account = Partner.objects.get(code="acme").account
    if account is not None and not PaymentMethod.objects.filter(customer=account).exists():
        sepa_mandate_add(
            customer=account,
            account_holder="Acme Resellers SARL",
            iban="FR14 2004 1010 0505 0001 3M02 606",
            accepted=True,
            today=today,
        )
    maple = Customer.objects.filter(email=MAPLE_EMAIL).first()
    if maple is not None and not PaymentMethod.objects.filter(customer=maple).exists():
        card_add(
            customer=maple,
            number="4242 4242 4242 4242",
            expiry=f"12/{(today.year + 3) % 100:02d}",
            holder="Mary Maple",
            today=today,
        )
