"""The self-service lists read a fixed number of queries, whatever their rows: at most 14, and as
many with 20 rows as with 2."""

from datetime import date

import pytest
from django.urls import reverse

from tests.partners import builders

pytestmark = pytest.mark.django_db
# 12, and the seller's tax rules read once per page (its country and rules: catalog/tax.py)
MAX_QUERIES = 14


@pytest.fixture
def measure(django_assert_max_num_queries):
    def measure(client, url: str) -> int:
        with django_assert_max_num_queries(MAX_QUERIES) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    return measure


def subscribe_more(customer, count: int) -> None:
    for n in range(count):
        plan = "hosting-b" if n % 2 else "hosting-a"
        builders.subscribe(customer, plan, date(2026, 11, 1), po_reference=f"PO-{n}")


def test_the_subscriptions_page(maple_client, maple, measure, on):
    subscribe_more(maple, 1)  # 2 subscriptions, on A and B
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 21))
    url = reverse("account:subscriptions")
    with_2 = measure(maple_client, url)
    subscribe_more(maple, 18)
    builders.bill(date(2026, 11, 1))
    with_20 = measure(maple_client, url)
    assert with_20 == with_2
    page = maple_client.get(url).content.decode()
    assert page.count('class="card subscription"') == 20
    assert page.count("2026-12-01: <strong>") == 20  # each with its next invoice


def test_the_invoice_list(maple_client, maple, measure, on):
    builders.bill(date(2026, 11, 1))
    builders.bill(date(2026, 12, 1))
    on(date(2026, 12, 2))
    url = reverse("account:invoices")
    with_2 = measure(maple_client, url)
    subscribe_more(maple, 9)
    builders.bill(date(2026, 11, 1))
    builders.bill(date(2026, 12, 1))
    with_20 = measure(maple_client, url)
    assert with_20 == with_2
    assert maple_client.get(url).content.decode().count("Download F2026-") == 20
