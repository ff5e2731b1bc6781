"""A year of business for the dashboard and the reports: customers sold directly over the last
months, upgrades, a downgrade, cancellations and a customer who came back — so that every MRR
movement (billing-rules §11) has something behind it in the demo.

Idempotent: a customer is found by its email, and its story is told once (its subscriptions
are only created while it has none).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from catalog.models import Plan
from core import clock
from demo.subscriptions import demo_customer
from subscriptions import services
from subscriptions.models import Subscription

CANADA = {"country": "CA", "currency": "CAD", "locale": "en"}
FRANCE = {"country": "FR", "currency": "EUR", "locale": "fr"}

# name, city, postal code, where, and the story: (day, what, plan)
BOOK: list[tuple[str, str, str, dict[str, str], list[tuple[date, str, str]]]] = [
    (
        "Northern Lights Web",
        "Winnipeg",
        "R3C 4T3",
        CANADA,
        [(date(2025, 12, 1), "start", "hosting-a"), (date(2026, 4, 10), "change", "hosting-b")],
    ),
    (
        "Prairie Pixels",
        "Regina",
        "S4P 3Y2",
        CANADA,
        [(date(2026, 1, 5), "start", "hosting-b"), (date(2026, 6, 20), "change", "hosting-a")],
    ),
    (
        "Lakeshore Studio",
        "Kingston",
        "K7L 2V7",
        CANADA,
        [
            (date(2026, 2, 1), "start", "hosting-a"),
            (date(2026, 5, 15), "cancel", ""),
            (date(2026, 9, 1), "start", "hosting-b"),
        ],
    ),
    (
        "Maritime Data",
        "Halifax",
        "B3J 1S9",
        CANADA,
        [(date(2026, 3, 15), "start", "hosting-a"), (date(2026, 7, 1), "change", "hosting-b")],
    ),
    (
        "Rocky Mountain Apps",
        "Calgary",
        "T2P 1J9",
        CANADA,
        [(date(2026, 5, 1), "start", "hosting-b"), (date(2026, 10, 10), "cancel", "")],
    ),
    (
        "Harbour Analytics",
        "Vancouver",
        "V6B 1A1",
        CANADA,
        [(date(2026, 8, 1), "start", "hosting-a")],
    ),
    (
        "Tundra Software",
        "Yellowknife",
        "X1A 2L9",
        CANADA,
        [(date(2026, 10, 20), "start", "hosting-a")],
    ),
    (
        "Éditions du Rhône",
        "Valence",
        "26000",
        FRANCE,
        [(date(2025, 12, 15), "start", "office-24m")],
    ),
    (
        "Cabinet Lefèvre",
        "Nantes",
        "44000",
        FRANCE,
        [(date(2026, 2, 1), "start", "cloud-backup-monthly")],
    ),
    (
        "Studio Garonne",
        "Toulouse",
        "31000",
        FRANCE,
        [(date(2026, 4, 1), "start", "platform-yearly")],
    ),
    ("Ferme Numérique", "Rennes", "35000", FRANCE, [(date(2026, 6, 1), "start", "office-24m")]),
    (
        "Atelier des Vosges",
        "Épinal",
        "88000",
        FRANCE,
        [(date(2026, 9, 15), "start", "cloud-backup-monthly")],
    ),
]


def seed_history() -> int:
    """Tell each customer's story up to today; returns how many subscriptions were created."""
    today = clock.today()
    created = 0
    for name, city, postal_code, where, story in BOOK:
        slug = "".join(c for c in name.lower() if c.isalnum())[:24]
        customer = demo_customer(
            f"billing@{slug}.example",
            name=name,
            address_line1="1 Main Street" if where is CANADA else "1 place de la Mairie",
            postal_code=postal_code,
            city=city,
            payment_type="bank_transfer",
            **where,
        )
        if Subscription.objects.filter(customer=customer).exists():
            continue
        current: Subscription | None = None
        for day, what, plan_code in story:
            if day > today:
                break
            kwargs: dict[str, Any] = {"today": day, "channel": "demo"}
            if what == "start":
                current = services.subscription_create(
                    customer=customer,
                    plan=Plan.objects.get(code=plan_code),
                    start_date=day,
                    **kwargs,
                ).subscription
                created += 1
            elif what == "change" and current is not None:
                services.subscription_change_plan(
                    subscription=current, plan=Plan.objects.get(code=plan_code), **kwargs
                )
            elif what == "cancel" and current is not None:
                services.subscription_cancel(subscription=current, **kwargs)
    return created
