"""Who is invoiced (billing-rules §9): a partner's sale is invoiced to the partner, at its price,
naming the end customer and the PO reference; a direct customer is invoiced itself. The partner's
customer reads its subscriptions (without the partner's price) and changes none of them."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.documents import invoice_pdf
from billing.models import Invoice
from billing.tasks import invoice_send
from catalog.models import Plan, SeatType
from core.errors import ApplicationError
from partners.models import Partner
from partners.services import partner_customer_create, subscription_sell
from subscriptions import services
from subscriptions.models import CustomerUser, Subscription, SubscriptionEvent
from tests.partners import builders
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def sold(bakery):
    """billing-rules example 6.1 sold by Acme for the bakery, billed on 2026-01-01."""
    subscription = builders.sell_seats(bakery, po_reference="PO-BM-2026-01")
    builders.bill(date(2026, 1, 1))
    return subscription


def test_a_partners_sale_is_invoiced_to_the_partner_naming_the_end_customer(acme, bakery, sold):
    assert sold.bill_to == acme.account and sold.customer == bakery
    invoice = Invoice.objects.get(subscription=sold)
    # Bill-to: the partner's billing account, its address and VAT number, at its price
    assert invoice.customer == acme.account
    assert invoice.customer_name == "Acme Resellers SAS"
    assert invoice.customer_address == "2 quai des Chartrons\n33000 Bordeaux\nFR"
    # ... for its customer, with the PO reference
    assert (invoice.end_customer, invoice.end_customer_name) == (bakery, "Boulangerie Martin")
    assert invoice.po_reference == "PO-BM-2026-01"
    # billing-rules example 6.1: 150.00 − 15.00 − 27.00 = 108.00, VAT 21.60, total 129.60
    assert [m.amount for m in (invoice.net_total, invoice.tax_total, invoice.total)] == [
        Decimal("108.00"),
        Decimal("21.60"),
        Decimal("129.60"),
    ]
    text = pdf_text(invoice_pdf(invoice))
    assert "Acme Resellers SAS" in text and "Boulangerie Martin" in text
    assert "PO-BM-2026-01" in text


def test_seats_added_later_are_invoiced_to_the_partner_too(acme, bakery, sold, on):
    # billing-rules example 6.2: 4 seats on 2026-02-15, 21.60 + VAT 4.32
    on(date(2026, 2, 15))
    result = services.seats_add(
        subscription=sold,
        seat_type=SeatType.objects.get(code="gateway"),
        quantity=4,
        today=date(2026, 2, 15),
    )
    assert result.charges
    builders.bill(date(2026, 2, 15))
    added = Invoice.objects.filter(subscription=sold).exclude(billing_key__startswith="2026-01")
    [invoice] = [i for i in added if i.period_start == date(2026, 2, 15)] or list(added)
    assert invoice.customer == acme.account and invoice.end_customer == bakery
    assert invoice.total.amount == Decimal("25.92")


def test_the_partners_invoice_is_emailed_to_its_billing_address(sold):
    invoice = Invoice.objects.get(subscription=sold)
    mail.outbox.clear()
    assert invoice_send(invoice.pk) is True
    [email] = mail.outbox
    assert email.to == ["billing@acme.example"]
    assert "sales@acme.example" not in email.to


def test_the_partner_lists_its_invoices_and_the_customer_does_not_see_them(
    sold, partner_client, bakery
):
    invoice = Invoice.objects.get(subscription=sold)
    page = partner_client.get(reverse("partners:invoices")).content.decode()
    assert invoice.number in page and "Boulangerie Martin" in page and "129.60" in page
    # The bakery's own login: neither in its list nor as a PDF (404), the price nowhere
    user = builders.user("martin")
    CustomerUser.objects.create(customer=bakery, user=user)
    client = partner_client.__class__()
    client.force_login(user)
    listing = client.get(reverse("account:invoices")).content.decode()
    assert invoice.number not in listing
    assert client.get(reverse("account:invoice_pdf", args=[invoice.pk])).status_code == 404


def test_a_direct_customer_is_invoiced_itself(demo_catalog):
    maple = builders.self_service_customer("Maple Hosting Co.", "mary")
    subscription = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
    builders.bill(date(2026, 11, 1))
    invoice = Invoice.objects.get(subscription=subscription)
    assert subscription.bill_to is None
    assert invoice.customer == maple and invoice.customer_name == "Maple Hosting Co."
    assert invoice.end_customer is None and invoice.end_customer_name == ""


def test_a_partner_without_a_billing_account_cannot_sell(demo_catalog):
    partner = Partner.objects.create(code="new", name="New Reseller", email="x@new.example")
    customer = partner_customer_create(
        partner=partner,
        name="Client",
        email="client@example.com",
        address_line1="1 rue",
        postal_code="75001",
        city="Paris",
        country="FR",
        currency="EUR",
    )
    builders.devices(customer, "gateway", 1)
    with pytest.raises(ApplicationError, match="New Reseller has no billing account"):
        subscription_sell(
            customer=customer,
            plan=Plan.objects.get(code="device-seats"),
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
            seats={SeatType.objects.get(code="gateway"): 1},
            service_period_years=1,
        )
    assert not Subscription.objects.filter(customer=customer).exists()


# The partner's customer reads, never changes -------------------------------------------------


@pytest.fixture
def bakery_login(bakery, client):
    user = builders.user("martin")
    CustomerUser.objects.create(customer=bakery, user=user)
    client.force_login(user)
    return client


def test_the_partners_customer_sees_its_subscription_read_only_without_the_price(
    sold, bakery_login, on
):
    on(date(2026, 2, 1))
    page = bakery_login.get(reverse("account:subscriptions")).content.decode()
    assert "Managed by <strong>Acme Resellers SAS</strong>" in page
    assert "129.60" not in page and "108.00" not in page  # the partner's price
    assert reverse("account:cancel", args=[sold.pk]) not in page
    detail = bakery_login.get(reverse("account:subscription", args=[sold.pk])).content.decode()
    assert "Acme Resellers SAS is invoiced for this subscription." in detail
    assert "129.60" not in detail and "108.00" not in detail
    assert 'id="coupon-form"' not in detail


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("account:cancel", "post"),
        ("account:cancel", "get"),
        ("account:change_plan", "get"),
        ("account:withdraw_plan_change", "post"),
        ("account:coupon", "post"),
        ("account:coupon_confirm", "post"),
        ("account:undo_cancellation", "post"),
    ],
)
def test_the_partners_customer_cannot_change_it_in_self_service(
    sold, bakery_login, on, name, method
):
    on(date(2026, 2, 1))
    before = SubscriptionEvent.objects.filter(subscription=sold).count()
    rows = snapshot()
    url = reverse(name, args=[sold.pk])
    response = getattr(bakery_login, method)(url, {"code": "coupon_87", "confirm": "on"})
    assert response.status_code == 302
    assert response.url == reverse("account:subscription", args=[sold.pk])
    page = bakery_login.get(response.url).content.decode()
    assert "managed by Acme Resellers SAS" in page and "ask them" in page
    assert SubscriptionEvent.objects.filter(subscription=sold).count() == before
    assert snapshot() == rows
    assert Subscription.objects.get(pk=sold.pk).status == Subscription.Status.ACTIVE


@pytest.fixture
def bakery_api(bakery):
    user = builders.user("martin-api")
    CustomerUser.objects.create(customer=bakery, user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("cancel/", {}),
        ("cancel/preview/", {}),
        ("seats/", {"seat_type": "gateway", "quantity": 1}),
        ("seat-reductions/", {"seat_type": "gateway", "quantity": 9}),
        ("plan-change/", {"plan": "device-seats"}),
        ("coupons/", {"code": "coupon_87"}),
    ],
)
def test_the_partners_customer_cannot_change_it_through_the_api(sold, bakery_api, on, path, body):
    on(date(2026, 2, 1))
    before = SubscriptionEvent.objects.filter(subscription=sold).count()
    rows = snapshot()
    response = bakery_api.post(f"/api/v1/subscriptions/{sold.pk}/{path}", body, format="json")
    assert response.status_code == 403
    assert "managed by Acme Resellers SAS" in response.json()["detail"]
    assert SubscriptionEvent.objects.filter(subscription=sold).count() == before
    assert snapshot() == rows


def test_the_partners_customer_reads_it_through_the_api_without_the_price(sold, bakery_api, on):
    on(date(2026, 2, 1))
    body = bakery_api.get(f"/api/v1/subscriptions/{sold.pk}/").json()
    assert body["bill_to"]["name"] == "Acme Resellers SAS"
    assert body["next_invoice"] is None


def test_the_partners_customer_cannot_buy_at_the_partners_price_through_the_api(
    bakery, bakery_api, on
):
    on(date(2026, 2, 1))
    for url in ("/api/v1/subscriptions/", "/api/v1/subscriptions/preview/"):
        response = bakery_api.post(
            url,
            {
                "customer": bakery.pk,
                "plan": "device-seats",
                "start_date": "2026-03-01",
                "seats": {"gateway": 1},
                "service_period_years": 1,
            },
            format="json",
        )
        assert response.status_code == 403, url
        assert "bought through Acme Resellers" in response.json()["detail"]
    assert not Subscription.objects.filter(customer=bakery).exists()
