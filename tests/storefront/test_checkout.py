"""The hosted checkout end to end through its pages (Django's test client): checkout → review
→ confirm → the verification link → the subscription, its first invoice and its webhooks'
outboxes. Every refusal creates nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings

from billing.models import Invoice
from catalog import services as catalog_services
from catalog.models import OffersGridPlan, SeatType
from partners.models import Partner, PartnerCustomer
from payments.models import PaymentMethod
from storefront.models import Attempt, SignUp
from storefront.services.signup import signups_purge
from subscriptions.models import (
    Customer,
    CustomerEvent,
    CustomerUser,
    Subscription,
    SubscriptionEvent,
)
from tests.catalog.factories import (
    BundleItemFactory,
    CouponCampaignFactory,
    PlanFactory,
    TaxRateFactory,
)
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CHECKOUT = "/offers/shop/pro/"
REVIEW = "/offers/shop/pro/review/"
PASSWORD = "a-Long-pass-2026"


def order(**changes) -> dict:
    data = {
        "email": "ada@example.com",
        "password": PASSWORD,
        "kind": "company",
        "name": "Lovelace SARL",
        "vat_number": "",
        "address_line1": "3 rue des Fleurs",
        "postal_code": "75011",
        "city": "Paris",
        "country": "FR",
        "payment_type": "card",
        "card_number": "4242 4242 4242 4242",
        "card_expiry": "12/30",
        "card_holder": "Ada Lovelace",
        "coupon": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def nothing_created() -> None:
    assert not get_user_model().objects.filter(email="ada@example.com").exists()
    assert not Customer.objects.exists()
    assert not SignUp.objects.exists()
    assert not PaymentMethod.objects.exists()
    assert not Subscription.objects.exists()


def confirm(client, checkout=CHECKOUT, review=REVIEW, **changes):
    response = client.post(checkout, order(**changes))
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == review
    return client.post(review, {"accept_terms": "on"})


def verification_link() -> str:
    assert mail.outbox, "no verification email"
    return re.search(r"https?://\S+/offers/verify/\S+/", mail.outbox[-1].body).group(0)


def open_link(client, link: str):
    """The link opened, then confirmed: its page asks first (a GET changes nothing)."""
    path = link[link.index("/offers/") :]
    return client.post(path)


def test_the_checkout_page_shows_the_plan_and_every_field(client, shop, day):
    response = client.get(CHECKOUT)
    assert response.status_code == 200
    page = response.content.decode()
    for label in ("Pro", "Email address", "Password", "VAT number", "Card number", "IBAN"):
        assert label in page
    assert "Bank transfer" in page or "bank transfer" in page


def test_a_plan_outside_the_grid_is_not_found(client, shop, day):
    assert client.get("/offers/shop/nope/").status_code == 404
    assert client.get("/offers/other/pro/").status_code == 404


def test_card_sign_up_to_a_paid_subscription(client, shop, day, django_capture_on_commit_callbacks):
    response = confirm(client)
    assert response["Location"] == "/offers/welcome/"
    signup = SignUp.objects.get()
    assert signup.status == SignUp.Status.PENDING
    assert signup.order["payment"]["type"] == "card"
    assert signup.order["payment"]["last4"] == "4242"
    assert "4242424242424242" not in str(signup.order)
    assert signup.password.startswith("md5$")  # hashed
    assert not Customer.objects.exists()  # nothing until verified

    with django_capture_on_commit_callbacks(execute=True):
        response = open_link(client, verification_link())

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/account/subscriptions/{subscription.pk}/"
    customer = subscription.customer
    assert customer.name == "Lovelace SARL"
    assert customer.payment_type == "card"
    assert CustomerUser.objects.get(customer=customer).user.username == "ada@example.com"
    invoice = Invoice.objects.get(customer=customer, kind="invoice")
    assert (invoice.total.amount, invoice.issue_date) == (D("36.00"), date(2026, 3, 2))
    method = PaymentMethod.objects.get(customer=customer)
    assert (method.kind, method.card_last4, method.is_default) == ("card", "4242", True)
    # The first invoice is charged to the card, as the pay page charges one; the test gateway
    # confirms it by its webhook after the commit (eager tasks): paid.
    assert invoice.card_payments.get().method == method
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    # The webhooks' outboxes
    assert CustomerEvent.objects.filter(customer=customer, kind="created").exists()
    assert SubscriptionEvent.objects.filter(subscription=subscription, kind="created").exists()
    signup.refresh_from_db()
    assert (signup.status, signup.customer, signup.subscription) == (
        "verified",
        customer,
        subscription,
    )
    # Logged in: the account page opens
    assert client.get(response["Location"]).status_code == 200
    # and the welcome email names the first invoice
    assert invoice.number in mail.outbox[-1].body


def test_sepa_sign_up(client, shop, day):
    confirm(
        client,
        payment_type="sepa_debit",
        sepa_holder="Ada Lovelace",
        iban="FR76 3000 6000 0112 3456 7890 189",
        sepa_accept="on",
    )
    open_link(client, verification_link())
    customer = Customer.objects.get()
    method = PaymentMethod.objects.get(customer=customer)
    assert (method.kind, method.mandate_signed_on, method.is_default) == (
        "sepa_debit",
        date(2026, 3, 2),
        True,
    )
    assert method.iban == "FR7630006000011234567890189"
    invoice = Invoice.objects.get(customer=customer)
    # Open: the next SEPA batch takes it, as any invoice of a customer paying by mandate.
    assert (invoice.total.amount, invoice.status) == (D("36.00"), "issued")
    assert customer.payment_type == "sepa_debit"


def test_bank_transfer_sign_up(client, shop, day):
    confirm(client, payment_type="bank_transfer", vat_number="FR40303265045", card_number="")
    open_link(client, verification_link())
    customer = Customer.objects.get()
    assert customer.vat_number == "FR40303265045"
    assert not PaymentMethod.objects.exists()
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.total.amount == D("36.00")


def test_a_trial_issues_no_invoice_and_says_when_it_ends(client, shop, day):
    response = client.post("/offers/shop/team/", order())
    assert response.status_code == 302
    page = client.get("/offers/shop/team/review/").content.decode()
    assert "2026-03-16" in page  # the trial's end, the first invoice's date
    client.post("/offers/shop/team/review/", {"accept_terms": "on"})
    open_link(client, verification_link())
    subscription = Subscription.objects.get()
    assert subscription.trial_end == date(2026, 3, 16)
    assert not Invoice.objects.exists()
    assert "2026-03-16" in mail.outbox[-1].body
    assert (
        "free trial ends on 2026-03-16"
        in client.get(f"/account/subscriptions/{subscription.pk}/").content.decode()
    )


def test_a_coupon_discounts_the_first_invoice(client, shop, day):
    client.post(CHECKOUT, order(coupon="welcome-10"))
    page = client.get(REVIEW).content.decode()
    assert "3.00" in page  # 10 % of 30.00
    assert "32.40" in page  # the first invoice, tax included
    client.post(REVIEW, {"accept_terms": "on"})
    open_link(client, verification_link())
    invoice = Invoice.objects.get()
    assert invoice.total.amount == D("32.40")
    assert shop["campaign"].codes.get(code="WELCOME-10").times_redeemed == 1


def test_a_bad_coupon_is_refused_on_its_field_and_counted(client, shop, day):
    response = client.post(CHECKOUT, order(coupon="NOPE-1"))
    assert response.status_code == 200
    assert "does not exist" in response.context["form"].errors["coupon"][0]
    assert Attempt.objects.filter(kind="coupon").count() == 2  # the email and the IP address
    nothing_created()


@override_settings(STOREFRONT_COUPON_TRIES_PER_HOUR=2)
def test_coupon_tries_are_limited(client, shop, day):
    client.post(CHECKOUT, order(coupon="NOPE-1"))
    client.post(CHECKOUT, order(coupon="NOPE-2"))
    response = client.post(CHECKOUT, order(coupon="WELCOME-10"))
    assert (
        "Too many attempts: try again in 60 minutes." in response.context["form"].errors["coupon"]
    )


@override_settings(STOREFRONT_SIGNUPS_PER_HOUR=1)
def test_sign_ups_are_limited_per_email_and_address(client, shop, day):
    confirm(client)
    response = confirm(client)
    assert response.status_code == 200
    assert "Too many attempts" in str(response.context["form"].errors)
    assert SignUp.objects.count() == 1


def test_a_refused_vat_number(client, shop, day):
    response = client.post(CHECKOUT, order(vat_number="FR00123456789"))
    assert response.status_code == 200
    assert response.context["form"].errors["vat_number"]
    nothing_created()


def test_a_declined_card(client, shop, day):
    response = client.post(CHECKOUT, order(card_number="4000 0000 0000 0002"))
    assert response.status_code == 200
    assert "declined" in response.context["form"].errors["card_number"][0]
    assert "4000 0000 0000 0002" not in response.content.decode()  # never sent back
    nothing_created()


def test_an_existing_email_links_to_the_login(client, shop, day):
    get_user_model().objects.create_user("ada@example.com", "ada@example.com", "x")
    response = client.post(CHECKOUT, order())
    assert response.context["form"].errors["email"]
    assert "/accounts/login/?next=%2Foffers%2Fshop%2Fpro%2F" in response.content.decode()
    assert not Customer.objects.exists() and not SignUp.objects.exists()


def test_an_invalid_password(client, shop, day):
    response = client.post(CHECKOUT, order(password="1234"))
    assert response.context["form"].errors["password"]
    nothing_created()


def test_the_link_twice(client, shop, day):
    confirm(client)
    link = verification_link()
    open_link(client, link)
    client.logout()
    response = open_link(client, link)
    assert response.status_code == 200
    assert "Already confirmed" in response.content.decode()
    assert Subscription.objects.count() == 1 and Customer.objects.count() == 1


def test_opening_the_link_asks_before_it_starts_anything(client, shop, day):
    """A mail scanner or a link preview opens the link (GET): nothing starts, and the link
    still works for its owner, who confirms with the page's button (POST)."""
    confirm(client)
    link = verification_link()
    path = link[link.index("/offers/") :]
    client.logout()
    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Confirm your email address" in text
    assert "ada@example.com" in text and 'method="post"' in text
    assert not Customer.objects.exists() and not Subscription.objects.exists()
    assert SignUp.objects.get().status == "pending"

    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert Subscription.objects.count() == 1
    again = client.get(path)
    assert "Already confirmed" in again.content.decode()


