"""The demo offers grid in Chromium: on a desktop and on a phone, in English and in French,
without accessibility violations or horizontal scroll; the yearly prices and a plan's checkout
reached with the keyboard alone. Only the demo catalog is loaded (the grid needs nothing else)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from demo.catalog import seed_catalog
from tests.browser.conftest import (
    accessibility_violations,
    business_day,
    no_horizontal_scroll,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _to_french(page) -> None:
    """Through the language switcher of the page's header, as a visitor would."""
    with page.expect_navigation():
        page.select_option("#language-select", "fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def _tab_to(page, selector: str, limit: int = 60) -> None:
    """Tab until the element matching `selector` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def test_the_demo_grid_on_a_desktop_in_english_then_french(page, shoot, live_server):
    with business_day(2026, 12, 7):
        seed_catalog()
        page.goto(f"{live_server.url}/offers/")
        assert page.url == f"{live_server.url}/offers/cadence/"  # the only public grid
        expect(page.get_by_role("heading", level=1)).to_have_text("Cadence offers")
        cards = page.locator("article.offer")
        expect(cards).to_have_count(3)
        highlighted = page.locator("article.offer--highlighted")
        expect(highlighted).to_contain_text("Most popular")
        expect(highlighted).to_contain_text("Cloud backup, monthly")
        expect(highlighted).to_contain_text("30.00 EUR")
        expect(highlighted).to_contain_text("36.00 EUR incl. VAT")
        expect(highlighted).to_contain_text("14-day free trial")
        # Side by side on a desktop.
        boxes = [cards.nth(i).bounding_box() for i in range(3)]
        assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "grid-en")

        page.select_option("#offers-country", "BE")
        page.get_by_role("button", name="Show prices").click()
        expect(highlighted).to_contain_text("36.30 EUR incl. VAT")
        assert "country=BE" in page.url
        shoot(page, "grid-en-belgium")

        _to_french(page)
        expect(page.get_by_role("heading", level=1)).to_have_text("Les offres Cadence")
        expect(highlighted).to_contain_text("Le plus choisi")
        expect(highlighted).to_contain_text("Sauvegarde en ligne, mensuelle")
        expect(highlighted).to_contain_text("30,00")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "grid-fr")


def test_the_demo_grid_on_a_phone_with_the_keyboard_alone(phone_page, shoot, live_server):
    page = phone_page
    with business_day(2026, 12, 7):
        seed_catalog()
        page.goto(f"{live_server.url}/offers/cadence/")
        cards = page.locator("article.offer")
        expect(cards).to_have_count(3)
        # Stacked at 375 px: one card under the other.
        first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"]
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "grid-phone-en")

        # Yearly prices, with the keyboard: Tab to the toggle, Enter.
        _tab_to(page, ".period-toggle a[href*='period=yearly']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "period=yearly" in page.url
        highlighted = page.locator("article.offer--highlighted")
        expect(highlighted).to_contain_text("Cloud backup, yearly")
        expect(highlighted).to_contain_text("300.00 EUR")
        expect(highlighted).to_contain_text("per year")
        expect(page.locator(".period-toggle [aria-current='true']")).to_have_text("Yearly")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "grid-phone-yearly")

        # In French, on the phone too.
        _to_french(page)
        expect(page.get_by_role("heading", level=1)).to_have_text("Les offres Cadence")
        assert no_horizontal_scroll(page)
        assert accessibility_violations(page) == []
        shoot(page, "grid-phone-fr")

        # The yearly plan's checkout, with the keyboard (the checkout page is another part's:
        # only the address reached is checked).
        _tab_to(page, "a.offer__choose[href*='/cloud-backup-yearly/']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == f"{live_server.url}/offers/cadence/cloud-backup-yearly/?country=FR"
