"""The customer self-service pages through Django's test client: subscriptions with their next
invoice and pending changes, plan changes with their price, coupons, cancellations and their
undoing, invoices. Every refusal is shown in the page and changes nothing."""

from datetime import date

import pytest
from django.urls import reverse

from billing.models import Invoice
from catalog.models import Bundle, Plan
from subscriptions import services
from subscriptions.models import CouponRedemption, Subscription, SubscriptionEvent
from tests.partners import builders
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def only_subscription(customer) -> Subscription:
    return customer.subscriptions.get()


# Subscriptions -----------------------------------------------------------------------------------


def test_the_subscriptions_page_shows_plan_status_next_invoice_and_commitment(
    maple_client, maple, on
):
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 21))
    page = text(maple_client.get(reverse("account:subscriptions")))
    assert "Hosting A" in page
    assert 'class="badge badge--active">active' in page
    assert "2026-12-01: <strong>150.00 CAD</strong>" in page  # export: no tax
    assert "Commitment end" in page
    assert "Maple Hosting Co." in page  # who is logged in, for which customer


def test_the_commitment_end_is_shown(dupont_client, dupont, on):
    on(date(2026, 3, 10))
    page = text(dupont_client.get(reverse("account:subscriptions")))
    assert "2028-01-01" in page


def test_a_subscription_pending_fulfilment_is_shown_as_such(demo_catalog, client, on):
    customer = builders.self_service_customer("Plateforme SA", "pia", currency="EUR", country="FR")
    builders.subscribe(customer, "platform-yearly", date(2026, 3, 1))
    client.force_login(customer.users.get().user)
    on(date(2026, 3, 2))
    page = text(client.get(reverse("account:subscriptions")))
    assert 'badge--pending_fulfilment">pending fulfilment' in page
    assert "Pending fulfilment: the subscription starts" in page
    assert "None scheduled" in page  # nothing is invoiced before the fulfilment


def test_a_scheduled_downgrade_is_a_pending_change(maple_client, maple, on):
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    maple_client.post(
        reverse(
            "account:change_plan_confirm",
            args=[subscription.pk, Plan.objects.get(code="hosting-b").pk],
        )
    )
    maple_client.post(
        reverse(
            "account:change_plan_confirm",
            args=[subscription.pk, Plan.objects.get(code="hosting-a").pk],
        )
    )
    builders.bill(date(2026, 11, 21))  # the upgrade's prorated charge, invoiced at once
    page = text(maple_client.get(reverse("account:subscriptions")))
    assert "Moves to Hosting A on 2026-12-01." in page
    assert "2026-12-01: <strong>150.00 CAD</strong>" in page


def test_right_after_an_upgrade_the_next_invoice_is_the_next_periods(maple_client, maple, on):
    # Given November invoiced (150.00 CAD) on its first day
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    hosting_b = Plan.objects.get(code="hosting-b")

    # When the customer upgrades, and the page is shown before the billing task has run
    done = maple_client.post(
        reverse("account:change_plan_confirm", args=[subscription.pk, hosting_b.pk])
    )
    page = text(maple_client.get(done.url))
    detail = text(maple_client.get(reverse("account:subscription", args=[subscription.pk])))

    # Then the next invoice is December's on Hosting B, not November's (already invoiced) again
    assert "2026-12-01: <strong>250.00 CAD</strong>" in page
    assert "2026-11-01: <strong>" not in page
    assert "Issued on 2026-12-01:" in detail
    # and it stays so once billing has run
    builders.bill(date(2026, 11, 21))
    assert "2026-12-01: <strong>250.00 CAD</strong>" in text(maple_client.get(done.url))


def test_right_after_a_cancellation_no_next_invoice_is_shown(dupont_client, dupont, on):
    builders.bill(date(2026, 10, 1))
    # as billing-rules example 4.2: ends on 2026-11-01, a penalty invoiced at once
    on(date(2026, 10, 10))
    subscription = only_subscription(dupont)
    done = dupont_client.post(reverse("account:cancel", args=[subscription.pk]))
    page = text(dupont_client.get(done.url))
    assert "2026-10-01: <strong>" not in page  # October's invoice, already issued
    assert "None scheduled" in page


# Changing plan -----------------------------------------------------------------------------------


