"""Operators consume credits on a contract held, in the admin (the same service as the API):
beyond the balance it is refused with the reason and nothing is written."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from catalog.models import ProductContract
from subscriptions import services
from subscriptions.models import CreditEntry
from tests.partners import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(demo_catalog):
    dupont = builders.self_service_customer("Atelier Dupont", "denis", currency="EUR", country="FR")
    subscription = builders.subscribe(dupont, "office-24m", date(2026, 1, 1))
    return services.subscription_contract_add(
        subscription=subscription,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )


def test_the_admin_consumes_credits_and_refuses_beyond_the_balance(operator_client, held):
    url = reverse("admin:subscriptions_subscriptioncontract_change", args=[held.pk])
    with time_machine.travel("2026-01-10 09:00Z", tick=False):
        page = operator_client.get(url)
        assert page.status_code == 200
        assert "20.00" in page.content.decode()
        done = operator_client.post(
            url, {"consume": "4.50", "reference": "ticket 9", "_continue": "1"}, follow=True
        )
        assert "4.50 credits consumed." in done.content.decode()
        refused = operator_client.post(url, {"consume": "16", "_continue": "1"}, follow=True)
        assert "Only 15.50 credits are left; 16.00 were asked for." in refused.content.decode()
    assert list(
        CreditEntry.objects.filter(subscription_contract=held)
        .order_by("id")
        .values_list("kind", "amount", "reference")
    ) == [("grant", 20, ""), ("consumption", -4.5, "ticket 9")]
