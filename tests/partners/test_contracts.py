"""The partner portal and product contracts (billing-rules §8): a sale through the portal attaches
the plan's contract; the customer's page shows it, with its ledger and a top-up form; another
partner's contract is not found."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Plan, ProductContract
from subscriptions.models import CreditEntry, Subscription
from tests.partners import builders
from tests.support.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def credits_plan(demo_catalog):
    plan = Plan.objects.get(code="device-seats")
    plan.contract = ProductContract.objects.get(code="support-credits")
    plan.save()
    return plan


def test_selling_through_the_portal_attaches_the_contract_and_the_page_shows_it(
    partner_client, bakery, on, credits_plan
):
    on(date(2026, 1, 1))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    partner_client.post(url, builders.purchase_data(action="review"))
    review_url = reverse("partners:subscription_review", args=[bakery.pk])
    assert partner_client.post(review_url, {"accept_terms": "on"}).status_code == 302
    subscription = Subscription.objects.get()
    held = subscription.contracts.get()
    assert (held.contract.code, held.status, held.start_date) == (
        "support-credits",
        "active",
        date(2026, 1, 1),
    )
    page = text(partner_client.get(reverse("partners:customer", args=[bakery.pk])))
    assert f'id="contract-{held.pk}"' in page
    assert 'class="credit-balance">20.00<' in page
    topup = reverse("partners:contract_topup", args=[subscription.pk, held.pk])
    assert f'action="{topup}"' in page

    on(date(2026, 1, 15))
    done = partner_client.post(topup, {"credits": "7.5"})
    assert done.status_code == 302
    assert CreditEntry.objects.get(kind="topup").amount == Decimal("7.50")
    page = text(partner_client.get(done.url, follow=True))
    assert "7.50 credits bought: they are invoiced at once." in page
    assert 'class="credit-balance">27.50<' in page

    refused = partner_client.post(topup, {"credits": "0"}, follow=True)
    assert "Buy a positive number of credits." in text(refused)
    assert CreditEntry.objects.filter(kind="topup").count() == 1


def test_another_partners_contract_is_not_found(client, acme, nordic, bakery, credits_plan):
    subscription = builders.sell_seats(bakery)
    held = subscription.contracts.get()
    client.force_login(nordic.users.get().user)
    response = client.post(
        reverse("partners:contract_topup", args=[subscription.pk, held.pk]), {"credits": "1"}
    )
    assert response.status_code == 404
    assert not CreditEntry.objects.filter(kind="topup").exists()
