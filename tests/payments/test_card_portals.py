"""Cards in the portals: a customer saves a card on its payment-methods page and pays an open
invoice by card (saved or typed in), sees the payment being confirmed, then paid, or declined
with the reason; a partner pays what is invoiced to its billing account. Another tenant's
invoice or card is a 404."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.services import billing_run
from payments import services
from payments.models import CardPayment, PaymentMethod
from tests.partners import builders

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 10)


@pytest.fixture
def dupont_invoice(dupont, on):
    billing_run(day=date(2026, 1, 1))
    on(DAY)
    return Invoice.objects.get(customer=dupont, kind="invoice")


def pay_url(invoice, portal="account"):
    return reverse(f"{portal}:invoice_pay", args=[invoice.pk])


def test_a_customer_saves_a_card_as_its_default(dupont_client, dupont, on):
    on(DAY)
    url = reverse("account:card_add")
    refused = dupont_client.post(
        url, {"number": "4242 4242 4242 4241", "expiry": "12/29", "holder": "Denis Dupont"}
    )
    assert refused.status_code == 200
    assert "This card number is not valid" in refused.content.decode()
    assert not PaymentMethod.objects.exists()
    done = dupont_client.post(
        url,
        {
            "number": "4242 4242 4242 4242",
            "expiry": "12/29",
            "holder": "Denis Dupont",
            "make_default": "on",
        },
        follow=True,
    )
    method = PaymentMethod.objects.get()
    assert (method.customer, method.kind, method.is_default) == (dupont, "card", True)
    html = done.content.decode()
    assert "Visa •••• 4242 is saved: it pays your next invoices." in html
    assert "4242424242424242" not in html


def test_the_invoice_list_offers_to_pay_by_card(dupont_client, dupont_invoice):
    html = dupont_client.get(reverse("account:invoices")).content.decode()
    assert pay_url(dupont_invoice) in html


def test_a_customer_pays_an_invoice_by_card(
    dupont_client, dupont_invoice, django_capture_on_commit_callbacks
):
    page = dupont_client.get(pay_url(dupont_invoice))
    assert page.status_code == 200
    assert "4242 4242 4242 4242" in page.content.decode()  # the test cards, told
    with django_capture_on_commit_callbacks(execute=False) as held:
        answer = dupont_client.post(
            pay_url(dupont_invoice),
            {"method": "new", "number": "4242424242424242", "expiry": "12/29", "holder": "D"},
        )
    assert answer.status_code == 302 and answer["Location"] == pay_url(dupont_invoice)
    # Being confirmed: the page says so and refreshes itself
    html = dupont_client.get(pay_url(dupont_invoice)).content.decode()
    assert 'data-status="processing"' in html and 'http-equiv="refresh"' in html
    assert "is being confirmed by your bank" in html
    listed = dupont_client.get(reverse("account:invoices")).content.decode()
    assert "Card payment: being confirmed" in listed
    for callback in held:  # the gateway's webhook arrives
        callback()
    html = dupont_client.get(pay_url(dupont_invoice)).content.decode()
    assert 'data-status="succeeded"' in html and "Paid:" in html
    dupont_invoice.refresh_from_db()
    assert dupont_invoice.status == "paid"
    listed = dupont_client.get(reverse("account:invoices")).content.decode()
    assert "Card payment: paid" in listed and pay_url(dupont_invoice) not in listed


def test_a_declined_card_is_explained(
    dupont_client, dupont_invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dupont_client.post(
            pay_url(dupont_invoice),
            {"method": "new", "number": "4000000000009995", "expiry": "12/29", "holder": "D"},
        )
    html = dupont_client.get(pay_url(dupont_invoice)).content.decode()
    assert "was declined" in html and "insufficient funds" in html
    assert 'id="pay-form"' in html  # try again
    listed = dupont_client.get(reverse("account:invoices")).content.decode()
    assert "Card payment: declined" in listed


def test_a_three_d_secure_card_goes_to_the_authentication_page(dupont_client, dupont_invoice):
    answer = dupont_client.post(
        pay_url(dupont_invoice),
        {"method": "new", "number": "4000002500003155", "expiry": "12/29", "holder": "D"},
    )
    attempt = CardPayment.objects.get()
    assert answer["Location"] == attempt.action_url
    back = dupont_client.post(attempt.action_url, {"decision": "refuse"})
    assert back["Location"] == pay_url(dupont_invoice)


def test_a_customer_pays_with_its_saved_card(dupont_client, dupont, dupont_invoice):
    method = services.card_add(
        customer=dupont, number="4242424242424242", expiry="12/29", holder="D", today=DAY
    )
    dupont_client.post(pay_url(dupont_invoice), {"method": str(method.pk)})
    attempt = CardPayment.objects.get()
    assert (attempt.method, attempt.amount.amount) == (method, dupont_invoice.total.amount)


def test_another_customers_invoice_or_card_is_a_404(dupont_client, dupont_invoice, maple, on):
    billing_run(day=date(2026, 11, 1))
    on(date(2026, 11, 2))
    theirs = Invoice.objects.get(customer=maple, kind="invoice")
    assert dupont_client.get(pay_url(theirs)).status_code == 404
    assert dupont_client.post(pay_url(theirs), {"method": "new"}).status_code == 404
    their_card = services.card_add(
        customer=maple, number="4242424242424242", expiry="12/29", holder="M", today=DAY
    )
    answer = dupont_client.post(pay_url(dupont_invoice), {"method": str(their_card.pk)})
    assert answer.status_code == 200  # not one of the choices: a field error
    assert not CardPayment.objects.exists()


# The partner portal ---------------------------------------------------------------------------


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20.00", "paul")


@pytest.fixture
def nordic(demo_catalog):
    return builders.partner("nordic", "Nordic Devices", "15.00", "nora")


@pytest.fixture
def acme_client(client, acme):
    client.force_login(acme.users.get().user)
    return client


def sold_through(partner):
    builders.sell_seats(builders.partner_customer(partner, f"{partner.name} client"))
    billing_run(day=date(2026, 1, 1))
    return Invoice.objects.get(customer=partner.account, kind="invoice")


def test_a_partner_pays_its_invoice_by_card(
    acme_client, acme, on, django_capture_on_commit_callbacks
):
    on(DAY)
    invoice = sold_through(acme)
    assert invoice.total.amount == Decimal("129.60")
    assert (
        pay_url(invoice, "partners")
        in acme_client.get(reverse("partners:invoices")).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        acme_client.post(
            pay_url(invoice, "partners"),
            {"method": "new", "number": "4242424242424242", "expiry": "12/29", "holder": "P"},
        )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount) == ("paid", Decimal("129.60"))
    saved = acme_client.post(
        reverse("partners:card_add"),
        {"number": "5555 5555 5555 4444", "expiry": "01/30", "holder": "Acme"},
        follow=True,
    )
    assert "Mastercard •••• 4444 is saved." in saved.content.decode()
    assert PaymentMethod.objects.get().customer == acme.account


def test_another_partners_invoice_is_a_404(acme_client, nordic, on):
    on(DAY)
    theirs = sold_through(nordic)
    assert acme_client.get(pay_url(theirs, "partners")).status_code == 404
