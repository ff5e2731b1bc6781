"""The customer's subscription page shows the current period's usage and its estimate
(billing-rules §12): the first 10,000 API calls free, then 0.002 EUR each."""

from datetime import date

import pytest
from django.urls import reverse

from tests.support.ingest import at, metered_plan, record, subscribe

pytestmark = pytest.mark.django_db


def test_the_subscription_page_shows_the_usage_so_far(dupont_client, dupont, on):
    on(date(2026, 11, 22))
    subscription = subscribe(metered_plan(), dupont, date(2026, 11, 1))
    for first in range(0, 12000, 1000):
        record(dupont, 1000, when=at(date(2026, 11, 20)), first=first)
    page = dupont_client.get(reverse("account:subscription", args=[subscription.pk]))
    text = page.content.decode()
    assert "Usage this period" in text
    assert "12,000 calls" in text
    assert "4.00" in text  # 2,000 × 0.002
    assert "2026-11-01" in text and "2026-12-01" in text


def test_a_subscription_without_usage_charges_shows_none(dupont_client, dupont, on):
    on(date(2026, 11, 22))
    subscription = dupont.subscriptions.get()
    page = dupont_client.get(reverse("account:subscription", args=[subscription.pk]))
    assert page.status_code == 200
    assert "Usage this period" not in page.content.decode()
