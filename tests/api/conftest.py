"""Fixtures of the API tests: a fixed date, token clients per role, the demo tenants.

The demo data (`seeded`) gives the fixed users of the permission tests: `operator` (staff),
`partner` (Acme Resellers: Boulangerie Martin, Clinique Saint-Roch), `partner2` (Nordic
Devices: Fjord Logistics), `customer` (Maple Hosting Co.) and `customer2` (Atelier Dupont).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework.test import APIClient

from billing.models import Invoice
from subscriptions.models import Customer, Subscription
from tests.support.api import token_client

# 10:00 in Paris on the demo's "today": the seed bills up to this date.
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def api():
    """api("partner") → a client authenticated with that user's token."""

    def make(username: str, **headers) -> APIClient:
        return token_client(get_user_model().objects.get(username=username), **headers)

    return make


@dataclass
class Demo:
    maple: Customer  # customer's (direct, CAD)
    dupont: Customer  # customer2's (direct, EUR)
    bakery: Customer  # partner's (Acme)
    clinic: Customer  # partner's (Acme), no subscription
    fjord: Customer  # partner2's (Nordic)
    hosting: Subscription  # maple, hosting-a
    office: Subscription  # dupont, office-24m
    backup: Subscription  # dupont, cloud-backup (trial)
    bakery_seats: Subscription  # bakery, device-seats (billing-rules example 6.1)
    fjord_seats: Subscription  # fjord, device-seats

    def invoice_of(self, customer: Customer) -> Invoice:
        """An issued invoice about the customer: addressed to it, or to its partner for it."""
        return (
            Invoice.objects.filter(Q(customer=customer) | Q(end_customer=customer))
            .exclude(status="draft")
            .first()
        )


@pytest.fixture
def demo(seeded) -> Demo:
    customers = {c.name: c for c in Customer.objects.all()}
    subscriptions = Subscription.objects.select_related("plan", "customer")

    def sub(customer: str, plan: str) -> Subscription:
        return subscriptions.get(customer__name=customer, plan__code=plan)

    return Demo(
        maple=customers["Maple Hosting Co."],
        dupont=customers["Atelier Dupont"],
        bakery=customers["Boulangerie Martin"],
        clinic=customers["Clinique Saint-Roch"],
        fjord=customers["Fjord Logistics"],
        hosting=sub("Maple Hosting Co.", "hosting-a"),
        office=sub("Atelier Dupont", "office-24m"),
        backup=sub("Atelier Dupont", "cloud-backup-monthly"),
        bakery_seats=sub("Boulangerie Martin", "device-seats"),
        fjord_seats=sub("Fjord Logistics", "device-seats"),
    )
