"""Builders for the portal and self-service tests: partners, their users and customers, sales
through the services (as the pages make them), and fixed dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model

from billing.services import billing_run
from catalog.models import Plan, SeatType
from partners.models import Partner, PartnerUser
from partners.services import partner_account_create, partner_customer_create, subscription_sell
from subscriptions import services
from subscriptions.models import Customer, CustomerUser, Subscription

PASSWORD = "a-Long-and-unusual-passphrase-17"


def at(day: date, hour: int = 10) -> datetime:
    """A moment of a business day, in the billing time zone."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(settings.BILLING_TIME_ZONE))


def user(username: str, **fields):
    return get_user_model().objects.create_user(
        username, email=f"{username}@example.com", password=PASSWORD, **fields
    )


def partner(code: str, name: str, discount: str, username: str) -> Partner:
    organisation = Partner.objects.create(
        code=code, name=name, email=f"sales@{code}.example", discount_percent=Decimal(discount)
    )
    partner_account_create(  # what the partner is invoiced as (billing-rules §9)
        partner=organisation,
        name=f"{name} SAS",
        email=f"billing@{code}.example",
        address_line1="2 quai des Chartrons",
        postal_code="33000",
        city="Bordeaux",
        country="FR",
        currency="EUR",
    )
    PartnerUser.objects.create(partner=organisation, user=user(username, first_name=name))
    return organisation


def partner_customer(organisation: Partner, name: str, **fields) -> Customer:
    slug = name.lower().replace(" ", "-")
    values = {
        "email": f"billing@{slug}.example",
        "address_line1": "1 rue du Port",
        "postal_code": "17000",
        "city": "La Rochelle",
        "country": "FR",
        "currency": "EUR",
        **fields,
    }
    return partner_customer_create(partner=organisation, name=name, **values)


def devices(customer: Customer, code: str, count: int) -> None:
    services.devices_set(customer=customer, seat_type=SeatType.objects.get(code=code), count=count)


def sell_seats(
    customer: Customer,
    *,
    seats: int = 10,
    years: int = 3,
    start: date = date(2026, 1, 1),
    today: date | None = None,
    po_reference: str = "PO-1",
) -> Subscription:
    """Device seats sold through the partner (its discount applies), billing-rules example 6.1."""
    return subscription_sell(
        customer=customer,
        plan=Plan.objects.get(code="device-seats"),
        start_date=start,
        today=today or start,
        seats={SeatType.objects.get(code="gateway"): seats},
        service_period_years=years,
        po_reference=po_reference,
    ).subscription


def self_service_customer(name: str, username: str, currency: str = "CAD", **fields) -> Customer:
    slug = name.lower().replace(" ", "-").replace(".", "")
    values = {
        "email": f"billing@{slug}.example",
        "address_line1": "300 Bay Street",
        "postal_code": "M5H 2S8",
        "city": "Toronto",
        "country": "CA",
        "currency": currency,
        **fields,
    }
    customer = services.customer_create(name=name, **values)
    CustomerUser.objects.create(customer=customer, user=user(username))
    return customer


def subscribe(customer: Customer, plan_code: str, start: date, today: date | None = None, **extra):
    return services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code=plan_code),
        start_date=start,
        today=today or start,
        **extra,
    ).subscription


def bill(day: date) -> None:
    billing_run(day=day, send_emails=False)


@pytest.fixture
def on(time_machine, client):
    """on(date): the business day of the test from now on (the clock stands still). The test
    client stays logged in as the same user (a session lasts hours, the travel may be months)."""

    def on(day: date, hour: int = 10) -> None:
        user_id = client.session.get(SESSION_KEY)
        time_machine.move_to(at(day, hour), tick=False)
        if user_id is not None:
            client.force_login(get_user_model().objects.get(pk=user_id))

    return on


def purchase_data(**overrides) -> dict:
    """The purchase form of the partner portal, filled in for billing-rules example 6.1 (10 gateways
    from 2026-01-01, 3-year service period), to estimate: `overrides` change any field."""
    data = {
        "plan": Plan.objects.get(code="device-seats").pk,
        "start_date": "2026-01-01",
        "po_reference": "PO-BM-2026-01",
        "seats_gateway": "10",
        "seats_sensor": "0",
        "service_period_years": "3",
        "action": "estimate",
    }
    data.update(overrides)
    return data


# Self-service customers, with their logins -------------------------------------------------------


@pytest.fixture
def maple(demo_catalog):
    """billing-rules example 6.3: Hosting A, 150.00 CAD a month, from 2026-11-01."""
    customer = self_service_customer("Maple Hosting Co.", "mary")
    subscribe(customer, "hosting-a", date(2026, 11, 1))
    return customer


@pytest.fixture
def maple_client(client, maple):
    client.force_login(maple.users.get().user)
    return client


@pytest.fixture
def dupont(demo_catalog):
    """billing-rules example 4.2: the 24-month office suite with a prorated penalty, from
    2026-01-01."""
    customer = self_service_customer(
        "Atelier Dupont", "denis", currency="EUR", country="FR", postal_code="69001", city="Lyon"
    )
    subscribe(customer, "office-24m", date(2026, 1, 1), po_reference="AD-2026-001")
    return customer


@pytest.fixture
def dupont_client(client, dupont):
    client.force_login(dupont.users.get().user)
    return client
