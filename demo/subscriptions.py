"""Demo customers and subscriptions, sold directly (partners' customers are in demo/partners.py).

Idempotent: a customer is found by its email, a subscription by its customer and plan.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from catalog.models import Bundle, Plan, ProductContract, SeatType
from core import clock
from demo.catalog import upsert
from subscriptions import services
from subscriptions.models import Customer, Subscription


def demo_customer(email: str, **fields: Any) -> Customer:
    return upsert(Customer, {"email": email}, **fields)


def demo_subscription(
    customer: Customer,
    plan_code: str,
    start: date,
    *,
    sell=services.subscription_create,
    **kwargs: Any,
) -> Subscription:
    plan = Plan.objects.get(code=plan_code)
    existing = (
        Subscription.objects.filter(customer=customer, plan__upgrade_group=plan.upgrade_group)
        if plan.upgrade_group_id
        else Subscription.objects.filter(customer=customer, plan=plan)
    )
    if existing.exists():
        return existing.first()
    return sell(
        customer=customer,
        plan=plan,
        start_date=start,
        # Sold on its start date (the demo's history), or today for a start still to come.
        today=min(start, clock.today()),
        channel="demo",
        **kwargs,
    ).subscription


def seed_subscriptions() -> dict[str, Any]:
    maple = demo_customer(
        "billing@maple-hosting.example",
        name="Maple Hosting Co.",
        address_line1="300 Bay Street",
        postal_code="M5H 2S8",
        city="Toronto",
        country="CA",
        currency="CAD",
        locale="en",
        payment_type="card",
    )
    hosting = demo_subscription(maple, "hosting-a", date(2026, 11, 1))
    dupont = demo_customer(
        "compta@atelier-dupont.example",
        name="Atelier Dupont",
        address_line1="12 rue des Tanneurs",
        postal_code="69001",
        city="Lyon",
        country="FR",
        currency="EUR",
        locale="fr",
        payment_type="sepa_debit",
        vat_number="FR96552100554",
        registration_number="552100554",
    )
    office = demo_subscription(dupont, "office-24m", date(2026, 1, 1), po_reference="AD-2026-001")
    # Support hours on the office suite: a credit-based contract, granted monthly (billing-rules
    # §8), shown with its ledger on the customer's page.
    if not office.contracts.exists():
        services.subscription_contract_add(
            subscription=office,
            contract=ProductContract.objects.get(code="support-credits"),
            start_date=date(2026, 1, 1),
            today=max(date(2026, 1, 1), clock.today()),
            channel="demo",
        )
    backup = demo_subscription(
        dupont,
        "cloud-backup-monthly",
        date(2026, 11, 10),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    )
    # A company of another member state with a VAT number: reverse charge (AE, billing-rules §10),
    # beside Atelier Dupont's French VAT (S) and Maple Hosting's export (O).
    werkstatt = demo_customer(
        "buchhaltung@berliner-werkstatt.example",
        name="Berliner Werkstatt GmbH",
        vat_number="DE136695976",
        address_line1="Friedrichstraße 100",
        postal_code="10117",
        city="Berlin",
        country="DE",
        currency="EUR",
        locale="en",
        payment_type="bank_transfer",
    )
    demo_subscription(werkstatt, "cloud-backup-monthly", date(2026, 9, 1))
    # The offers billed per issue (billing-rules §8), by prepaid credits and by metered usage
    # (billing-rules §12), one customer holding all three.
    lumiere = demo_customer(
        "factures@studio-lumiere.example",
        name="Studio Lumière",
        address_line1="8 quai de la Fosse",
        postal_code="44000",
        city="Nantes",
        country="FR",
        currency="EUR",
        locale="fr",
        payment_type="bank_transfer",
        vat_number="FR83404833048",
        registration_number="404833048",
    )
    offers = {
        code: demo_subscription(lumiere, code, date(2026, 11, 1))
        for code in ("quotidien-tech-monthly", "api-prepaid-monthly", "api-metered-monthly")
    }
    return {
        "maple": maple,
        "dupont": dupont,
        "werkstatt": werkstatt,
        "hosting": hosting,
        "office": office,
        "backup": backup,
        "gateway": SeatType.objects.get(code="gateway"),
        "lumiere": lumiere,
        "offers": offers,
    }
