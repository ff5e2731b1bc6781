"""Counting the queries of the admin's lists: rows added in bulk, the queries of one page."""

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.services import billing_run
from catalog.models import Plan, SeatType
from partners.services import subscription_sell
from tests.subscriptions.factories import CustomerFactory

# The most queries an admin list may make, whatever its number of rows.
LIMIT = 12


def add_subscriptions(count: int) -> None:
    """`count` customers, each with a device-seats subscription, invoiced on 2026-01-01."""
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
    """The number of queries a GET of `path` makes, failing beyond LIMIT."""
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(LIMIT):
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)
