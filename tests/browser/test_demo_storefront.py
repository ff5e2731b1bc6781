"""The demo's storefront end to end, as the README tells a new visitor to try it: from the
demo grid (/offers/cadence/) to a paid subscription of the metered API with the test card, the
confirmation link from the email, and the first invoice in the self-service pages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from billing.models import Invoice
from demo.catalog import seed_catalog
from subscriptions.models import CustomerEvent, Subscription, SubscriptionEvent
from tests.browser.conftest import accessibility_violations, business_day

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_visitor_subscribes_alone_from_the_demo_grid(page, live_server, shoot):
    with business_day(2026, 12, 7):
        seed_catalog()
        page.goto(f"{live_server.url}/offers/cadence/")
        shoot(page, "grid")
        page.locator("a.offer__choose[href^='/offers/cadence/api-metered-monthly/']").click()
        expect(page.locator("h1")).to_have_text("Subscribe to Metered API, monthly")
        # The country chosen on the grid (the seller's, France) is the address's first guess.
        expect(page.locator("#id_country")).to_have_value("FR")
        page.locator("#id_email").fill("grace@example.com")
        page.locator("#id_password").fill("Cobol-and-1959")
        page.locator("#id_name").fill("Hopper Conseil")
        page.locator("#id_address_line1").fill("8 quai de Seine")
        page.locator("#id_postal_code").fill("75019")
        page.locator("#id_city").fill("Paris")
        page.locator("#id_payment_type input[value='card']").check()
        page.locator("#id_card_number").fill("4242 4242 4242 4242")
        page.locator("#id_card_expiry").fill("12/30")
        page.locator("#id_card_holder").fill("Grace Hopper")
        shoot(page, "checkout")
        page.get_by_role("button", name="Review").click()

        # 19.00 a month and 20 % VAT; the calls are billed the next month.
        expect(page.locator("#first-invoice [data-amount='total']")).to_have_text("22.80 EUR")
        assert accessibility_violations(page) == []
        shoot(page, "review")
        page.get_by_label("I accept the terms of sale and the plan's terms").check()
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator("h1")).to_have_text("Check your inbox")
        assert not Subscription.objects.exists()

        link = re.search(r"/offers/verify/\S+/", mail.outbox[-1].body).group(0)
        page.goto(f"{live_server.url}{link}")
        expect(page.locator("h1")).to_have_text("Confirm your email address")
        assert accessibility_violations(page) == []
        shoot(page, "confirm")
        page.get_by_role("button", name="Confirm and start my subscription").click()
        expect(page.locator(".message--success")).to_contain_text("Your subscription has started")
        subscription = Subscription.objects.get()
        assert subscription.plan.code == "api-metered-monthly"
        assert subscription.start_date.isoformat() == "2026-12-07"
        [invoice] = Invoice.objects.filter(customer=subscription.customer)
        assert invoice.total.amount == Decimal("22.80")
        # The outboxes of the customer.created and subscription.created webhooks.
        assert CustomerEvent.objects.filter(customer=subscription.customer, kind="created").exists()
        assert SubscriptionEvent.objects.filter(subscription=subscription, kind="created").exists()
        page.get_by_role("link", name="Invoices").click()
        expect(page.locator("main")).to_contain_text(invoice.number)
        shoot(page, "invoices")
