"""A visitor subscribes on the hosted checkout, in Chromium: from the grid /offers/<grid>/ and
its plan's checkout /offers/<grid>/<plan>/ to a paid subscription with the test card (English, desktop), with a SEPA mandate (French, phone),
with a coupon and the keyboard alone; a refused VAT number, a declined card and an existing
email each say so on their field and create nothing. Checkout and review pages pass axe-core's
WCAG 2.1 A/AA rules. The verification link is read from the test mail outbox."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from billing.models import Invoice
from payments.models import PaymentMethod
from storefront.models import SignUp
from subscriptions.models import Customer, Subscription
from tests.browser.conftest import accessibility_violations, business_day, no_horizontal_scroll
from tests.storefront.conftest import build_shop

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-Long-pass-2026"
IBAN = "FR76 3000 6000 0112 3456 7890 189"


def fill_visitor(page, **changes) -> None:
    values = {
        "#id_email": "ada@example.com",
        "#id_password": PASSWORD,
        "#id_name": "Lovelace SARL",
        "#id_address_line1": "3 rue des Fleurs",
        "#id_postal_code": "75011",
        "#id_city": "Paris",
        **changes,
    }
    for selector, value in values.items():
        page.locator(selector).fill(value)
    page.locator("#id_country").select_option("FR")


def fill_card(page, number: str = "4242 4242 4242 4242") -> None:
    page.locator("#id_payment_type input[value='card']").check()
    page.locator("#id_card_number").fill(number)
    page.locator("#id_card_expiry").fill("12/30")
    page.locator("#id_card_holder").fill("Ada Lovelace")


def verification_path() -> str:
    body = mail.outbox[-1].body
    return re.search(r"/offers/verify/\S+/", body).group(0)


def open_and_confirm(page, url: str) -> None:
    """The email's link asks first (in the page's language); its button starts the
    subscription."""
    page.goto(url)
    expect(page.locator("#verify form[method='post'] button")).to_be_visible()
    assert not Subscription.objects.exists()
    assert no_horizontal_scroll(page)
    page.locator("#verify form[method='post'] button").click()


def nothing_created() -> None:
    assert not get_user_model().objects.filter(email="ada@example.com").exists()
    assert not Customer.objects.exists()
    assert not SignUp.objects.exists()
    assert not PaymentMethod.objects.exists()


def test_a_visitor_subscribes_with_the_test_card(page, live_server, shoot):
    with business_day(2026, 3, 2):
        build_shop()
        # From the grid, as a visitor comes.
        page.goto(f"{live_server.url}/offers/shop/")
        shoot(page, "grid")
        page.locator("a.offer__choose[href^='/offers/shop/pro/']").click()
        expect(page.locator("h1")).to_have_text("Subscribe to Pro")
        assert accessibility_violations(page) == []
        shoot(page, "checkout")

        fill_visitor(page)
        fill_card(page)
        page.get_by_role("button", name="Review").click()

        expect(page.locator("h1")).to_have_text("Review your subscription")
        expect(page.locator("#first-invoice [data-amount='total']")).to_have_text("36.00 EUR")
        expect(page.locator("#payment-summary")).to_contain_text("4242")
        assert accessibility_violations(page) == []
        shoot(page, "review")

        page.get_by_role("button", name="Confirm").click()
        expect(page.locator(".field--error")).to_contain_text("Accept the terms")
        page.get_by_label("I accept the terms of sale and the plan's terms").check()
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator("h1")).to_have_text("Check your inbox")
        expect(page.locator("#welcome")).to_contain_text("ada@example.com")
        assert not Customer.objects.exists()
        shoot(page, "welcome")

        open_and_confirm(page, f"{live_server.url}{verification_path()}")
        expect(page.locator(".message--success")).to_contain_text("Your email address is confirmed")
        subscription = Subscription.objects.get()
        assert f"/account/subscriptions/{subscription.pk}/" in page.url
        invoice = Invoice.objects.get(customer=subscription.customer)
        assert invoice.total.amount == Decimal("36.00")
        assert invoice.card_payments.exists()
        shoot(page, "subscribed")


def test_a_visitor_subscribes_by_sepa_in_french_on_a_phone(phone_page, live_server, shoot):
    page = phone_page
    with business_day(2026, 3, 2):
        build_shop()
        page.goto(f"{live_server.url}/offers/shop/pro/")
        page.locator("#language-select").select_option("fr")
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "paiement")

        fill_visitor(page)
        page.locator("#id_payment_type input[value='sepa_debit']").check()
        page.locator("#id_sepa_holder").fill("Ada Lovelace")
        page.locator("#id_iban").fill("FR76 3000 6000 0112 3456 7890 188")
        page.locator("#id_sepa_accept").check()
        page.locator("#review-button").click()
        expect(page.locator("#id_iban_error")).to_contain_text("Cet IBAN n'est pas valide")
        nothing_created()
        assert no_horizontal_scroll(page)
        shoot(page, "iban-refuse")

        page.locator("#id_password").fill(PASSWORD)
        page.locator("#id_iban").fill(IBAN)
        page.locator("#id_sepa_accept").check()
        page.locator("#review-button").click()
        expect(page.locator("#first-invoice [data-amount='total']")).to_contain_text("36,00")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "recapitulatif")

        page.locator("#id_accept_terms").check()
        page.locator("#confirm-button").click()
        expect(page.locator("#welcome")).to_be_visible()
        page.goto(f"{live_server.url}{verification_path()}")
        expect(page.locator("h1")).to_have_text("Confirmez votre adresse e-mail")
        assert accessibility_violations(page) == []
        shoot(page, "confirmer")
        open_and_confirm(page, f"{live_server.url}{verification_path()}")
        expect(page.locator(".message--success")).to_be_visible()
        method = PaymentMethod.objects.get()
        assert (method.kind, method.iban) == ("sepa_debit", "FR7630006000011234567890189")
        assert Customer.objects.get().locale == "fr"
        assert no_horizontal_scroll(page)
        shoot(page, "abonne")


def tab_to(page, element_id: str, limit: int = 120) -> None:
    """Press Tab until the element has the focus (the keyboard alone, as a person would)."""
    for _i in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never got the focus")


def test_a_visitor_with_a_coupon_subscribes_with_the_keyboard_alone(page, live_server, shoot):
    with business_day(2026, 3, 2):
        build_shop()
        page.goto(f"{live_server.url}/offers/shop/pro/")
        for element_id, text in (
            ("id_coupon", "welcome-10"),
            ("id_email", "ada@example.com"),
            ("id_password", PASSWORD),
            ("id_name", "Lovelace SARL"),
            ("id_address_line1", "3 rue des Fleurs"),
            ("id_postal_code", "75011"),
            ("id_city", "Paris"),
        ):
            tab_to(page, element_id)
            page.keyboard.type(text)
        tab_to(page, "id_country")
        page.keyboard.type("France")  # a select picks the option typed
        tab_to(page, "id_payment_type_0")  # card, the first choice: Space selects it
        page.keyboard.press("Space")
        for element_id, text in (
            ("id_card_number", "4242424242424242"),
            ("id_card_expiry", "12/30"),
            ("id_card_holder", "Ada Lovelace"),
        ):
            tab_to(page, element_id)
            page.keyboard.type(text)
        shoot(page, "filled-by-keyboard")
        page.keyboard.press("Enter")

        expect(page.locator("#coupon-saving")).to_contain_text("3.00 EUR")
        expect(page.locator("#first-invoice [data-amount='total']")).to_have_text("32.40 EUR")
        shoot(page, "review-with-coupon")
        tab_to(page, "id_accept_terms")
        page.keyboard.press("Space")
        tab_to(page, "confirm-button")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Check your inbox")

        open_and_confirm(page, f"{live_server.url}{verification_path()}")
        expect(page.locator(".message--success")).to_be_visible()
        assert Invoice.objects.get().total.amount == Decimal("32.40")
        shoot(page, "subscribed")


def test_refusals_say_why_and_create_nothing(phone_page, live_server, shoot):
    page = phone_page
    with business_day(2026, 3, 2):
        build_shop()
        get_user_model().objects.create_user("grace@example.com", "grace@example.com", "x")
        page.goto(f"{live_server.url}/offers/shop/pro/")

        # A VAT number whose check digits are wrong
        fill_visitor(page, **{"#id_vat_number": "FR00123456789"})
        fill_card(page)
        page.get_by_role("button", name="Review").click()
        expect(page.locator("#error-summary")).to_contain_text("VAT number")
        expect(page.locator("#id_vat_number")).to_have_attribute("aria-invalid", "true")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "vat-refused")
        nothing_created()

        # A declined card
        fill_visitor(page, **{"#id_vat_number": ""})
        fill_card(page, "4000 0000 0000 0002")
        page.get_by_role("button", name="Review").click()
        expect(page.locator("#error-summary")).to_contain_text("declined")
        shoot(page, "card-declined")
        nothing_created()

        # An address that already has an account: a link to log in
        fill_visitor(page, **{"#id_email": "grace@example.com"})
        fill_card(page)
        page.get_by_role("button", name="Review").click()
        expect(page.locator("#account-exists")).to_contain_text("already exists")
        expect(page.locator("#account-exists a")).to_have_attribute(
            "href", "/accounts/login/?next=%2Foffers%2Fshop%2Fpro%2F"
        )
        shoot(page, "email-exists")
        assert not Customer.objects.exists() and not SignUp.objects.exists()
