"""The partner portal's customer page shows the current period's usage of each subscription
with usage charges, and its estimate, in a fixed number of queries."""

from datetime import date

import pytest
from django.urls import reverse

from tests.support.ingest import api_calls_metric, at, metered_plan, record, sell

pytestmark = pytest.mark.django_db


def test_a_customers_page_shows_each_subscriptions_usage(
    partner_client, bakery, on, django_assert_max_num_queries
):
    on(date(2026, 11, 22))
    plan = metered_plan()
    first = sell(plan, bakery, date(2026, 11, 1))
    record(bakery, 3, when=at(date(2026, 11, 20)))
    url = reverse("partners:customer", args=[bakery.pk])
    with django_assert_max_num_queries(30) as one:
        page = partner_client.get(url).content.decode()
    assert f'id="usage-{first.pk}"' in page
    assert "API calls" in page
    assert "3 calls" in page
    # Two more subscriptions, one on another metric: as many queries
    second = sell(plan, bakery, date(2026, 11, 1))
    storage = metered_plan(metric=api_calls_metric("storage", "storage_gb"))
    third = sell(storage, bakery, date(2026, 11, 1))
    with django_assert_max_num_queries(30) as three:
        page = partner_client.get(url).content.decode()
    assert all(f'id="usage-{s.pk}"' in page for s in (second, third))
    assert len(three) <= len(one) + 1  # one more aggregate: the second metric
