"""A customer's payment methods in self-service: sign a SEPA mandate, make it the default,
revoke it; another customer's method is a 404; a refusal is shown and writes nothing."""

from datetime import date

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.services import billing_run, payment_record
from payments import services
from payments.models import PaymentMethod, Refund

pytestmark = pytest.mark.django_db
URL = reverse("account:payment_methods")
IBAN = "FR76 3000 6000 0112 3456 7890 189"


def test_a_customer_without_a_method_pays_by_transfer(dupont_client, on):
    on(date(2026, 3, 1))
    page = dupont_client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="no-methods"' in html and "bank transfer" in html
    assert "Cadence Demo SAS" in html  # the creditor named in the mandate text


def test_a_customer_signs_a_mandate_then_revokes_it(dupont_client, dupont, on):
    on(date(2026, 3, 1))
    refused = dupont_client.post(URL, {"account_holder": "Denis Dupont", "iban": IBAN})
    assert refused.status_code == 200
    assert "Accept the mandate text" in refused.content.decode()
    refused = dupont_client.post(
        URL, {"account_holder": "Denis Dupont", "iban": "US12 3456", "accepted": "on"}
    )
    assert "This IBAN is not valid" in refused.content.decode()
    assert not PaymentMethod.objects.exists()
    done = dupont_client.post(
        URL, {"account_holder": "Denis Dupont", "iban": IBAN, "accepted": "on"}, follow=True
    )
    method = PaymentMethod.objects.get()
    assert (method.customer, method.is_default, method.mandate_signed_on) == (
        dupont,
        True,
        date(2026, 3, 1),
    )
    html = done.content.decode()
    assert "FR76 •••• 0189" in html and "FR7630006000011234567890189" not in html
    assert method.mandate_reference in html
    dupont_client.post(reverse("account:payment_method_revoke", args=[method.pk]))
    method.refresh_from_db()
    assert (method.status, method.is_default, method.revoked_on) == (
        "revoked",
        False,
        date(2026, 3, 1),
    )


def test_a_customer_invoiced_in_another_currency_cannot_sign_a_sepa_mandate(maple_client, on):
    on(date(2026, 3, 1))
    refused = maple_client.post(
        URL, {"account_holder": "Mary Maple", "iban": IBAN, "accepted": "on"}
    )
    assert "A SEPA direct debit is in euros" in refused.content.decode()
    assert "CAD" in refused.content.decode()
    assert not PaymentMethod.objects.exists()


def test_another_customers_method_is_a_404(dupont_client, maple, on):
    on(date(2026, 3, 1))
    maple.currency = "EUR"  # a customer the mandate is possible for
    maple.save(update_fields=["currency"])
    theirs = services.sepa_mandate_add(
        customer=maple, account_holder="Mary", iban=IBAN, accepted=True, today=date(2026, 3, 1)
    )
    for name in ("account:payment_method_default", "account:payment_method_revoke"):
        assert dupont_client.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active"


def test_the_page_shows_the_customers_credit(dupont_client, dupont, on):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get(customer=dupont, kind="invoice")
    payment_record(
        invoice=invoice,
        amount=invoice.total.amount,
        method="bank_transfer",
        received_on=date(2026, 1, 5),
    )
    services.refund_create(
        invoice=invoice,
        amount="25.92",
        reason="Goodwill",
        via=Refund.Via.CREDIT,
        day=date(2026, 1, 6),
    )
    on(date(2026, 1, 7))
    html = dupont_client.get(URL).content.decode()
    assert 'id="credit-balances"' in html and "25.92" in html
