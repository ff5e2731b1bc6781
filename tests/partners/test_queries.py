"""The lists and pages of the partner portal read a fixed number of queries, whatever their rows:
at most 18, and as many with 20 rows as with 2."""

from datetime import date

import pytest
from django.urls import reverse

from tests.partners import builders

pytestmark = pytest.mark.django_db
# 12, and the seller's tax rules read once per page (its country and rules: catalog/tax.py),
# and on a customer's page its subscriptions' features (subscriptions/entitlements.py: their
# version, and when it changed their timelines and plan features — 3 — with add-on features and
# usage when there are) and contracts held
MAX_QUERIES = 18


@pytest.fixture
def measure(django_assert_max_num_queries):
    def measure(client, url: str) -> int:
        with django_assert_max_num_queries(MAX_QUERIES) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    return measure


def test_the_customer_list(partner_client, acme, measure):
    for n in range(2):
        builders.partner_customer(acme, f"Customer {n:02}")
    url = reverse("partners:customers")
    with_2 = measure(partner_client, url)
    for n in range(2, 20):
        customer = builders.partner_customer(acme, f"Customer {n:02}")
        builders.sell_seats(customer, seats=1)
    with_20 = measure(partner_client, url)
    assert with_20 == with_2
    assert partner_client.get(url).content.decode().count('data-label="City"') == 20


def test_a_customers_page(partner_client, bakery, measure, on):
    on(date(2026, 2, 1))
    for _ in range(2):
        builders.sell_seats(bakery)
    url = reverse("partners:customer", args=[bakery.pk])
    with_2 = measure(partner_client, url)
    for _ in range(18):
        builders.sell_seats(bakery)
    with_20 = measure(partner_client, url)
    assert with_20 == with_2
    assert partner_client.get(url).content.decode().count('class="card subscription"') == 20


def test_the_invoice_list(partner_client, bakery, measure, on):
    first = builders.sell_seats(bakery)
    builders.bill(date(2026, 1, 1))
    on(date(2026, 1, 2))
    url = reverse("partners:invoices")
    with_1 = measure(partner_client, url)
    for _ in range(19):
        builders.sell_seats(bakery)
    builders.bill(date(2026, 1, 1))
    with_20 = measure(partner_client, url)
    assert with_20 == with_1
    assert first.invoices.count() == 1
    assert partner_client.get(url).content.decode().count("Download F2026-") == 20
