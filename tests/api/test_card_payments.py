"""REST API, cards: saving a card, paying an invoice by card, following the card payment until
the gateway's webhook confirms it, the payments received, and a refund back to the card — for
each role; another tenant's rows are 404s, bad input names its field, the number never goes
out (tests/api/conftest.py's tenants: Dupont's invoice is open, Nordic's is overdue)."""

from decimal import Decimal

import pytest

from payments import services
from payments.models import CardPayment, PaymentMethod
from tests.api.conftest import TODAY
from tests.support.api import results

pytestmark = pytest.mark.django_db
CARDS = "/api/v1/payment-methods/cards/"
OK = {"number": "4242 4242 4242 4242", "expiry": "12/30", "holder": "Denis Dupont"}


def pay_url(invoice) -> str:
    return f"/api/v1/invoices/{invoice.pk}/pay/"


def saved_card(customer, number="4242424242424242") -> PaymentMethod:
    return services.card_add(
        customer=customer, number=number, expiry="12/30", holder=customer.name, today=TODAY
    )


def test_a_customer_saves_a_card(api, tenants):
    answer = api("customer2").post(CARDS, OK, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["kind"], body["card_brand"], body["card_last4"], body["is_default"]) == (
        "card",
        "Visa",
        "4242",
        True,
    )
    assert "4242424242424242" not in answer.content.decode()
    assert PaymentMethod.objects.get().customer == tenants.dupont


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**OK, "number": "4242 4242 4242 4241"}, "number", "This card number is not valid"),
        ({**OK, "expiry": "1230"}, "expiry", "MM/YY"),
        ({**OK, "number": "4000 0000 0000 0002"}, "__all__", "declined"),
        ({**OK, "cvc": "123"}, "cvc", "no field of this name"),
    ],
)
def test_a_bad_card_is_a_400_naming_its_field(api, tenants, data, field, message):
    answer = api("customer2").post(CARDS, data, format="json")
    assert answer.status_code == 400
    assert message in answer.json()[field][0]
    assert not PaymentMethod.objects.exists()


def test_an_operator_names_the_customer(api, tenants):
    refused = api("operator").post(CARDS, OK, format="json")
    assert refused.status_code == 400 and "customer" in refused.json()
    done = api("operator").post(CARDS, {**OK, "customer": tenants.dupont.pk}, format="json")
    assert done.status_code == 201
    other = api("customer").post(CARDS, {**OK, "customer": tenants.dupont.pk}, format="json")
    assert other.status_code == 400 and "customer" in other.json()


def test_a_customer_pays_its_invoice_and_follows_the_payment(
    api, tenants, django_capture_on_commit_callbacks
):
    invoice = tenants.invoice_of(tenants.dupont)
    card = saved_card(tenants.dupont)
    client = api("customer2")
    with django_capture_on_commit_callbacks(execute=False) as held:
        answer = client.post(pay_url(invoice), {"payment_method": card.pk}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["status"], Decimal(body["amount"]), body["payment_method"]) == (
        "processing",
        invoice.total.amount,
        card.pk,
    )
    for callback in held:  # the gateway's webhook
        callback()
    followed = client.get(f"/api/v1/card-payments/{body['id']}/").json()
    assert followed["status"] == "succeeded" and followed["payment"] is not None
    received = results(client.get("/api/v1/payments/", {"invoice": invoice.pk}))
    assert [(row["method"], Decimal(row["amount"])) for row in received] == [
        ("card", invoice.total.amount)
    ]
    assert received[0]["reference"] == followed["provider_id"]


def test_a_declined_card_typed_in_says_why(api, tenants):
    invoice = tenants.invoice_of(tenants.dupont)
    answer = api("customer2").post(
        pay_url(invoice), {**OK, "number": "4000000000009995"}, format="json"
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["status"], body["failure_code"]) == ("failed", "insufficient_funds")
    assert "insufficient funds" in body["failure_reason"]
    french = api("customer2", HTTP_ACCEPT_LANGUAGE="fr").get(f"/api/v1/card-payments/{body['id']}/")
    assert "provision insuffisante" in french.json()["failure_reason"]


def test_three_d_secure_gives_the_page_to_send_the_payer_to(api, tenants):
    invoice = tenants.invoice_of(tenants.dupont)
    body = (
        api("customer2")
        .post(pay_url(invoice), {**OK, "number": "4000 0025 0000 3155"}, format="json")
        .json()
    )
    assert body["status"] == "requires_action"
    assert body["action_url"].startswith("/payments/test-gateway/authenticate/pi_")


def test_bad_pay_input_is_a_400_naming_its_field(api, tenants):
    invoice = tenants.invoice_of(tenants.dupont)
    client = api("customer2")
    bad_number = client.post(pay_url(invoice), {**OK, "number": "1234"}, format="json")
    assert bad_number.status_code == 400 and "number" in bad_number.json()
    theirs = saved_card(tenants.acme.account)
    not_theirs = client.post(pay_url(invoice), {"payment_method": theirs.pk}, format="json")
    assert not_theirs.status_code == 400 and "payment_method" in not_theirs.json()
    assert not CardPayment.objects.exists()


def test_another_tenants_invoice_and_card_payments_are_404s(api, tenants):
    dupont_invoice = tenants.invoice_of(tenants.dupont)
    maple_invoice = tenants.invoice_of(tenants.maple)
    attempt = services.card_payment_create(
        invoice=dupont_invoice, card=services.card_details(**OK, today=TODAY), day=TODAY
    )
    assert api("customer").post(pay_url(dupont_invoice), OK, format="json").status_code == 404
    assert api("customer").get(f"/api/v1/card-payments/{attempt.pk}/").status_code == 404
    assert results(api("customer").get("/api/v1/card-payments/")) == []
    assert results(api("customer").get("/api/v1/payments/")) == []
    assert api("customer2").post(pay_url(maple_invoice), OK, format="json").status_code == 404
    # A partner pays what is invoiced to its billing account, not another partner's
    nordic = tenants.invoice_of(tenants.fjord)
    assert api("partner").post(pay_url(nordic), OK, format="json").status_code == 404
    assert api("partner2").post(pay_url(nordic), OK, format="json").status_code == 201
    assert len(results(api("operator").get("/api/v1/card-payments/"))) == 2


def test_a_partner_lists_the_payments_of_its_invoices(api, tenants):
    bakery = tenants.invoice_of(tenants.bakery)  # paid by transfer in the fixtures
    rows = results(api("partner").get("/api/v1/payments/"))
    assert [(row["invoice"], row["method"]) for row in rows] == [(bakery.pk, "bank_transfer")]
    assert results(api("partner2").get("/api/v1/payments/")) == []


def test_an_operator_refunds_back_to_the_card(api, tenants, django_capture_on_commit_callbacks):
    invoice = tenants.invoice_of(tenants.dupont)
    with django_capture_on_commit_callbacks(execute=True):
        services.card_payment_create(invoice=invoice, method=saved_card(tenants.dupont), day=TODAY)
    answer = api("operator").post(
        f"/api/v1/invoices/{invoice.pk}/refunds/",
        {"amount": "10.00", "via": "gateway", "reason": "Goodwill"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["via"], answer.json()["status"]) == ("gateway", "pending")