def test_the_confirmation_needs_the_csrf_token(client, shop, day):
    confirm(client)
    link = verification_link()
    # From another browser (the email read elsewhere), as a forged cross-site form would post.
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(link[link.index("/offers/") :])
    assert response.status_code == 403
    assert not Subscription.objects.exists()


def test_an_expired_link(client, shop, day):
    confirm(client)
    link = verification_link()
    with time_machine.travel(timedelta(hours=73)):
        response = open_link(client, link)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not Customer.objects.exists()


def test_a_forged_link(client, shop, day):
    confirm(client)
    token = verification_link().rstrip("/").rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/offers/verify/{forged}/", "/offers/verify/forged-token/"):
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 400
            assert "This link is not valid" in response.content.decode()
    assert not Customer.objects.exists()


def test_a_plan_no_longer_sold_creates_nothing(client, shop, day):
    confirm(client)
    shop["plan"].status = "retired"
    shop["plan"].save()
    response = open_link(client, verification_link())
    assert "not for sale" in response.content.decode()
    assert not Customer.objects.exists() and not get_user_model().objects.exists()
    assert SignUp.objects.get().status == "pending"


def test_purge(shop, day):
    signup = SignUp.objects.create(email="x@example.com", grid=shop["grid"], plan=shop["plan"])
    Attempt.objects.create(kind="signup", key="x@example.com")
    assert signups_purge() == (0, 0)
    with time_machine.travel(timedelta(hours=73)):
        assert signups_purge() == (1, 1)
        assert signups_purge() == (0, 0)
    assert not SignUp.objects.filter(pk=signup.pk).exists()


