import pytest

from catalog.models import Plan, SeatType
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory


@pytest.fixture
def office(demo_catalog):
    """Atelier-like customer on the 24-month office suite (45.00 EUR/month, penalty term)."""
    from datetime import date

    return services.subscription_create(
        customer=CustomerFactory(name="Atelier Dupont", locale="fr"),
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        po_reference="AD-2026-001",
    ).subscription


@pytest.fixture
def seats(demo_catalog):
    from datetime import date

    return services.subscription_create(
        customer=CustomerFactory(name="Boulangerie Martin"),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        po_reference="PO-BM-2026-01",
    ).subscription
