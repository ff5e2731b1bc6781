"""The admin's big lists make a fixed number of queries, whatever the number of rows
(performance itself is measured by `make bench`, not by timed tests)."""

from datetime import date

import pytest
from django.urls import reverse

from billing.services import billing_run
from catalog.models import Plan, SeatType
from partners.services import subscription_sell
from subscriptions.models import Customer
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
LIMIT = 12


def add_subscriptions(count: int) -> None:
    gateway = SeatType.objects.get(code="gateway")
    plan = Plan.objects.get(code="device-seats")
    for _ in range(count):
        subscription_sell(
            customer=CustomerFactory(),
            plan=plan,
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
            seats={gateway: 3},
            service_period_years=1,
        )
    billing_run(day=date(2026, 1, 1))


def queries_for(client, django_assert_max_num_queries, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(LIMIT):
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "name",
    [
        "admin:subscriptions_subscription_changelist",
        "admin:subscriptions_customer_changelist",
        "admin:billing_invoice_changelist",
        "admin:billing_invoiceline_changelist",
    ],
)
def test_admin_lists_make_a_fixed_number_of_queries(
    operator_client, demo_catalog, django_assert_max_num_queries, name
):
    path = reverse(name)
    add_subscriptions(2)
    few = queries_for(operator_client, django_assert_max_num_queries, path)
    add_subscriptions(18)
    many = queries_for(operator_client, django_assert_max_num_queries, path)
    assert Customer.objects.count() >= 20
    assert many == few