def test_a_logged_in_customer_subscribes_at_once(client, shop, day):
    customer = CustomerFactory(name="Maple")
    user = get_user_model().objects.create_user("maple", "maple@example.com", "x")
    CustomerUser.objects.create(customer=customer, user=user)
    other = CustomerFactory(name="Someone else")
    client.force_login(user)
    page = client.get(CHECKOUT).content.decode()
    assert "You subscribe as Maple" in page and "Card number" not in page
    assert client.post(CHECKOUT, {"coupon": ""})["Location"] == REVIEW
    review = client.get(REVIEW).content.decode()
    assert "36.00" in review and "Someone else" not in review
    response = client.post(REVIEW, {"accept_terms": "on"})
    subscription = Subscription.objects.get()
    assert subscription.customer == customer
    assert response["Location"] == f"/account/subscriptions/{subscription.pk}/"
    assert Invoice.objects.get().customer == customer
    assert not SignUp.objects.exists() and not Subscription.objects.filter(customer=other).exists()


def test_an_operator_is_told_to_log_out(client, shop, day, django_user_model):
    client.force_login(django_user_model.objects.create_user("op", "op@example.com", "x"))
    response = client.get(CHECKOUT)
    assert "Log out to sign up" in response.content.decode()


def test_partner_grids_are_not_sold_here(client, shop, day):
    shop["grid"].segment = "partners"
    shop["grid"].save()
    assert "partner portal" in client.get(CHECKOUT).content.decode()


