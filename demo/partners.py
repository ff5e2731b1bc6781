"""Demo partners and their customers (idempotent)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from catalog.models import SeatType
from demo.catalog import upsert
from demo.subscriptions import demo_customer, demo_subscription
from partners.models import Partner, PartnerCustomer
from partners.services import subscription_sell
from subscriptions import services as subscription_services


def seed_partners() -> dict[str, Any]:
    # Partners buy for their customers and are invoiced (billing-rules §9): their billing accounts.
    acme_account = demo_customer(
        "billing@acme-resellers.example",
        name="Acme Resellers SARL",
        vat_number="FR40303265045",
        address_line1="25 rue des Entrepreneurs",
        postal_code="69100",
        city="Villeurbanne",
        country="FR",
        currency="EUR",
        locale="fr",
    )
    nordic_account = demo_customer(
        "invoices@nordic-devices.example",
        name="Nordic Devices AS",
        vat_number="NO923609016MVA",
        address_line1="Dronning Eufemias gate 16",
        postal_code="0191",
        city="Oslo",
        country="NO",
        currency="EUR",
        locale="en",
    )
    acme = upsert(
        Partner,
        {"code": "acme"},
        name="Acme Resellers",
        email="orders@acme-resellers.example",
        discount_percent=Decimal("20.00"),
        account=acme_account,
    )
    nordic = upsert(
        Partner,
        {"code": "nordic"},
        name="Nordic Devices",
        email="sales@nordic-devices.example",
        discount_percent=Decimal("15.00"),
        account=nordic_account,
    )
    gateway = SeatType.objects.get(code="gateway")
    sensor = SeatType.objects.get(code="sensor")

    def customer(partner: Partner, email: str, **fields: Any):
        obj = demo_customer(email, **fields)
        upsert(PartnerCustomer, {"customer": obj}, partner=partner)
        return obj

    bakery = customer(
        acme,
        "factures@boulangerie-martin.example",
        name="Boulangerie Martin",
        address_line1="4 place du Marché",
        postal_code="33000",
        city="Bordeaux",
        country="FR",
        currency="EUR",
        locale="fr",
    )
    subscription_services.devices_set(customer=bakery, seat_type=gateway, count=10)
    # billing-rules example 6.1: 10 seats, 3 years (−10 %), partner −20 %, quarterly: 129.60 a
    # quarter.
    demo_subscription(
        bakery,
        "device-seats",
        date(2026, 1, 1),
        seats={gateway: 10},
        service_period_years=3,
        po_reference="PO-BM-2026-01",
        sell=subscription_sell,
        invoice_now=False,  # the demo's history is billed day by day (billing/demo.py)
    )
    clinic = customer(
        acme,
        "admin@clinique-saint-roch.example",
        name="Clinique Saint-Roch",
        address_line1="18 avenue Pasteur",
        postal_code="34000",
        city="Montpellier",
        country="FR",
        currency="EUR",
        locale="fr",
    )
    subscription_services.devices_set(customer=clinic, seat_type=sensor, count=6)
    fjord = customer(
        nordic,
        "finance@fjord-logistics.example",
        name="Fjord Logistics",
        address_line1="Karl Johans gate 1",
        postal_code="0154",
        city="Oslo",
        country="NO",
        currency="EUR",
        locale="en",
    )
    subscription_services.devices_set(customer=fjord, seat_type=gateway, count=3)
    demo_subscription(
        fjord,
        "device-seats",
        date(2026, 4, 1),
        seats={gateway: 5},
        service_period_years=1,
        po_reference="FL-77",
        sell=subscription_sell,
        invoice_now=False,  # the demo's history is billed day by day (billing/demo.py)
    )
    return {"acme": acme, "nordic": nordic, "bakery": bakery, "clinic": clinic, "fjord": fjord}
