"""Fixtures shared by the subscription tests."""

from datetime import date

import pytest

from catalog import services as catalog_services
from catalog.models import CouponCampaign, Plan, SeatType
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory

TODAY = date(2026, 11, 21)


@pytest.fixture
def world(demo_catalog):
    catalog_services.coupon_codes_generate(campaign=CouponCampaign.objects.get(code="coupon-87"))
    gateway = SeatType.objects.get(code="gateway")
    sensor = SeatType.objects.get(code="sensor")
    customer = CustomerFactory()
    services.devices_set(customer=customer, seat_type=gateway, count=4)
    devices = services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=TODAY,
        seats={gateway: 10},
        service_period_years=3,
    ).subscription
    cad = CustomerFactory(currency="CAD", country="CA")
    hosting = services.subscription_create(
        customer=cad,
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=TODAY,
    ).subscription
    return {
        "customer": customer,
        "cad": cad,
        "devices": devices,
        "hosting": hosting,
        "gateway": gateway,
        "sensor": sensor,
    }
