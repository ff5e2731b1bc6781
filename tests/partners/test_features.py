"""The features of each subscription on a partner's customer page (subscriptions/entitlements.py)."""

from datetime import date

import pytest
from django.urls import reverse

from tests.partners import builders

pytestmark = pytest.mark.django_db


def test_the_customer_page_shows_each_subscriptions_features(partner_client, bakery, on):
    subscription = builders.sell_seats(bakery, seats=10)
    on(date(2026, 11, 21))
    html = partner_client.get(reverse("partners:customer", args=[bakery.pk])).content.decode()
    assert f'id="features-{subscription.pk}"' in html
    assert 'data-feature="api-access"' in html