def test_the_plan_options_show_the_price_now_and_from_the_next_period(maple_client, maple, on):
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    page = text(maple_client.get(reverse("account:change_plan", args=[subscription.pk])))
    assert 'id="plan-hosting-b"' in page
    assert "<strong>33.33 CAD</strong>" in page  # billing-rules example 6.3
    assert "From 2026-12-01" in page and "<strong>250.00 CAD</strong>" in page
    subscription.refresh_from_db()
    assert subscription.plan.code == "hosting-a"  # a preview changes nothing


def test_an_upgrade_is_confirmed_with_its_prorated_price(maple_client, maple, on):
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    hosting_b = Plan.objects.get(code="hosting-b")
    url = reverse("account:change_plan_confirm", args=[subscription.pk, hosting_b.pk])
    page = text(maple_client.get(url))
    assert 'data-amount="net">33.33 CAD' in page and 'data-amount="total">33.33 CAD' in page
    assert "(250.00 − 150.00) × 10/30" in page
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.PLAN_CHANGED).exists()

    done = maple_client.post(url)
    assert done.status_code == 302 and done.url == reverse("account:subscriptions")
    subscription.refresh_from_db()
    assert subscription.plan == hosting_b
    change = subscription.events.get(kind=SubscriptionEvent.Kind.PLAN_CHANGED)
    assert change.channel == "self-service" and change.actor.username == "mary"
    assert "Upgraded to Hosting B now: 33.33 CAD now" in text(maple_client.get(done.url))


def test_a_downgrade_costs_nothing_now_and_the_lower_price_from_the_next_period(
    maple_client, maple, on
):
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    hosting_b = Plan.objects.get(code="hosting-b")
    maple_client.post(reverse("account:change_plan_confirm", args=[subscription.pk, hosting_b.pk]))
    page = text(maple_client.get(reverse("account:change_plan", args=[subscription.pk])))
    assert 'id="plan-hosting-a"' in page
    assert "nothing" in page and "<strong>150.00 CAD</strong>" in page


def test_a_scheduled_downgrade_can_be_withdrawn_after_a_confirmation(maple_client, maple, on):
    # Given Hosting B from 2026-11-21 (an upgrade) and a downgrade back to A on 2026-12-01
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    hosting_a, hosting_b = (Plan.objects.get(code=c) for c in ("hosting-a", "hosting-b"))
    maple_client.post(reverse("account:change_plan_confirm", args=[subscription.pk, hosting_b.pk]))
    maple_client.post(reverse("account:change_plan_confirm", args=[subscription.pk, hosting_a.pk]))
    withdraw = reverse("account:withdraw_plan_change", args=[subscription.pk])
    listed = text(maple_client.get(reverse("account:subscriptions")))
    assert "Moves to Hosting A on 2026-12-01." in listed
    assert withdraw in listed  # offered where the change is shown
    assert 'href="{}"'.format(reverse("account:change_plan", args=[subscription.pk])) not in listed

    # When the customer asks: the page says what stays, and changes nothing yet
    page = text(maple_client.get(withdraw))
    assert "The move to Hosting A on 2026-12-01 is withdrawn if you confirm" in page
    assert 'data-amount="total">250.00 CAD' in page
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.PLAN_CHANGE_WITHDRAWN)

    # Then, confirmed, the subscription stays on B and can change again
    done = maple_client.post(withdraw)
    assert done.status_code == 302 and done.url == reverse("account:subscriptions")
    listed = text(maple_client.get(done.url))
    assert "The change to Hosting A is withdrawn: the subscription stays on Hosting B" in listed
    assert "Moves to Hosting A" not in listed
    assert "2026-12-01: <strong>250.00 CAD</strong>" in listed
    assert 'href="{}"'.format(reverse("account:change_plan", args=[subscription.pk])) in listed
    again = text(maple_client.post(withdraw, follow=True))
    assert "There is no scheduled plan change to withdraw." in again


def test_the_self_service_plan_change_to_a_manual_plan_shows_its_price(maple_client, maple, on):
    Plan.objects.filter(code="hosting-b").update(manual_fulfilment=True)
    on(date(2026, 11, 21))
    subscription = only_subscription(maple)
    hosting_b = Plan.objects.get(code="hosting-b")

    page = text(maple_client.get(reverse("account:change_plan", args=[subscription.pk])))
    assert "nothing before the fulfilment" in page
    assert "<strong>250.00 CAD</strong> every 1 month, billed once fulfilled" in page
    assert "when an operator fulfils it" in page

    url = reverse("account:change_plan_confirm", args=[subscription.pk, hosting_b.pk])
    confirm = text(maple_client.get(url))
    assert "Billed once fulfilled" in confirm
    assert 'data-amount="total">250.00 CAD' in confirm
    subscription.refresh_from_db()
    assert subscription.pending_plan is None  # a preview changes nothing


