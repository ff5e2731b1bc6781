"""Card payments through the test gateway (issue 14): a card saved or typed in, charged,
confirmed by the gateway's signed webhook; declines, 3-D Secure, a retry without the payer,
a webhook replayed (twice at once on PostgreSQL), bad and stale signatures, a refund back to
the card.

The quarterly invoice of billing-rules example 6.1: 129.60 EUR, issued on 2026-01-01."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from billing.models import Invoice, InvoiceEvent, Payment
from billing.services import payment_record
from core.errors import ApplicationError
from payments import services, tasks
from payments.gateways.base import WebhookSignatureError, sign
from payments.gateways.test import SIGNATURE_HEADER, TestGateway
from payments.models import (
    CardPayment,
    CreditEntry,
    GatewayEvent,
    PaymentMethod,
    Refund,
    SandboxCard,
    SandboxEvent,
)
from tests.concurrency import postgresql_only, run_together

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 10)
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
OK = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
NO_FUNDS = "4000 0000 0000 9995"
THREE_D_SECURE = "4000 0025 0000 3155"
DECLINED_WHEN_CHARGED = "4000 0000 0000 0341"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def held_events(monkeypatch):
    """The test gateway's deliveries held back (in a test with real commits too): the test
    delivers them itself."""
    monkeypatch.setattr("payments.gateways.test.send", lambda name, event_id: None)


def last_event() -> int:
    return SandboxEvent.objects.latest("id").pk


def card(customer, number=OK, **extra):
    return services.card_add(
        customer=customer, number=number, expiry="12/29", holder="Paul Martin", today=DAY, **extra
    )


def typed(number=OK):
    return services.card_details(number=number, expiry="12/29", holder="Paul Martin", today=DAY)


def delivered(event_id: int):
    """One delivery of a held event, as the gateway sends it: (body, headers)."""
    return TestGateway().delivery(event_id=event_id)


def payments_of(invoice):
    return list(Payment.objects.filter(invoice=invoice).values_list("amount", "method"))


# Saving a card ------------------------------------------------------------------------------------


def test_a_saved_card_keeps_its_token_brand_and_last_digits_never_the_number(quarterly):
    method = card(quarterly.customer)
    assert (method.kind, method.gateway, method.card_brand, method.card_last4) == (
        "card",
        "test",
        "Visa",
        "4242",
    )
    assert method.is_default and method.gateway_reference.startswith("card_")
    assert str(method) == "Visa •••• 4242"
    stored = json.dumps(list(SandboxCard.objects.values()), default=str) + json.dumps(
        list(PaymentMethod.objects.values()), default=str
    )
    assert "4242424242424242" not in stored


@pytest.mark.parametrize(
    ("number", "expiry", "field", "message"),
    [
        ("4242 4242 4242 4241", "12/29", "number", "This card number is not valid"),
        ("1234", "12/29", "number", "This card number is not valid"),
        (OK, "13/29", "expiry", "MM/YY"),
        (OK, "12/25", "expiry", "This card has expired"),
        (DECLINED, "12/29", None, "Your card was declined by your bank"),
        (NO_FUNDS, "12/29", None, "insufficient funds"),
        ("4111 1111 1111 1111", "12/29", "number", "use one of its test card numbers"),
    ],
)
def test_a_card_refused_when_saved_writes_nothing(quarterly, number, expiry, field, message):
    with pytest.raises(ApplicationError) as refused:
        services.card_add(
            customer=quarterly.customer, number=number, expiry=expiry, holder="P", today=DAY
        )
    assert refused.value.field == field
    assert message in refused.value.message
    assert not PaymentMethod.objects.exists()
    assert not SandboxCard.objects.exists()


def test_the_card_declined_when_charged_is_saved(quarterly):
    method = card(quarterly.customer, DECLINED_WHEN_CHARGED)
    assert method.card_last4 == "0341"


# Paying -------------------------------------------------------------------------------------------


def test_a_card_payment_is_confirmed_by_the_gateways_webhook(
    quarterly, django_capture_on_commit_callbacks
):
    method = card(quarterly.customer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        attempt = services.card_payment_create(invoice=quarterly, method=method, day=DAY)
        # Then the gateway answers "processing": nothing is paid before its webhook
        assert attempt.status == "processing"
        assert attempt.amount.amount == Decimal("129.60")
        assert payments_of(quarterly) == []
    assert len(callbacks) == 1  # the webhook, sent after the commit
    attempt.refresh_from_db()
    quarterly.refresh_from_db()
    assert (attempt.status, attempt.confirmed_on) == ("succeeded", DAY)
    assert attempt.payment.reference == attempt.provider_id
    assert payments_of(quarterly) == [(Decimal("129.60"), "card")]
    assert (quarterly.status, quarterly.amount_paid.amount) == ("paid", Decimal("129.60"))
    assert InvoiceEvent.objects.filter(invoice=quarterly, kind="payment_succeeded").count() == 1
    event = GatewayEvent.objects.get()
    assert (event.type, event.card_payment, event.processed_at is not None) == (
        "payment.succeeded",
        attempt,
        True,
    )


def test_a_card_payment_declined_then_paid_on_retry(quarterly, django_capture_on_commit_callbacks):
    # Given a customer whose saved card is declined when charged
    card(quarterly.customer, DECLINED_WHEN_CHARGED)
    # When dunning retries the invoice without the payer
    with django_capture_on_commit_callbacks(execute=True):
        first = services.card_payment_retry(invoice=quarterly, day=DAY)
    # Then it is declined, at once, and the invoice still owes 129.60
    first.refresh_from_db()
    quarterly.refresh_from_db()
    assert (first.status, first.failure_code, first.off_session) == (
        "failed",
        "card_declined",
        True,
    )
    assert first.failure_text == "Your card was declined by your bank. Try another card."
    assert (quarterly.status, quarterly.amount_paid.amount) == ("issued", Decimal("0.00"))
    failed = InvoiceEvent.objects.get(invoice=quarterly, kind="payment_failed")
    assert failed.data["reason"] == "card_declined"
    assert failed.data["amount"] == "129.60"
    assert failed.data["method"] == "card"
    # and the gateway's own payment_failed event, delivered later, changes nothing
    assert GatewayEvent.objects.get().note == "Already failed."
    assert InvoiceEvent.objects.filter(invoice=quarterly, kind="payment_failed").count() == 1

    # When the customer saves a good card (the default now) and dunning retries again
    good = card(quarterly.customer, OK)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.card_payment_retry(invoice=quarterly, day=date(2026, 1, 17))
    # Then it is paid by that card
    second.refresh_from_db()
    quarterly.refresh_from_db()
    assert (second.method, second.status, second.amount.amount) == (
        good,
        "succeeded",
        Decimal("129.60"),
    )
    assert (quarterly.status, quarterly.amount_paid.amount) == ("paid", Decimal("129.60"))
    assert payments_of(quarterly) == [(Decimal("129.60"), "card")]
    # and there is nothing left to retry
    assert services.card_payment_retry(invoice=quarterly, day=date(2026, 1, 24)) is None


def test_insufficient_funds_on_a_card_typed_in(quarterly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.card_payment_create(invoice=quarterly, card=typed(NO_FUNDS), day=DAY)
    assert (attempt.status, attempt.failure_code, attempt.method) == (
        "failed",
        "insufficient_funds",
        None,
    )
    assert (attempt.card_brand, attempt.card_last4) == ("Visa", "9995")
    assert "insufficient funds" in attempt.failure_text


def test_three_d_secure_approved_pays_the_invoice(
    quarterly, client, django_capture_on_commit_callbacks
):
    attempt = services.card_payment_create(
        invoice=quarterly, card=typed(THREE_D_SECURE), day=DAY, return_url="/account/invoices/"
    )
    assert attempt.status == "requires_action"
    assert attempt.action_url == reverse(
        "payments:test_gateway_authenticate", args=[attempt.provider_id]
    )
    page = client.get(attempt.action_url)
    assert page.status_code == 200 and "129.60" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        back = client.post(attempt.action_url, {"decision": "approve"})
    assert back.status_code == 302 and back["Location"] == "/account/invoices/"
    attempt.refresh_from_db()
    quarterly.refresh_from_db()
    assert attempt.status == "succeeded"
    assert quarterly.status == "paid"
    # The page has nothing left to approve
    with django_capture_on_commit_callbacks(execute=True):
        client.post(attempt.action_url, {"decision": "approve"})
    assert Payment.objects.filter(invoice=quarterly).count() == 1


def test_three_d_secure_refused_declines_the_payment(
    quarterly, client, django_capture_on_commit_callbacks
):
    attempt = services.card_payment_create(invoice=quarterly, card=typed(THREE_D_SECURE), day=DAY)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(attempt.action_url, {"decision": "refuse"})
    attempt.refresh_from_db()
    quarterly.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == ("failed", "authentication_failed")
    assert attempt.failure_text == "The payment was not confirmed with your bank (3-D Secure)."
    assert quarterly.status == "issued"
    assert InvoiceEvent.objects.filter(invoice=quarterly, kind="payment_failed").count() == 1


def test_three_d_secure_without_the_payer_is_declined(
    quarterly, django_capture_on_commit_callbacks
):
    card(quarterly.customer, THREE_D_SECURE)
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.card_payment_retry(invoice=quarterly, day=DAY)
    assert (attempt.status, attempt.failure_code) == ("failed", "authentication_required")


def test_an_abandoned_authentication_is_cancelled_by_the_next_attempt(quarterly, held_events):
    waiting = services.card_payment_create(invoice=quarterly, card=typed(THREE_D_SECURE), day=DAY)
    method = card(quarterly.customer)
    again = services.card_payment_create(invoice=quarterly, method=method, day=DAY)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.failure_code) == ("failed", "canceled")
    assert again.status == "processing"


def test_an_attempt_being_confirmed_is_not_duplicated(quarterly, held_events):
    method = card(quarterly.customer)
    first = services.card_payment_create(invoice=quarterly, method=method, day=DAY)
    second = services.card_payment_create(invoice=quarterly, card=typed(), day=DAY)
    assert second == first
    assert CardPayment.objects.count() == 1
    assert SandboxEvent.objects.count() == 1
    # and dunning starts nothing meanwhile
    assert services.card_payment_retry(invoice=quarterly, day=DAY) is None


def test_only_an_open_invoice_with_something_to_pay_is_charged(quarterly):
    method = card(quarterly.customer)
    payment_record(invoice=quarterly, amount="129.60", method="bank_transfer", received_on=DAY)
    with pytest.raises(ApplicationError, match="cannot be paid"):
        services.card_payment_create(invoice=quarterly, method=method, day=DAY)
    assert not CardPayment.objects.exists()


def test_another_customers_card_is_refused(quarterly, dupont):
    theirs = card(dupont)
    with pytest.raises(ApplicationError, match="Choose one of your active cards"):
        services.card_payment_create(invoice=quarterly, method=theirs, day=DAY)
    assert not CardPayment.objects.exists()


def test_money_taken_after_the_invoice_was_paid_otherwise_becomes_credit(quarterly, held_events):
    method = card(quarterly.customer)
    attempt = services.card_payment_create(invoice=quarterly, method=method, day=DAY)
    payment_record(invoice=quarterly, amount="100.00", method="bank_transfer", received_on=DAY)
    body, headers = delivered(last_event())
    services.gateway_webhook_receive(gateway_code="test", body=body, headers=headers)
    attempt.refresh_from_db()
    quarterly.refresh_from_db()
    assert quarterly.status == "paid"
    assert attempt.payment.amount.amount == Decimal("29.60")
    assert attempt.credit.amount.amount == Decimal("100.00")
    assert attempt.credit.kind == CreditEntry.Kind.OVERPAYMENT


# Webhooks ------------------------------------------------------------------------------------------


@pytest.fixture
def processing(quarterly, held_events):
    """A card payment of the quarterly invoice, waiting for the gateway's webhook."""
    attempt = services.card_payment_create(
        invoice=quarterly, method=card(quarterly.customer), day=DAY
    )
    return attempt, last_event()


