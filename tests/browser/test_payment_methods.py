"""A customer signs a SEPA mandate in self-service, in Chromium: in English on a desktop, then
revokes it; in French on a phone, a wrong IBAN refused on its field, then signed."""

import pytest
from playwright.sync_api import expect

from payments.models import PaymentMethod
from tests.browser.conftest import business_day, load_demo, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)
IBAN = "FR76 3000 6000 0112 3456 7890 189"


def test_a_customer_signs_a_mandate_and_revokes_it(page, log_in, shoot):
    with business_day(2026, 11, 21):
        # Given Atelier Dupont, paying by bank transfer
        load_demo()
        log_in(page, "customer2")
        page.get_by_role("link", name="Payment methods").click()
        expect(page.locator("h1")).to_have_text("Payment methods")
        expect(page.locator("#no-methods")).to_contain_text("bank transfer")
        expect(page.locator("#mandate-text")).to_contain_text("Cadence Demo SAS")
        shoot(page, "transfer-only")

        # When Denis signs the mandate without accepting it, then accepting it
        page.get_by_label("Account holder (as your bank knows it)").fill("Atelier Dupont")
        page.get_by_label("IBAN").fill(IBAN)
        page.get_by_role("button", name="Sign the mandate").click()
        expect(page.locator(".field--error")).to_contain_text("Accept the mandate text")
        assert not PaymentMethod.objects.exists()
        shoot(page, "not-accepted")
        page.get_by_label("I accept the mandate above").check()
        page.get_by_role("button", name="Sign the mandate").click()

        # Then the mandate is the default, its IBAN masked
        expect(page.locator(".message--success")).to_contain_text("FR76 •••• 0189")
        method = PaymentMethod.objects.get()
        item = page.locator(f"#method-{method.pk}")
        expect(item).to_contain_text("SEPA direct debit")
        expect(item).to_contain_text("default")
        expect(item).to_contain_text(method.mandate_reference)
        expect(page.locator("body")).not_to_contain_text("FR7630006000011234567890189")
        shoot(page, "signed")

        # and revoking it brings back the bank transfer
        item.get_by_role("button", name="Revoke").click()
        expect(page.locator("#no-methods")).to_be_visible()
        method.refresh_from_db()
        assert method.status == "revoked"
        shoot(page, "revoked")


def test_a_customer_signs_a_mandate_in_french_on_a_phone(phone_page, log_in, shoot):
    page = phone_page
    with business_day(2026, 11, 21):
        load_demo()
        log_in(page, "customer2")
        page.locator("#language-select").select_option("fr")
        page.get_by_role("link", name="Moyens de paiement").click()
        expect(page.locator("h1")).to_have_text("Moyens de paiement")
        expect(page.locator("#mandate-text")).to_contain_text("vous autorisez Cadence Demo SAS")
        assert no_horizontal_scroll(page)
        shoot(page, "moyens-de-paiement")

        page.get_by_label("Titulaire du compte (tel que votre banque le connaît)").fill(
            "Atelier Dupont"
        )
        page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 188")
        page.get_by_label("J'accepte le mandat ci-dessus").check()
        page.get_by_role("button", name="Signer le mandat").click()
        expect(page.locator(".field--error")).to_contain_text("Cet IBAN n'est pas valide")
        assert no_horizontal_scroll(page)
        shoot(page, "iban-refuse")

        page.get_by_label("IBAN").fill(IBAN)
        page.get_by_label("J'accepte le mandat ci-dessus").check()
        page.get_by_role("button", name="Signer le mandat").click()
        expect(page.locator(".message--success")).to_contain_text("FR76 •••• 0189")
        expect(page.locator("#payment-methods")).to_contain_text("par défaut")
        assert no_horizontal_scroll(page)
        shoot(page, "mandat-signe")