def test_a_plan_outside_the_upgrade_group_cannot_be_chosen(maple_client, maple):
    subscription = only_subscription(maple)
    other = Plan.objects.get(code="office-24m")
    url = reverse("account:change_plan_confirm", args=[subscription.pk, other.pk])
    assert maple_client.get(url).status_code == 404
    assert maple_client.post(url).status_code == 404


# Coupons -----------------------------------------------------------------------------------------


@pytest.fixture
def backup(dupont):
    """Cloud backup with the additional service, its trial ended on 2026-11-24."""
    subscription = builders.subscribe(
        dupont,
        "cloud-backup-monthly",
        date(2026, 11, 10),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    )
    builders.bill(date(2026, 11, 24))
    return subscription


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("nope", "The code nope does not exist: check it and try again."),
        ("", "Enter a code."),
        ("x" * 61, "Ensure this value has at most 60 characters"),
    ],
)
def test_a_bad_code_is_refused_in_the_page_and_nothing_is_redeemed(
    dupont_client, backup, on, code, message
):
    on(date(2026, 11, 25))
    response = dupont_client.post(reverse("account:coupon", args=[backup.pk]), {"code": code})
    assert response.status_code == 200
    assert message in text(response)
    assert not CouponRedemption.objects.exists()


def test_a_coupon_is_previewed_then_redeemed_on_confirmation(dupont_client, backup, on):
    on(date(2026, 11, 25))
    url = reverse("account:subscription", args=[backup.pk])
    assert 'data-amount="net">40.00 EUR' in text(dupont_client.get(url))

    # Redeem shows what the code does, and redeems nothing yet (the service's dry run)
    preview = dupont_client.post(reverse("account:coupon", args=[backup.pk]), {"code": "coupon_87"})
    assert preview.status_code == 200
    page = text(preview)
    assert (
        "If you confirm, the code coupon_87 gives 20 % off the additional service: "
        "2.00 EUR off the invoice of 2026-12-24."
    ) in page
    assert "A coupon discounts that invoice only" in page
    assert 'id="coupon-invoice-charges"' in page and 'data-amount="net">38.00 EUR' in page
    assert not CouponRedemption.objects.exists()
    assert 'data-amount="net">40.00 EUR' in text(dupont_client.get(url))

    # Confirm redeems it
    confirm = reverse("account:coupon_confirm", args=[backup.pk])
    assert f'action="{confirm}"' in page
    done = dupont_client.post(confirm, {"code": "coupon_87"})
    assert done.status_code == 302 and done.url == url
    page = text(dupont_client.get(url))
    assert "Code coupon_87 redeemed: 2.00 EUR off the invoice of 2026-12-24." in page
    assert "20 % off the additional service" in page
    assert 'data-amount="net">38.00 EUR' in page
    assert CouponRedemption.objects.get().subscription == backup

    again = dupont_client.post(reverse("account:coupon", args=[backup.pk]), {"code": "coupon_87"})
    assert "has been fully used" in text(again)


def test_the_preview_names_the_code_as_generated_whatever_its_case(dupont_client, backup, on):
    on(date(2026, 11, 25))
    preview = text(
        dupont_client.post(reverse("account:coupon", args=[backup.pk]), {"code": "COUPON_88"})
    )
    assert "If you confirm, the code coupon_88 gives" in preview
    assert 'name="code" value="coupon_88"' in preview
    assert not CouponRedemption.objects.exists()


