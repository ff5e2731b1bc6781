"""The features of a subscription on its self-service page, and what a plan change gains and
loses on its confirmation page (subscriptions/entitlements.py)."""

from datetime import date

import pytest
from django.urls import reverse

from catalog.models import Plan
from subscriptions import services

pytestmark = pytest.mark.django_db


def test_the_subscription_page_shows_its_features_and_limits(maple_client, maple, on):
    on(date(2026, 11, 21))
    subscription = maple.subscriptions.get()
    page = maple_client.get(reverse("account:subscription", args=[subscription.pk]))
    html = page.content.decode()
    assert f'id="features-{subscription.pk}"' in html
    assert 'data-feature="storage"' in html and "up to 100 GB" in html
    assert 'class="feature feature--off" data-feature="priority-support"' in html


def test_a_suspended_subscription_page_says_access_is_off(maple_client, maple, on):
    on(date(2026, 11, 21))
    subscription = maple.subscriptions.get()
    services.subscription_suspend(subscription=subscription, day=date(2026, 11, 21), reason="x")
    html = maple_client.get(reverse("account:subscription", args=[subscription.pk])).content
    assert b"Access is off while the subscription is suspended" in html
    assert b'data-feature="storage"' not in html


def test_the_plan_change_confirmation_shows_what_is_gained(maple_client, maple, on):
    on(date(2026, 11, 21))
    subscription = maple.subscriptions.get()
    plan_b = Plan.objects.get(code="hosting-b")
    url = reverse("account:change_plan_confirm", args=[subscription.pk, plan_b.pk])
    response = maple_client.get(url)
    assert response.status_code == 200
    changes = [(c.code, c.change) for c in response.context["feature_changes"]]
    assert changes == [("priority-support", "gained"), ("storage", "raised")]
    html = response.content.decode()
    assert "Gained: Priority support" in html
    assert "Raised: Storage, from 100 GB to 500 GB" in html
