"""Fixtures of the API tests: a fixed date, token clients per role, and the tenants the
permission tests need, built through the services.

`logins` gives the fixed users of the permission tests and their roles, nothing sold yet:
`operator` (staff), `partner` (Acme Resellers, 20 %: Boulangerie Martin, Clinique Saint-Roch),
`partner2` (Nordic Devices, 15 %: Fjord Logistics), `customer` (Maple Hosting Co., direct, CAD)
and `customer2` (Atelier Dupont, direct, EUR), each partner with its billing account (Acme
Resellers SARL, Nordic Devices AS: what a partner sells is invoiced to it, billing-rules §9).

`tenants` adds the subscriptions and the invoices: one subscription per tenant but the clinic
(two for Dupont), and one issued invoice per party, issued by the billing run — Acme's for the
bakery paid, Nordic's for Fjord overdue, Maple's and Dupont's open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework.test import APIClient

from billing.models import Invoice
from billing.services import billing_run, invoices_mark_overdue, payment_record
from catalog.models import Bundle, Plan, SeatType
from partners.models import Partner, PartnerUser
from partners.services import partner_account_create, partner_customer_create, subscription_sell
from subscriptions import services
from subscriptions.models import Customer, CustomerUser, Subscription
from tests.support.api import token_client

# 10:00 in Paris on the tests' "today" (2026-11-22).
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)
PASSWORD = "x-long-password-1"


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


def _partner(
    code: str, name: str, email: str, discount: str, username: str, account: dict
) -> Partner:
    """A partner, its billing account and its login."""
    partner = Partner.objects.create(
        code=code, name=name, email=email, discount_percent=Decimal(discount)
    )
    partner_account_create(partner=partner, currency="EUR", **account)
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    PartnerUser.objects.create(partner=partner, user=user)
    return partner


def _direct_customer(username: str, **fields) -> Customer:
    customer = services.customer_create(**fields)
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    CustomerUser.objects.create(customer=customer, user=user)
    return customer


@dataclass
class Logins:
    acme: Partner  # partner's
    nordic: Partner  # partner2's
    maple: Customer  # customer's (direct, CAD)
    dupont: Customer  # customer2's (direct, EUR)
    bakery: Customer  # partner's (Acme)
    clinic: Customer  # partner's (Acme), never sold anything
    fjord: Customer  # partner2's (Nordic)


@pytest.fixture
def logins(demo_catalog, operator) -> Logins:
    """The fixed users and their roles (module docstring), on the rules' catalog."""
    acme = _partner(
        "acme",
        "Acme Resellers",
        "orders@acme-resellers.example",
        "20.00",
        "partner",
        {
            "name": "Acme Resellers SARL",
            "email": "billing@acme-resellers.example",
            "vat_number": "FR40303265045",
            "address_line1": "25 rue des Entrepreneurs",
            "postal_code": "69100",
            "city": "Villeurbanne",
            "country": "FR",
            "locale": "fr",
        },
    )
    nordic = _partner(
        "nordic",
        "Nordic Devices",
        "sales@nordic-devices.example",
        "15.00",
        "partner2",
        {
            "name": "Nordic Devices AS",
            "email": "invoices@nordic-devices.example",
            "address_line1": "Dronning Eufemias gate 16",
            "postal_code": "0191",
            "city": "Oslo",
            "country": "NO",
            "locale": "en",
        },
    )
    return Logins(
        acme=acme,
        nordic=nordic,
        maple=_direct_customer(
            "customer",
            name="Maple Hosting Co.",
            email="billing@maple-hosting.example",
            address_line1="300 Bay Street",
            postal_code="M5H 2S8",
            city="Toronto",
            country="CA",
            currency="CAD",
            locale="en",
        ),
        dupont=_direct_customer(
            "customer2",
            name="Atelier Dupont",
            email="compta@atelier-dupont.example",
            address_line1="12 rue des Tanneurs",
            postal_code="69001",
            city="Lyon",
            country="FR",
            currency="EUR",
            locale="fr",
        ),
        bakery=partner_customer_create(
            partner=acme,
            name="Boulangerie Martin",
            email="factures@boulangerie-martin.example",
            address_line1="4 place du Marché",
            postal_code="33000",
            city="Bordeaux",
            country="FR",
            currency="EUR",
            locale="fr",
        ),
        clinic=partner_customer_create(
            partner=acme,
            name="Clinique Saint-Roch",
            email="admin@clinique-saint-roch.example",
            address_line1="18 avenue Pasteur",
            postal_code="34000",
            city="Montpellier",
            country="FR",
            currency="EUR",
            locale="fr",
        ),
        fjord=partner_customer_create(
            partner=nordic,
            name="Fjord Logistics",
            email="finance@fjord-logistics.example",
            address_line1="Karl Johans gate 1",
            postal_code="0154",
            city="Oslo",
            country="NO",
            currency="EUR",
            locale="en",
        ),
    )