def webhook_url(gateway="test"):
    return reverse("payments:gateway_webhook", args=[gateway])


def post(client, body, headers):
    return client.post(
        webhook_url(),
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]},
    )


def test_the_webhook_endpoint_records_a_replay_once(client, processing):
    attempt, event_id = processing
    body, headers = delivered(event_id)
    first = post(client, body, headers)
    again = post(client, *delivered(event_id))  # the gateway retries, signed anew
    assert (first.status_code, again.status_code) == (200, 200)
    assert GatewayEvent.objects.count() == 1
    assert Payment.objects.filter(invoice=attempt.invoice).count() == 1
    assert SandboxEvent.objects.get(pk=event_id).deliveries == 2


def test_a_bad_signature_is_a_400_and_writes_nothing(client, processing):
    attempt, event_id = processing
    body, headers = delivered(event_id)
    tampered = body.replace(b'"succeeded"', b'"succeeded" ')
    answers = [
        post(client, tampered, headers),
        post(client, body, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER].replace("v1=", "v1=0")}),
        post(client, body, {SIGNATURE_HEADER: ""}),
        post(
            client,
            body,
            {SIGNATURE_HEADER: sign(body=body, secret="wrong", timestamp=int(NOW.timestamp()))},
        ),
    ]
    assert [answer.status_code for answer in answers] == [400, 400, 400, 400]
    assert "signature" in answers[0].json()["detail"]
    assert not GatewayEvent.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == "processing"
    assert not Payment.objects.exists()


