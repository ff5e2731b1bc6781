"""A customer pays an open invoice by card in self-service, in Chromium, through the test
gateway: in English on a desktop with the test card 4242 4242 4242 4242 (confirmed by the
gateway's webhook: paid); in French on a phone, a declined card's reason in words, then the
3-D Secure page refused."""

import pytest
from playwright.sync_api import expect

from billing.models import Invoice
from payments.models import CardPayment
from tests.browser.conftest import business_day, load_demo, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def open_invoice(name: str) -> Invoice:
    return (
        Invoice.objects.filter(
            customer__name=name, kind="invoice", status__in=["issued", "overdue"]
        )
        .order_by("issue_date")
        .first()
    )


def test_a_customer_pays_an_open_invoice_with_a_test_card(page, log_in, shoot):
    with business_day(2026, 11, 21):
        # Given Atelier Dupont with an open invoice
        load_demo()
        invoice = open_invoice("Atelier Dupont")
        assert invoice is not None
        log_in(page, "customer2")
        page.get_by_role("link", name="Invoices").click()
        shoot(page, "invoices")

        # When Denis pays it with the test card 4242 4242 4242 4242
        page.get_by_role("link", name=f"Pay {invoice.number} by card").click()
        expect(page.locator("h1")).to_have_text(f"Pay {invoice.number} by card")
        expect(page.locator("#test-cards")).to_contain_text("4242 4242 4242 4242")
        shoot(page, "pay-form")
        page.get_by_label("Another card").check()
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry (MM/YY)").fill("12/30")
        page.get_by_label("Name on the card").fill("Denis Dupont")
        page.get_by_role("button", name="Pay ").click()

        # Then the gateway confirms it (its webhook, delivered by the worker) and it is paid
        expect(page.locator("#card-payment")).to_have_attribute("data-status", "succeeded")
        expect(page.locator("#card-payment")).to_contain_text("Paid:")
        expect(page.locator("#card-payment")).to_contain_text("Visa •••• 4242")
        shoot(page, "paid")
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        attempt = CardPayment.objects.get(invoice=invoice)
        assert (attempt.status, attempt.payment.method) == ("succeeded", "card")

        # and the invoice list says so
        page.get_by_role("link", name="Back to the invoices").click()
        expect(page.locator("#invoices")).to_contain_text("Card payment: paid")
        shoot(page, "invoices-paid")


def test_a_declined_card_is_explained_in_french_on_a_phone(phone_page, log_in, shoot):
    page = phone_page
    with business_day(2026, 11, 21):
        load_demo()
        invoice = open_invoice("Atelier Dupont")
        log_in(page, "customer2")
        page.locator("#language-select").select_option("fr")
        page.get_by_role("link", name="Factures").click()
        page.get_by_role("link", name=f"Payer {invoice.number} par carte").click()
        assert no_horizontal_scroll(page)
        shoot(page, "payer")

        # A card with insufficient funds: declined, the reason in words
        page.get_by_label("Une autre carte").check()
        page.get_by_label("Numéro de carte").fill("4000 0000 0000 9995")
        page.get_by_label("Expiration (MM/AA)").fill("12/30")
        page.get_by_label("Nom sur la carte").fill("Denis Dupont")
        page.get_by_role("button", name="Payer ").click()
        expect(page.locator("#card-declined")).to_contain_text("a été refusé")
        expect(page.locator("#card-declined")).to_contain_text("provision insuffisante")
        assert no_horizontal_scroll(page)
        shoot(page, "refusee")

        # A 3-D Secure card: the bank's page, refused
        page.get_by_label("Une autre carte").check()
        page.get_by_label("Numéro de carte").fill("4000 0025 0000 3155")
        page.get_by_label("Expiration (MM/AA)").fill("12/30")
        page.get_by_label("Nom sur la carte").fill("Denis Dupont")
        page.get_by_role("button", name="Payer ").click()
        expect(page.locator("#challenge")).to_be_visible()
        assert no_horizontal_scroll(page)
        shoot(page, "3-d-secure")
        page.get_by_role("button", name="Refuser").click()
        expect(page.locator("#card-declined")).to_contain_text("3-D Secure")
        shoot(page, "3-d-secure-refuse")
        invoice.refresh_from_db()
        assert invoice.status in ("issued", "overdue")
