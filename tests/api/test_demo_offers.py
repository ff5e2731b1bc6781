"""Issue 17's three demo offers, as Studio Lumière's application sees them on 6 December 2026:
what each bills and the entitlements the API answers for each."""

from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from billing.models import Invoice
from subscriptions.models import Customer, Subscription
from tests.support.api import token_client

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def lumiere():
    with time_machine.travel(
        datetime(2026, 12, 6, 10, tzinfo=ZoneInfo("Europe/Paris")), tick=False
    ):
        call_command("seed_demo", stdout=StringIO())
        customer = Customer.objects.get(name="Studio Lumière")
        subscriptions = {
            s.plan.code: s
            for s in Subscription.objects.filter(customer=customer).select_related("plan")
        }
        client = token_client(get_user_model().objects.get(username="customer4"))
        body = client.get(f"/api/v1/customers/{customer.pk}/entitlements/").json()
        yield customer, subscriptions, {f["code"]: f for f in body["features"]}


def test_each_offer_bills_its_rule(lumiere):
    _customer, subscriptions, _features = lumiere
    december = {
        code: [
            (line.kind, line.quantity, line.net.amount)
            for line in Invoice.objects.get(
                subscription=subscription, issue_date=date(2026, 12, 1)
            ).lines.order_by("id")
        ]
        for code, subscription in subscriptions.items()
    }
    assert december == {
        # 6 issues in December, 5 charged at 2.00
        "quotidien-tech-monthly": [("issues", D("5"), D("10.00"))],
        "api-prepaid-monthly": [("recurring", D("1"), D("9.00"))],
        # November's 14,250 calls (475 a day): 4,250 above the free 10,000 × 0.002 = 8.50
        "api-metered-monthly": [
            ("recurring", D("1"), D("19.00")),
            ("usage", D("14250"), D("8.50")),
        ],
    }
    # The 500 credits bought on 20 November: 5.00 on their own invoice
    topup = Invoice.objects.get(
        subscription=subscriptions["api-prepaid-monthly"], issue_date=date(2026, 11, 20)
    )
    assert [(line.kind, line.net.amount) for line in topup.lines.all()] == [("topup", D("5.00"))]


def test_the_entitlements_of_each_offer(lumiere):
    _customer, subscriptions, features = lumiere
    paper = subscriptions["quotidien-tech-monthly"].pk
    prepaid = subscriptions["api-prepaid-monthly"].pk
    metered = subscriptions["api-metered-monthly"].pk
    assert features["digital-edition"]["enabled"] and features["digital-edition"]["granted_by"] == [
        paper
    ]
    assert features["api-access"]["enabled"]
    assert sorted(features["api-access"]["granted_by"]) == sorted([prepaid, metered])
    assert features["usage-dashboard"]["granted_by"] == [metered]
    # December's calls so far (600 a day, 1–5 December) against the soft limit of 100,000
    calls = features["api_calls_limit"]
    assert (calls["limit"], calls["used"], calls["remaining"], calls["enforcement"]) == (
        "100000",
        "3000",
        "97000",
        "soft",
    )
    assert (calls["period_start"], calls["period_end"]) == ("2026-12-01", "2027-01-01")