def test_the_purge_task(shop, day):
    from storefront.tasks import signups_purge as task

    assert task.apply().get() == {"signups": 0, "attempts": 0}


def test_an_option_is_chosen_by_its_quantity(client, shop, day):
    # Given an optional product of 5.00 a month in the plan's bundle
    bundle = shop["plan"].bundles.get()
    option = BundleItemFactory(
        bundle=bundle,
        required=False,
        product__name="Extra storage",
        product__tax_rate=TaxRateFactory(),
        price_sheet__amount=D("5.00"),
        price_sheet__pricing_model="per_unit",
    )
    page = client.get(CHECKOUT).content.decode()
    assert "Extra storage" in page
    # When two are ordered
    client.post(CHECKOUT, order(**{f"option_{option.product_id}": "2"}))
    assert "48.00" in client.get(REVIEW).content.decode()  # (30.00 + 2 × 5.00) × 1.20
    client.post(REVIEW, {"accept_terms": "on"})
    open_link(client, verification_link())
    # Then the first invoice has them
    assert Invoice.objects.get().total.amount == D("48.00")


def test_a_campaign_grid_takes_its_campaign_codes_only(client, shop, day):
    other = CouponCampaignFactory(code="other", code_template="OTHER-##", range_start=10)
    catalog_services.coupon_codes_generate(campaign=other)
    grid = shop["grid"]
    grid.segment, grid.campaign = "campaign", shop["campaign"]
    grid.save()
    response = client.post(CHECKOUT, order(coupon="OTHER-10"))
    assert "not valid for these offers" in response.context["form"].errors["coupon"][0]
    assert client.post(CHECKOUT, order(coupon="WELCOME-11")).status_code == 302


def test_a_partners_customer_buys_through_its_partner(client, shop, day):
    customer = CustomerFactory(name="Managed")
    partner = Partner.objects.create(name="Resell", email="resell@example.com")
    PartnerCustomer.objects.create(partner=partner, customer=customer)
    user = get_user_model().objects.create_user("managed", "managed@example.com", "x")
    CustomerUser.objects.create(customer=customer, user=user)
    client.force_login(user)
    response = client.post(CHECKOUT, {"coupon": ""})
    assert "managed by Resell" in str(response.context["form"].errors)
    assert not Subscription.objects.exists()


def test_a_plan_that_sells_seats_is_bought_by_the_seat(client, shop, day):
    # Given a plan selling users at 12.00 a month each (20 % VAT), in the grid
    users = SeatType.objects.create(code="user", name="User", name_fr="Utilisateur")
    item = BundleItemFactory(
        product__name="Team seats",
        product__seat_type=users,
        product__tax_rate=TaxRateFactory(),
        price_sheet__amount=D("12.00"),
        price_sheet__pricing_model="per_unit",
    )
    plan = monthly_plan_with(item, code="team-seats")
    OffersGridPlan.objects.create(grid=shop["grid"], plan=plan, position=3)
    checkout, review = "/offers/shop/team-seats/", "/offers/shop/team-seats/review/"
    page = client.get(checkout).content.decode()
    assert "Seats: User" in page
    # No seat at all is refused on the field, nothing created
    response = client.post(checkout, order(**{f"seats_{users.pk}": "0"}))
    assert response.status_code == 200
    assert "seat" in str(response.context["form"].errors).lower()
    nothing_created()
    # When three are ordered
    client.post(checkout, order(**{f"seats_{users.pk}": "3"}))
    assert "43.20" in client.get(review).content.decode()  # 3 × 12.00 × 1.20
    client.post(review, {"accept_terms": "on"})
    open_link(client, verification_link())
    # Then the subscription holds them and the first invoice bills them
    subscription = Subscription.objects.get()
    assert {s.seat_type_id: s.quantity for s in subscription.seats.all()} == {users.pk: 3}
    assert Invoice.objects.get().total.amount == D("43.20")


def monthly_plan_with(item, **fields):
    return PlanFactory(
        bundles=[item.bundle],
        currency="EUR",
        billing_period_count=1,
        billing_period_unit="month",
        status="active",
        payment_types=["card"],
        **fields,
    )