def test_the_coupon_preview_speaks_french(dupont_client, backup, on):
    on(date(2026, 11, 25))
    preview = dupont_client.post(
        reverse("account:coupon", args=[backup.pk]),
        {"code": "coupon_87"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert (
        "Si vous confirmez, le code coupon_87 donne 20 % sur le service supplémentaire : "
        "2,00\u00a0€ de remise sur la facture du 2026-12-24."  # the French amount format
    ) in text(preview)
    assert "Confirmer : utiliser coupon_87" in text(preview)


def test_a_code_used_up_before_the_confirmation_is_refused_in_the_form(
    dupont_client, dupont, backup, on
):
    on(date(2026, 11, 25))
    dupont_client.post(reverse("account:coupon", args=[backup.pk]), {"code": "coupon_87"})
    other = builders.subscribe(
        dupont,
        "cloud-backup-monthly",
        date(2026, 11, 10),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    )
    services.coupon_redeem(subscription=other, code="coupon_87", today=date(2026, 11, 25))

    response = dupont_client.post(
        reverse("account:coupon_confirm", args=[backup.pk]), {"code": "coupon_87"}
    )

    assert response.status_code == 200
    assert 'id="coupon-form"' in text(response)
    assert "The code coupon_87 has been fully used." in text(response)
    assert not CouponRedemption.objects.filter(subscription=backup).exists()


# Cancelling --------------------------------------------------------------------------------------


def test_a_cancellation_shows_the_date_the_penalty_and_the_rule_first(dupont_client, dupont, on):
    on(date(2026, 10, 1))  # billing-rules example 4.2
    subscription = only_subscription(dupont)
    url = reverse("account:cancel", args=[subscription.pk])
    page = text(dupont_client.get(url))
    assert 'id="effective-date"><strong>2026-11-01' in page
    assert "140.05 EUR" in page
    assert 'data-amount="tax">28.01 EUR' in page and 'data-amount="total">168.06 EUR' in page
    assert "240.00 × 426 ÷ 730" in page
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE

    done = dupont_client.post(url)
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING_CANCELLATION
    assert subscription.end_date == date(2026, 11, 1)
    page = text(dupont_client.get(done.url))
    assert "A penalty of 168.06 EUR is invoiced now." in page
    assert "Cancelled: ends on 2026-11-01." in page
    assert reverse("account:undo_cancellation", args=[subscription.pk]) in page


def test_within_the_grace_period_there_is_no_penalty(dupont_client, dupont, on):
    on(date(2026, 1, 10))
    subscription = only_subscription(dupont)
    page = text(dupont_client.get(reverse("account:cancel", args=[subscription.pk])))
    assert 'id="effective-date"><strong>2026-02-01' in page
    assert 'id="penalty">None' in page


def test_a_pending_cancellation_can_be_undone(dupont_client, dupont, on):
    on(date(2026, 10, 1))
    subscription = only_subscription(dupont)
    dupont_client.post(reverse("account:cancel", args=[subscription.pk]))
    on(date(2026, 10, 5))
    done = dupont_client.post(reverse("account:undo_cancellation", args=[subscription.pk]))
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE and subscription.end_date is None
    assert "The penalty is credited back." in text(dupont_client.get(done.url))


def test_undoing_without_a_cancellation_says_so_and_changes_nothing(dupont_client, dupont, on):
    on(date(2026, 10, 1))
    subscription = only_subscription(dupont)
    events = subscription.events.count()
    done = dupont_client.post(
        reverse("account:undo_cancellation", args=[subscription.pk]), follow=True
    )
    assert "There is no cancellation to undo." in text(done)
    assert subscription.events.count() == events
    assert (
        dupont_client.get(reverse("account:undo_cancellation", args=[subscription.pk])).status_code
        == 405
    )


def test_a_second_cancellation_is_refused_with_the_reason(dupont_client, dupont, on):
    on(date(2026, 10, 1))
    subscription = only_subscription(dupont)
    dupont_client.post(reverse("account:cancel", args=[subscription.pk]))
    page = text(dupont_client.get(reverse("account:cancel", args=[subscription.pk])))
    assert "A cancellation is already scheduled for 2026-11-01." in page
    assert "Confirm the cancellation" not in page


# Invoices ----------------------------------------------------------------------------------------


def test_the_customer_sees_its_own_invoices_and_their_pdfs(dupont_client, dupont, maple, on):
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 2))
    own = Invoice.objects.filter(customer=dupont).order_by("-issue_date").first()
    others = Invoice.objects.get(customer=maple)
    page = text(dupont_client.get(reverse("account:invoices")))
    assert own.number in page and "AD-2026-001" in page
    assert others.number not in page

    pdf = dupont_client.get(reverse("account:invoice_pdf", args=[own.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert dupont_client.get(reverse("account:invoice_pdf", args=[others.pk])).status_code == 404
