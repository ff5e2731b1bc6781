"""Start dates are bounded by one rule of the service (docs/billing-rules.md, "Start dates"),
whatever the door: a start in year 1 would issue thousands of immutable catch-up invoices, and
one in year 9999 overflowed the period arithmetic (a 500)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import override_settings
from django.urls import reverse

from billing.models import Invoice
from catalog.models import Plan, SeatType
from core.errors import ApplicationError
from partners.services import subscription_sell
from subscriptions.models import Subscription
from tests.partners import builders
from tests.support.pages import text

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 6)


def sell(customer, start: date, today: date = TODAY):
    return subscription_sell(
        customer=customer,
        plan=Plan.objects.get(code="device-seats"),
        start_date=start,
        today=today,
        seats={SeatType.objects.get(code="gateway"): 10},  # the devices deployed
        service_period_years=1,
        dry_run=True,
    )


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (date(1, 1, 1), "at most 12 months before today: from 2025-12-06"),
        (date(2025, 12, 5), "at most 12 months before today: from 2025-12-06"),
        (date(2027, 12, 7), "at most 12 months from today: until 2027-12-06"),
        (date(9999, 12, 31), "at most 12 months from today: until 2027-12-06"),
    ],
)
def test_a_start_too_far_from_the_sale_is_refused_on_the_start_date(bakery, start, message):
    with pytest.raises(ApplicationError, match=message) as refusal:
        sell(bakery, start)
    assert refusal.value.field == "start_date"


@pytest.mark.parametrize("start", [date(2025, 12, 6), date(2027, 12, 6), TODAY])
def test_the_bounds_themselves_are_accepted(bakery, start):
    assert sell(bakery, start).subscription.start_date == start


@override_settings(SUBSCRIPTION_START_MAX_PAST_MONTHS=1, SUBSCRIPTION_START_MAX_FUTURE_MONTHS=0)
def test_the_bounds_are_settings(bakery):
    with pytest.raises(ApplicationError, match="at most 1 months before today"):
        sell(bakery, date(2026, 11, 5))
    with pytest.raises(ApplicationError, match="at most 0 months from today"):
        sell(bakery, date(2026, 12, 7))
    assert sell(bakery, date(2026, 11, 6)).subscription


def test_a_start_before_the_plan_is_sold_is_refused(bakery):
    Plan.objects.filter(code="device-seats").update(valid_from=date(2026, 6, 1))
    with pytest.raises(ApplicationError, match="is sold from 2026-06-01") as refusal:
        sell(bakery, date(2026, 5, 31))
    assert refusal.value.field == "start_date"
    assert sell(bakery, date(2026, 6, 1)).subscription


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("0001-01-01", "A subscription can start at most 12 months before today"),
        ("9999-12-31", "A subscription can start at most 12 months from today"),
    ],
)
@pytest.mark.parametrize("action", ["estimate", "review"])
def test_the_portal_refuses_it_on_the_field_and_bills_nothing(
    partner_client, bakery, on, start, message, action
):
    on(TODAY)
    url = reverse("partners:subscription_new", args=[bakery.pk])
    response = partner_client.post(url, builders.purchase_data(start_date=start, action=action))
    assert response.status_code == 200
    page = text(response)
    assert message in page and 'class="errorlist' in page
    assert len(response.content) < 100_000  # no catch-up table of 8,000 periods
    assert not Subscription.objects.exists()
    builders.bill(TODAY)
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-31", "2025-12-05"])
def test_the_api_answers_400_on_the_start_date(bakery, acme, on, start):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    on(TODAY)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=acme.users.get().user).key}"
    )
    for url in ("/api/v1/subscriptions/preview/", "/api/v1/subscriptions/"):
        response = client.post(
            url,
            {
                "customer": bakery.pk,
                "plan": "device-seats",
                "start_date": start,
                "seats": {"gateway": 10},
                "service_period_years": 1,
            },
            format="json",
        )
        assert response.status_code == 400, (url, response.content)
        assert "start_date" in response.json()
    assert not Subscription.objects.exists()
