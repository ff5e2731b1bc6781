"""The partner's figures page on a phone (375 px) and on a desktop, with the demo's invoices, in
Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import business_day, load_demo, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_figures_fit_a_phone_screen(phone_page, log_in, shoot, live_server):
    with business_day(2026, 11, 21):
        load_demo()
        log_in(phone_page, "partner")
        phone_page.get_by_role("link", name="Figures").click()
        expect(phone_page.locator("h1")).to_have_text("Figures")
        # Acme's demo customer holds 10 gateway seats; the demo bills it quarterly.
        expect(phone_page.locator("#live-subscriptions")).to_have_text("1")
        expect(phone_page.locator("#months tbody tr")).to_have_count(12)
        assert no_horizontal_scroll(phone_page)
        shoot(phone_page, "figures")


def test_the_figures_on_a_desktop(page, log_in, shoot, live_server):
    with business_day(2026, 11, 21):
        load_demo()
        log_in(page, "partner", next_url="/partners/figures/")
        expect(page.locator("#months")).to_contain_text("November 2026")
        expect(page.locator(".seats").first).to_have_text("10")
        shoot(page, "figures")
