"""Hosted pages in Chromium: a link an integrator made opens the plan change without a login (on a
phone in French, on a desktop in English), and the password reset is reached from the login
page. Every page axe-clean."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core import mail
from playwright.sync_api import expect

from demo.catalog import seed_catalog
from storefront.services.links import hosted_link_create
from subscriptions.models import Subscription
from tests.browser.conftest import (
    PHONE,
    accessibility_violations,
    business_day,
    no_horizontal_scroll,
)
from tests.partners import builders

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Tide-harbour-Lantern-42"


def test_an_integrators_link_opens_the_plan_change_without_a_login(
    browser, page, live_server, shoot
):
    with business_day(2026, 11, 21):
        # Given Maple Hosting on Hosting A since 2026-11-01, and a link its integrator asked for
        seed_catalog()
        maple = builders.self_service_customer("Maple Hosting Co.", "mary")
        hosting = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
        _link, path = hosted_link_create(customer=maple, page="change_plan", subscription=hosting)

        # When Mary opens it on her phone, in French
        phone = browser.new_context(viewport=PHONE, locale="fr-FR").new_page()
        phone.goto(live_server.url + path)

        # Then she is on the plan change, not logged in, with no way to the rest of the account
        expect(phone.locator("html")).to_have_attribute("lang", "fr")
        expect(phone.locator("h1")).to_have_text("Changer d'offre")
        expect(phone.locator("#hosted-banner")).to_contain_text("Maple Hosting Co.")
        expect(phone.locator("#hosted-banner")).to_contain_text("11:00")
        expect(phone.locator("#plan-hosting-b")).to_be_visible()
        expect(phone.locator(".site-nav")).to_have_count(0)
        expect(phone.locator("form.logout")).to_have_count(0)
        assert accessibility_violations(phone) == []
        assert no_horizontal_scroll(phone)
        shoot(phone, "plan-change-fr-phone")
        phone.wait_for_load_state("networkidle")
        phone.context.close()

        # When the link is opened on a desktop, in English, and Hosting B chosen
        page.goto(live_server.url + path)
        expect(page.locator("h1")).to_have_text("Change plan")
        option = page.locator("#plan-hosting-b")
        expect(option.locator(".price-now")).to_contain_text("33.33 CAD")
        assert accessibility_violations(page) == []
        shoot(page, "plan-change-en-desktop")
        option.get_by_role("link", name="Choose Hosting B").click()
        expect(page.locator("#now-charges")).to_contain_text("10/30")
        expect(page.locator("#hosted-banner")).to_be_visible()
        assert accessibility_violations(page) == []
        shoot(page, "confirm-en-desktop")
        page.get_by_role("button", name="Confirm: move to Hosting B").click()

        # Then the change is made, and the page says so without leaving the link's page
        expect(page.locator(".message--success")).to_contain_text("33.33 CAD now")
        expect(page.locator("h1")).to_have_text("Change plan")
        assert Subscription.objects.get(pk=hosting.pk).plan.code == "hosting-b"
        assert accessibility_violations(page) == []
        shoot(page, "changed")

        # and the rest of the account still asks for a login
        page.goto(f"{live_server.url}/account/invoices/")
        expect(page.locator("#login-form")).to_be_visible()


def test_the_password_reset_is_reached_from_the_login_page(page, live_server, shoot):
    builders.self_service_customer("Maple Hosting Co.", "mary")  # mary@example.com
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.locator("h1")).to_have_text("Reset your password")
    assert accessibility_violations(page) == []
    shoot(page, "reset-form")

    page.get_by_label("Email").fill("mary@example.com")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    assert accessibility_violations(page) == []
    shoot(page, "reset-sent")

    [email] = mail.outbox
    [link] = re.findall(r"https?://\S+/accounts/reset/\S+/", email.body)
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.get_by_label("New password:", exact=True).fill("password")
    page.get_by_label("New password confirmation:").fill("password")
    page.get_by_role("button", name="Save my new password").click()
    expect(page.locator(".field--error").first).to_contain_text("too common")
    assert accessibility_violations(page) == []
    shoot(page, "reset-weak")
    page.get_by_label("New password:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation:").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my new password").click()
    expect(page.locator("h1")).to_have_text("Password saved")
    assert accessibility_violations(page) == []
    shoot(page, "reset-complete")

    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Username").fill("mary")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#who")).to_contain_text("Maple Hosting Co.")
    assert page.url.endswith("/account/")


def test_the_password_reset_fits_a_phone_in_french(browser, live_server, shoot):
    phone = browser.new_context(viewport=PHONE, locale="fr-FR").new_page()
    phone.goto(f"{live_server.url}/accounts/login/")
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    phone.locator("#forgot-password").click()
    expect(phone.locator("#password-reset-form")).to_be_visible()
    assert accessibility_violations(phone) == []
    assert no_horizontal_scroll(phone)
    shoot(phone, "reset-form-fr-phone")
    phone.wait_for_load_state("networkidle")
    phone.context.close()
