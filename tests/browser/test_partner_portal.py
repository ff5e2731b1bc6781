"""A partner sells billing-rules example 6.1 in the portal, then adds seats (example 6.2), in
Chromium."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Invoice
from catalog.models import SeatType
from partners.models import Partner
from partners.services import partner_customer_create
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionDiscount
from tests.browser.conftest import business_day, load_demo, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def amount(page, table: str, which: str) -> str:
    return page.locator(f"#{table} [data-amount={which}]").inner_text()


def test_a_partner_sells_example_6_1_then_adds_4_seats_on_2026_02_15(
    page, log_in, shoot, live_server
):
    # Given Acme's new customer with 10 gateways installed, on 2026-01-01
    with business_day(2026, 1, 1, hour=9):
        load_demo()
        customer = partner_customer_create(
            partner=Partner.objects.get(code="acme"),
            name="Boulangerie du Port",
            email="factures@boulangerie-du-port.example",
            address_line1="2 quai Duperré",
            postal_code="17000",
            city="La Rochelle",
            country="FR",
            currency="EUR",
            locale="fr",
        )
        services.devices_set(
            customer=customer, seat_type=SeatType.objects.get(code="gateway"), count=10
        )

        # When the partner finds the customer
        log_in(page, "partner")
        expect(page.locator("h1")).to_have_text("Customers")
        expect(page.locator("#who")).to_contain_text("Acme Resellers")
        shoot(page, "customers")
        page.get_by_label("Search customers").fill("du Port")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#customers tbody tr")).to_have_count(1)
        shoot(page, "search")
        page.get_by_role("link", name="Boulangerie du Port").click()
        expect(page.locator("#no-subscription")).to_be_visible()
        expect(page.get_by_role("link", name="Add seats")).to_have_count(0)
        expect(page.locator("#seat-counts")).to_contain_text("Gateway")
        shoot(page, "customer-without-subscription")

        # and fills in the purchase of billing-rules example 6.1
        page.get_by_role("link", name="Create a subscription").first.click()
        page.get_by_label("Start date").fill("2026-01-01")
        page.get_by_label("PO reference").fill("PO-BP-2026-01")
        gateway_seats = page.get_by_label("Gateway seats")
        gateway_seats.fill("8")  # fewer seats than the 10 gateways installed: warned at once
        expect(page.locator("#id_seats_gateway-warning")).to_be_visible()
        shoot(page, "seats-below-devices")
        gateway_seats.fill("10")
        expect(page.locator("#id_seats_gateway-warning")).to_be_hidden()
        page.get_by_label("Sensor seats").fill("0")
        page.get_by_label("3 years (−10 %)").check()
        shoot(page, "purchase-form")
        page.get_by_role("button", name="Estimate the cost").click()

        # Then the estimate is 129.60 a quarter, with the partner discount
        expect(page.locator("#estimate")).to_be_visible()
        assert amount(page, "estimate-charges", "net") == "108.00 EUR"
        assert amount(page, "estimate-charges", "tax") == "21.60 EUR"
        assert amount(page, "estimate-charges", "total") == "129.60 EUR"
        expect(page.locator("#estimate-charges")).to_contain_text(
            "Partner discount (Acme Resellers)"
        )
        shoot(page, "estimate")

        # When they review it: the details, the same figures, the terms to accept
        page.get_by_role("button", name="Review the purchase").click()
        expect(page.locator("h1")).to_have_text("Review the purchase")
        expect(page.locator("#purchase-details")).to_contain_text("10 × Gateway")
        expect(page.locator("#purchase-details")).to_contain_text("2029-01-01")  # 3 years
        assert amount(page, "estimate-charges", "total") == "129.60 EUR"
        expect(page.locator("#terms-text")).to_contain_text("90 days before the renewal date")
        shoot(page, "review")

        # and confirm without accepting the terms: the browser asks for them, nothing is saved
        accept = page.get_by_label("I have read and I accept these terms.")
        page.get_by_role("button", name="Confirm purchase").click()
        expect(page.locator("h1")).to_have_text("Review the purchase")
        assert accept.evaluate("checkbox => checkbox.validity.valueMissing")
        assert not Subscription.objects.filter(customer=customer).exists()

        # then accept them and confirm
        accept.check()
        page.get_by_role("button", name="Confirm purchase").click()
        expect(page.locator(".message--success")).to_contain_text("The subscription is confirmed")
        subscription = Subscription.objects.get(customer=customer)
        card = page.locator(f"#subscription-{subscription.pk}")
        expect(card.locator(".next-invoice")).to_contain_text("129.60 EUR")
        expect(card).to_contain_text("PO-BP-2026-01")
        expect(card).to_contain_text("10 × Gateway")
        shoot(page, "subscription-created")
        assert subscription.po_reference == "PO-BP-2026-01"
        assert subscription.service_period_years == 3
        partner_discount = subscription.discounts.get(source=SubscriptionDiscount.Source.PARTNER)
        assert partner_discount.percentage == Decimal("20.00")

    # Six weeks later (the session of 2026-01-01 has expired: log in again)
    with business_day(2026, 2, 15):
        log_in(page, "partner", next_url=f"/partners/customers/{customer.pk}/")
        expect(page.get_by_role("link", name="Add seats").first).to_be_visible()
        shoot(page, "customer-with-subscription")
        page.get_by_role("link", name="Add seats").first.click()
        page.get_by_label("Seat type").select_option(label="Gateway")
        page.get_by_label("Seats to add").fill("4")
        shoot(page, "add-seats-form")
        page.get_by_role("button", name="Review the cost").click()

        # Then the 4 seats cost 25.92 now (45 of the 90 days left), billing dates unchanged
        expect(page.locator("h1")).to_have_text("Review the seats")
        assert amount(page, "now-charges", "net") == "21.60 EUR"
        assert amount(page, "now-charges", "tax") == "4.32 EUR"
        assert amount(page, "now-charges", "total") == "25.92 EUR"
        expect(page.locator("#now-charges")).to_contain_text("45/90")
        expect(page.locator("#next-invoice")).to_contain_text("2026-04-01")
        expect(page.locator("#next-invoice")).to_contain_text("181.44 EUR")
        shoot(page, "add-seats-review")
        page.get_by_label("I have read and I accept these terms.").check()
        page.get_by_role("button", name="Confirm purchase").click()
        expect(page.locator(".message--success")).to_contain_text("25.92 EUR now")
        card = page.locator(f"#subscription-{subscription.pk}")
        expect(card).to_contain_text("14 × Gateway")
        expect(card.locator(".next-invoice")).to_contain_text("2026-04-01")
        expect(card.locator(".next-invoice")).to_contain_text("181.44 EUR")
        shoot(page, "seats-added")

        # The partner's invoices: the first quarter and the prorated seats, each with its PDF
        page.get_by_role("link", name="Invoices").click()
        invoices = Invoice.objects.filter(end_customer=customer).order_by("-total")
        assert [i.total.amount for i in invoices] == [Decimal("129.60"), Decimal("25.92")]
        for invoice in invoices:
            expect(page.locator("#invoices")).to_contain_text(invoice.number)
        expect(page.get_by_role("link", name=f"Download {invoices[1].number}")).to_be_visible()
        shoot(page, "invoices")


def test_the_portal_fits_a_phone_screen(phone_page, log_in, shoot, live_server):
    with business_day(2026, 11, 21):
        load_demo()
        log_in(phone_page, "partner")
        assert no_horizontal_scroll(phone_page)
        shoot(phone_page, "customers")
        phone_page.get_by_role("link", name="Boulangerie Martin").click()
        expect(phone_page.locator(".subscription")).to_have_count(1)
        assert no_horizontal_scroll(phone_page)
        shoot(phone_page, "customer")
        phone_page.get_by_role("link", name="Create a subscription").first.click()
        expect(phone_page.locator("h1")).to_contain_text("A subscription for Boulangerie Martin")
        assert no_horizontal_scroll(phone_page)
        shoot(phone_page, "purchase-form")
        phone_page.get_by_role("link", name="Invoices").click()
        expect(phone_page.locator("h1")).to_have_text("Invoices")
        shoot(phone_page, "invoices")
        assert no_horizontal_scroll(phone_page)
