"""Customers in their self-service pages, in Chromium: billing-rules example 6.3 (an upgrade on a
phone) and example 4.2 (a cancellation under a penalty term), a coupon previewed then redeemed, and
the undoing of a cancellation."""

import pytest
from playwright.sync_api import expect

from billing.models import Invoice
from subscriptions.models import Subscription
from tests.browser.conftest import business_day, load_demo, no_horizontal_scroll

pytestmark = pytest.mark.django_db(transaction=True)


def amount(page, table: str, which: str) -> str:
    return page.locator(f"#{table} [data-amount={which}]").inner_text()


def test_a_customer_upgrades_from_a_to_b_on_2026_11_21_on_a_phone(
    phone_page, log_in, shoot, live_server
):
    page = phone_page
    with business_day(2026, 11, 21):
        # Given Maple Hosting on Hosting A (150.00 CAD a month) since 2026-11-01
        load_demo()
        hosting = Subscription.objects.get(customer__name="Maple Hosting Co.")
        log_in(page, "customer")
        card = page.locator(f"#subscription-{hosting.pk}")
        expect(card).to_contain_text("Hosting A")
        expect(card.locator(".next-invoice")).to_contain_text("2026-12-01")
        expect(card.locator(".next-invoice")).to_contain_text("150.00 CAD")
        expect(page.locator("#who")).to_contain_text("Maple Hosting Co.")
        assert no_horizontal_scroll(page)
        shoot(page, "subscriptions")

        # When the customer looks at the plans of the upgrade group
        card.get_by_role("link", name="Change plan").click()
        option = page.locator("#plan-hosting-b")
        expect(option.locator(".price-now")).to_contain_text("33.33 CAD")
        expect(option.locator(".price-next")).to_contain_text("250.00 CAD")
        expect(option).to_contain_text("From 2026-12-01")
        assert no_horizontal_scroll(page)
        shoot(page, "plan-options")

        # and chooses B: 100 × 10 ÷ 30 = 33.33 CAD now (export: no tax), 250.00 from 2026-12-01
        option.get_by_role("link", name="Choose Hosting B").click()
        assert amount(page, "now-charges", "net") == "33.33 CAD"
        assert amount(page, "now-charges", "total") == "33.33 CAD"
        expect(page.locator("#now-charges")).to_contain_text("10/30")
        assert amount(page, "after-charges", "net") == "250.00 CAD"
        assert no_horizontal_scroll(page)
        shoot(page, "confirm-upgrade")
        page.get_by_role("button", name="Confirm: move to Hosting B").click()

        # Then the subscription is on B, and the 33.33 CAD are invoiced at once
        expect(page.locator(".message--success")).to_contain_text("33.33 CAD now")
        expect(card).to_contain_text("Hosting B")
        expect(card.locator(".next-invoice")).to_contain_text("250.00 CAD")
        shoot(page, "upgraded")
        page.get_by_role("link", name="Invoices").click()
        upgrade = Invoice.objects.get(subscription=hosting, issue_date="2026-11-21")
        assert str(upgrade.total.amount) == "33.3300"
        row = page.locator("#invoices tr", has_text=upgrade.number)
        expect(row).to_contain_text("33.33 CAD")
        assert no_horizontal_scroll(page)
        shoot(page, "invoices")
        pdf = page.request.get(f"{live_server.url}/account/invoices/{upgrade.pk}/pdf/")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")


def test_a_customer_cancels_under_a_penalty_term_undoes_it_and_redeems_a_coupon(
    page, log_in, shoot, live_server
):
    with business_day(2026, 10, 1):
        # Given Atelier Dupont on the 24-month office suite since 2026-01-01
        # (billing-rules example 4.2)
        load_demo()
        office = Subscription.objects.get(customer__name="Atelier Dupont", plan__code="office-24m")
        backup = Subscription.objects.get(
            customer__name="Atelier Dupont", plan__code="cloud-backup-monthly"
        )
        log_in(page, "customer2")
        card = page.locator(f"#subscription-{office.pk}")
        expect(card).to_contain_text("2028-01-01")  # commitment end
        shoot(page, "subscriptions")

        # When the customer asks to cancel: the date, the penalty and the rule come first
        card.get_by_role("link", name="Cancel the subscription").click()
        expect(page.locator("#effective-date")).to_have_text("2026-11-01")
        expect(page.locator("#penalty")).to_contain_text("140.05 EUR")
        expect(page.locator("#rule")).to_contain_text("240.00 × 426 ÷ 730")
        assert amount(page, "penalty-charges", "net") == "140.05 EUR"
        assert amount(page, "penalty-charges", "tax") == "28.01 EUR"
        assert amount(page, "penalty-charges", "total") == "168.06 EUR"
        assert Subscription.objects.get(pk=office.pk).status == Subscription.Status.ACTIVE
        shoot(page, "cancellation-preview")

        # and confirms
        page.get_by_role("button", name="Confirm the cancellation").click()
        expect(page.locator(".message--success")).to_contain_text("ends on 2026-11-01")
        # the confirmation names the total tax included, as the review did (140.05 + 28.01)
        expect(page.locator(".message--success")).to_contain_text("168.06 EUR")
        expect(card).to_contain_text("pending cancellation")
        expect(card).to_contain_text("Cancelled: ends on 2026-11-01.")
        shoot(page, "cancelled")

        # Then changes their mind: the cancellation is undone and the penalty credited back
        card.get_by_role("button", name="Undo the cancellation").click()
        expect(page.locator(".message--success")).to_contain_text("The penalty is credited back")
        expect(card).to_contain_text("active")
        shoot(page, "cancellation-undone")

    # Two months later, the cloud backup runs (its trial ended on 2026-11-24); the nightly
    # billing has run meanwhile (the seed catches up, as the job would have)
    with business_day(2026, 11, 25):
        load_demo()
        log_in(page, "customer2", next_url=f"/account/subscriptions/{backup.pk}/")
        expect(page.locator("h1")).to_have_text("Cloud backup, monthly")
        assert amount(page, "next-invoice-charges", "net") == "40.00 EUR"
        shoot(page, "backup")

        # An unknown code is refused in the page; a coupon takes 20 % off the add-on
        page.get_by_label("Coupon or voucher code").fill("coupon_00")
        page.get_by_role("button", name="Redeem").click()
        expect(page.locator("#coupon-form .errorlist")).to_contain_text(
            "The code coupon_00 does not exist"
        )
        shoot(page, "unknown-coupon")
        # Redeem shows what the code does first; only Confirm redeems it
        page.get_by_label("Coupon or voucher code").fill("coupon_87")
        page.get_by_role("button", name="Redeem").click()
        expect(page.locator("#coupon-summary")).to_contain_text(
            "gives 20 % off the additional service: 2.00 EUR off the invoice of 2026-12-24"
        )
        assert amount(page, "coupon-invoice-charges", "net") == "38.00 EUR"
        assert not backup.redemptions.exists()
        shoot(page, "coupon-preview")
        page.get_by_role("button", name="Confirm: redeem coupon_87").click()
        expect(page.locator(".message--success")).to_contain_text(
            "2.00 EUR off the invoice of 2026-12-24"
        )
        expect(page.locator("#next-invoice-charges")).to_contain_text(
            "20 % off the additional service"
        )
        assert amount(page, "next-invoice-charges", "net") == "38.00 EUR"
        shoot(page, "coupon-redeemed")