@dataclass
class Tenants(Logins):
    hosting: Subscription  # maple, hosting-a from 2026-11-01
    office: Subscription  # dupont, office-24m from 2026-11-01
    backup: Subscription  # dupont, cloud-backup with an add-on, in its trial
    bakery_seats: Subscription  # bakery, 10 gateways for 3 years from 2026-10-01 (example 6.1)
    fjord_seats: Subscription  # fjord, 5 gateways for 1 year from 2026-10-01

    def invoice_of(self, customer: Customer) -> Invoice:
        """The issued invoice about the customer: addressed to it, or to its partner for it."""
        return (
            Invoice.objects.filter(Q(customer=customer) | Q(end_customer=customer))
            .exclude(status="draft")
            .get()
        )


def _sold(customer: Customer, plan: str, start: date, **order) -> Subscription:
    """Sold on its start date, through the partner when the customer has one (its discount, its
    billing account); invoiced by the billing run below, as the nightly job would."""
    return subscription_sell(
        customer=customer,
        plan=Plan.objects.get(code=plan),
        start_date=start,
        today=start,
        invoice_now=False,
        **order,
    ).subscription


@pytest.fixture
def tenants(logins) -> Tenants:
    """`logins` with their subscriptions, billed up to today (module docstring)."""
    gateway = SeatType.objects.get(code="gateway")
    october, november = date(2026, 10, 1), date(2026, 11, 1)
    sold = {
        # billing-rules example 6.1: 150.00 − 10 % (3 years) − 20 % (Acme) = 108.00 a quarter
        "bakery_seats": _sold(
            logins.bakery,
            "device-seats",
            october,
            seats={gateway: 10},
            service_period_years=3,
            po_reference="PO-BM-2026-01",
        ),
        "fjord_seats": _sold(
            logins.fjord,
            "device-seats",
            october,
            seats={gateway: 5},
            service_period_years=1,
            po_reference="FL-77",
        ),
        "hosting": _sold(logins.maple, "hosting-a", november),
        "office": _sold(logins.dupont, "office-24m", november, po_reference="AD-2026-001"),
        "backup": _sold(
            logins.dupont,
            "cloud-backup-monthly",
            date(2026, 11, 10),
            addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
        ),
    }
    billing_run(day=october, send_emails=False)  # the partners' first quarters
    bakery = Invoice.objects.get(end_customer=logins.bakery)
    payment_record(
        invoice=bakery,
        amount=bakery.total.amount,
        method="bank_transfer",
        received_on=date(2026, 10, 13),
        reference=f"VIR {bakery.number}",
    )
    billing_run(day=november, send_emails=False)  # the direct customers' first months
    invoices_mark_overdue(day=TODAY)  # Nordic has not paid its quarter, due on 2026-10-31
    tenants = Tenants(**vars(logins), **sold)
    for subscription in sold.values():
        subscription.refresh_from_db()
    return tenants