def test_a_stale_timestamp_is_refused(client, processing, settings):
    _attempt, event_id = processing
    body, _headers = delivered(event_id)
    old = int(NOW.timestamp()) - settings.GATEWAY_WEBHOOK_TOLERANCE_SECONDS - 60
    stale = sign(body=body, secret=settings.TEST_GATEWAY_WEBHOOK_SECRET, timestamp=old)
    answer = post(client, body, {SIGNATURE_HEADER: stale})
    assert answer.status_code == 400 and "timestamp" in answer.json()["detail"]
    with pytest.raises(WebhookSignatureError):
        services.gateway_webhook_receive(
            gateway_code="test", body=body, headers={SIGNATURE_HEADER: stale}
        )
    assert not GatewayEvent.objects.exists()


def test_an_unknown_gateway_is_a_404_and_a_get_a_405(client):
    assert (
        client.post(webhook_url("acme-pay"), b"{}", content_type="application/json").status_code
        == 404
    )
    assert client.get(webhook_url()).status_code == 405


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_webhook_delivered_twice_at_once_records_one_payment(quarterly, held_events):
    assert connection.vendor == "postgresql"
    for _round in range(3):
        invoice = Invoice.objects.get(pk=quarterly.pk)
        if invoice.status == "paid":
            break
        attempt = services.card_payment_create(
            invoice=invoice, method=card(invoice.customer), day=DAY
        )
        body, headers = delivered(last_event())

        def receive(body=body, headers=headers):
            return services.gateway_webhook_receive(gateway_code="test", body=body, headers=headers)

        results, errors = run_together(receive, receive)
        assert errors == [None, None]
        assert results[0].pk == results[1].pk  # one row, the second delivery found it
    assert GatewayEvent.objects.count() == 1
    attempt.refresh_from_db()
    assert attempt.status == "succeeded"
    assert payments_of(quarterly) == [(Decimal("129.60"), "card")]
    assert InvoiceEvent.objects.filter(invoice=quarterly, kind="payment_succeeded").count() == 1


