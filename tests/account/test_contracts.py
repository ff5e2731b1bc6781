"""The customer's subscription page and product contracts (billing-rules §8): kind, status, dates,
deliveries of an issue-based contract, the balance and ledger of a credit-based one and its
top-up form; another customer's contract is not found; queries do not grow with the rows."""

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import ProductContract
from subscriptions import services
from subscriptions.models import CreditEntry, ScheduledIssue
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def add(customer, code: str, start: date, today: date):
    return services.subscription_contract_add(
        subscription=customer.subscriptions.get(),
        contract=ProductContract.objects.get(code=code),
        start_date=start,
        today=today,
    )


def test_the_page_shows_credits_and_buys_more(dupont_client, dupont, on):
    on(date(2026, 2, 10))
    held = add(dupont, "support-credits", date(2026, 2, 1), date(2026, 2, 10))
    services.credits_consume(
        subscription_contract=held, amount=3, day=date(2026, 2, 5), reference="ticket 7"
    )
    subscription = held.subscription
    url = reverse("account:subscription", args=[subscription.pk])
    page = text(dupont_client.get(url))
    assert "Product contracts" in page
    assert 'class="credit-balance">17.00<' in page
    assert "ticket 7" in page
    topup = reverse("account:contract_topup", args=[subscription.pk, held.pk])
    done = dupont_client.post(topup, {"credits": "5"})
    assert done.status_code == 302
    assert 'class="credit-balance">22.00<' in text(dupont_client.get(url))
    refused = dupont_client.post(topup, {"credits": "200000"})
    assert refused.status_code == 200
    assert "At most 100000 credits can be bought at once." in text(refused)
    assert CreditEntry.objects.filter(kind="topup").count() == 1


def test_the_page_lists_deliveries_charged_or_free(dupont_client, dupont, on):
    on(date(2026, 6, 1))
    held = add(dupont, "magazine-6-issues", date(2026, 1, 1), date(2026, 6, 1))
    page = text(dupont_client.get(reverse("account:subscription", args=[held.subscription.pk])))
    # The six issues of the first half-year delivered by 1 June, the sixth (31 May) free.
    assert page.count("of the period from 2026-01-01") == 6
    assert "2026-05-31</td><td>free" in page
    assert "2026-05-01</td><td>charged" in page


def test_another_customers_contract_is_not_found(maple_client, dupont, on):
    on(date(2026, 2, 10))
    held = add(dupont, "support-credits", date(2026, 2, 1), date(2026, 2, 10))
    response = maple_client.post(
        reverse("account:contract_topup", args=[held.subscription.pk, held.pk]), {"credits": "1"}
    )
    assert response.status_code == 404


def test_the_page_queries_do_not_grow_with_the_ledger(dupont_client, dupont, on):
    on(date(2026, 2, 10))
    held = add(dupont, "support-credits", date(2026, 2, 1), date(2026, 2, 10))
    issues = add(dupont, "magazine-6-issues", date(2026, 1, 1), date(2026, 2, 10))
    url = reverse("account:subscription", args=[held.subscription.pk])
    cache.clear()
    with CaptureQueriesContext(connection) as few:
        dupont_client.get(url)
    for day in range(2, 9):
        services.credits_consume(subscription_contract=held, amount=1, day=date(2026, 2, day))
    ScheduledIssue.objects.filter(subscription_contract=issues).update(issue_date=date(2026, 2, 1))
    cache.clear()  # both reads load the features (subscriptions/entitlements.py caches them)
    with CaptureQueriesContext(connection) as many:
        page = text(dupont_client.get(url))
    assert 'class="credit-balance">13.00<' in page
    assert len(many.captured_queries) == len(few.captured_queries)