# Refunds back to the card ------------------------------------------------------------------------


@pytest.fixture
def paid_by_card(quarterly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.card_payment_create(
            invoice=quarterly, method=card(quarterly.customer), day=DAY
        )
    attempt.refresh_from_db()
    assert attempt.status == "succeeded"
    return attempt


def test_a_refund_through_the_gateway(paid_by_card, django_capture_on_commit_callbacks):
    invoice = paid_by_card.invoice
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_create(
            invoice=invoice, amount="40.00", reason="Two gateways returned", via="gateway", day=DAY
        )
        # Then the gateway took it: pending until its webhook
        assert refund.status == "pending"
        assert refund.gateway_reference.startswith("re_")
        assert refund.card_payment == paid_by_card
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert (refund.credit_note.kind, refund.credit_note.total.amount) == (
        "credit_note",
        Decimal("40.00"),
    )
    assert GatewayEvent.objects.filter(type="refund.succeeded", refund=refund).count() == 1
    assert Refund.objects.count() == 1


def test_a_refund_to_the_card_is_at_most_what_the_card_paid(quarterly, held_events):
    # Given 100.00 paid by transfer and the 29.60 left by card
    payment_record(invoice=quarterly, amount="100.00", method="bank_transfer", received_on=DAY)
    services.card_payment_create(invoice=quarterly, method=card(quarterly.customer), day=DAY)
    services.gateway_webhook_receive(
        gateway_code="test", **dict(zip(("body", "headers"), delivered(last_event()), strict=True))
    )
    # Then 40.00 cannot go back to the card, 29.60 can
    with pytest.raises(ApplicationError, match="No single card payment of F2026-000001 has"):
        services.refund_create(
            invoice=quarterly, amount="40.00", reason="More", via="gateway", day=DAY
        )
    assert not Refund.objects.exists()
    refund = services.refund_create(
        invoice=quarterly, amount="29.60", reason="All of it", via="gateway", day=DAY
    )
    assert (refund.amount.amount, refund.status) == (Decimal("29.60"), "pending")


def test_an_invoice_not_paid_by_card_is_not_refunded_through_the_gateway(quarterly):
    payment_record(invoice=quarterly, amount="129.60", method="bank_transfer", received_on=DAY)
    with pytest.raises(ApplicationError, match="No card payment on this invoice"):
        services.refund_create(
            invoice=quarterly, amount="10.00", reason="X", via="gateway", day=DAY
        )
    assert not Refund.objects.exists()


def test_an_event_never_answered_is_delivered_again(processing, time_machine):
    attempt, _event_id = processing
    # Given the delivery that never happened (a broker down): a minute later the job sends it
    assert tasks.test_gateway_redeliver() == 0  # not yet: it may still be on its way
    time_machine.move_to(datetime(2026, 1, 10, 9, 2, tzinfo=UTC))
    assert tasks.test_gateway_redeliver() == 1
    attempt.refresh_from_db()
    assert attempt.status == "succeeded"
    assert SandboxEvent.objects.get().acknowledged_at is not None
    assert tasks.test_gateway_redeliver() == 0
