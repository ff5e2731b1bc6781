"""The test gateway: a card provider that runs in-process and needs no internet, for the demo and
the tests. It behaves like a provider's test mode (Stripe's, whose test numbers it takes):

| card number           | saved (tokenize reusable) | charged                                    |
|-----------------------|---------------------------|--------------------------------------------|
| 4242 4242 4242 4242   | yes                       | succeeds (asynchronously, by webhook)      |
| 5555 5555 5555 4444   | yes                       | succeeds (Mastercard)                      |
| 4000 0000 0000 0002   | declined: card_declined   | declined: card_declined                    |
| 4000 0000 0000 9995   | declined: insufficient_funds | declined: insufficient_funds            |
| 4000 0025 0000 3155   | yes                       | 3-D Secure: the payer approves or refuses  |
|                       |                           | on the gateway's page; off-session:        |
|                       |                           | declined, authentication_required          |
| 4000 0000 0000 0341   | yes                       | declined: card_declined (dunning retries)  |

Any other number with a valid Luhn digit is refused, as a test mode refuses a real card; a bad
check digit is incorrect_number, a past expiry expired_card.

A successful charge answers `processing`; the outcome is an event, signed (HMAC-SHA256 with
`TEST_GATEWAY_WEBHOOK_SECRET`, a timestamp in the `Test-Gateway-Signature` header, as Stripe
signs) and delivered after the commit by the Celery task `payments.test_gateway_deliver`. The
task hands the signed body and headers to the service the webhook view calls
(`gateway_webhook_receive`), rather than POSTing it to Cadence's own URL: the same signature
check and the same code, with no base URL to configure and no HTTP round trip (the view is
tested with the same signed bodies). A decline is answered at once, and its event sent too:
a provider sends both, and the second must change nothing.

Its state — cards (never the number: the behaviour the number chose, brand, last four, expiry),
payments, refunds and events — is the provider's side, in the Sandbox* models.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from stdnum import luhn

from config.celery import send
from core import clock
from payments.gateways.base import (
    CardDetails,
    CardRefused,
    CardToken,
    EventType,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    WebhookEvent,
    WebhookSignatureError,
    sign,
    verify_signature,
)
from payments.models import SandboxCard, SandboxEvent, SandboxPayment, SandboxRefund

SIGNATURE_HEADER = "Test-Gateway-Signature"

B = SandboxCard.Behaviour
TEST_CARDS = {
    "4242424242424242": B.SUCCEED,
    "5555555555554444": B.SUCCEED,
    "4000000000000002": B.DECLINE,
    "4000000000009995": B.INSUFFICIENT_FUNDS,
    "4000002500003155": B.AUTHENTICATE,
    "4000000000000341": B.DECLINE_ON_CHARGE,
}
# The decline code a behaviour gives when the card is charged (or verified to be saved).
DECLINE_CODES = {
    B.DECLINE: "card_declined",
    B.INSUFFICIENT_FUNDS: "insufficient_funds",
    B.DECLINE_ON_CHARGE: "card_declined",
}
MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "authentication_required": "This payment requires authentication by the cardholder.",
    "authentication_failed": "The cardholder refused the authentication.",
    "canceled": "The payment was canceled.",
    "incorrect_number": "Your card number is incorrect.",
    "expired_card": "Your card has expired.",
    "test_mode_live_card": "This is the test gateway: use one of its test card numbers.",
    "processing_error": "Unknown card token.",
}


def brand_of(number: str) -> str:
    if number.startswith(("34", "37")):
        return "Amex"
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "Mastercard"
    return "Card"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class TestGateway:
    """The test gateway (`PAYMENT_GATEWAY=test`, the default)."""

    __test__ = False  # pytest: a class named Test… in a module imported by tests

    code = "test"
    name = "Test gateway"
    currencies = frozenset({"EUR", "CAD", "USD", "GBP", "CHF"})

    # The interface ---------------------------------------------------------------------------

    def tokenize(self, *, card: CardDetails, reusable: bool) -> CardToken:
        number = "".join(card.number.split())
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn.is_valid(number):
            raise CardRefused("incorrect_number", MESSAGES["incorrect_number"])
        today = clock.today()
        if not 1 <= card.exp_month <= 12 or (card.exp_year, card.exp_month) < (
            today.year,
            today.month,
        ):
            raise CardRefused("expired_card", MESSAGES["expired_card"])
        behaviour = TEST_CARDS.get(number)
        if behaviour is None:
            raise CardRefused("test_mode_live_card", MESSAGES["test_mode_live_card"])
        if reusable and behaviour in (B.DECLINE, B.INSUFFICIENT_FUNDS):
            # Saving a card verifies it with the bank: these are declined already.
            code = DECLINE_CODES[behaviour]
            raise CardRefused(code, MESSAGES[code])
        saved = SandboxCard.objects.create(
            token=_new_id("card"),
            brand=brand_of(number),
            last4=number[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder=card.holder[:100],
            behaviour=behaviour,
            reusable=reusable,
        )
        return CardToken(
            token=saved.token,
            brand=saved.brand,
            last4=saved.last4,
            exp_month=saved.exp_month,
            exp_year=saved.exp_year,
        )

    def create_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        off_session: bool,
        description: str,
        return_url: str = "",
    ) -> PaymentResult:
        with transaction.atomic():
            existing = SandboxPayment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _result(existing)
            card = SandboxCard.objects.filter(token=token).first()
            if card is None or (not card.reusable and card.payments.exists()):
                # A provider answers an unknown or spent token with an error, charging nothing.
                return PaymentResult(
                    provider_payment_id="",
                    status=PaymentStatus.FAILED,
                    failure_code="processing_error",
                    failure_message=MESSAGES["processing_error"],
                )
            payment = SandboxPayment.objects.create(
                provider_id=_new_id("pi"),
                card=card,
                amount=amount,
                currency=currency,
                status=SandboxPayment.Status.PROCESSING,
                idempotency_key=idempotency_key,
                off_session=off_session,
                description=description[:200],
                return_url=return_url[:500],
            )
            behaviour = B(card.behaviour)
            if behaviour in DECLINE_CODES:
                _fail(payment, DECLINE_CODES[behaviour])
            elif behaviour == B.AUTHENTICATE:
                if off_session:
                    _fail(payment, "authentication_required")
                else:
                    payment.status = SandboxPayment.Status.REQUIRES_ACTION
                    payment.save(update_fields=["status"])
            else:
                _succeed_later(payment)
            return _result(payment)

    def cancel_payment(self, *, provider_payment_id: str) -> None:
        with transaction.atomic():
            payment = (
                SandboxPayment.objects.select_for_update()
                .filter(provider_id=provider_payment_id)
                .first()
            )
            if payment is None or payment.status != SandboxPayment.Status.REQUIRES_ACTION:
                return
            payment.status = SandboxPayment.Status.CANCELED
            payment.failure_code = "canceled"
            payment.save(update_fields=["status", "failure_code"])
            _emit("payment_intent.canceled", _payment_object(payment))

    def refund(
        self, *, provider_payment_id: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult:
        with transaction.atomic():
            existing = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return RefundResult(existing.provider_id, RefundStatus(existing.status))
            payment = (
                SandboxPayment.objects.select_for_update()
                .filter(provider_id=provider_payment_id)
                .first()
            )
            refunded = (
                sum((r.amount for r in payment.refunds.exclude(status="failed")), Decimal(0))
                if payment
                else Decimal(0)
            )
            if (
                payment is None
                or payment.status != SandboxPayment.Status.SUCCEEDED
                or currency != payment.currency
                or amount <= 0
                or refunded + amount > payment.amount
            ):
                return RefundResult("", RefundStatus.FAILED, failure_code="refund_refused")
            refund = SandboxRefund.objects.create(
                provider_id=_new_id("re"),
                payment=payment,
                amount=amount,
                status=RefundStatus.PENDING,
                idempotency_key=idempotency_key,
            )
            # Card refunds settle a moment later: the event says so.
            refund.status = RefundStatus.SUCCEEDED
            refund.save(update_fields=["status"])
            _emit("refund.succeeded", _refund_object(refund))
            return RefundResult(refund.provider_id, RefundStatus.PENDING)

    def verify_and_parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = next(
            (value for key, value in headers.items() if key.lower() == SIGNATURE_HEADER.lower()),
            "",
        )
        verify_signature(
            body=body,
            header=header,
            secret=settings.TEST_GATEWAY_WEBHOOK_SECRET,
            now=timezone.now().timestamp(),
            tolerance=settings.GATEWAY_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
            item = event["data"]["object"]
            event_id, event_type = str(event["id"]), str(event["type"])
        except (ValueError, KeyError, TypeError):
            raise WebhookSignatureError("the body is not an event") from None
        error = item.get("last_payment_error") or {}
        if item.get("object") == "refund":
            return WebhookEvent(
                provider_event_id=event_id,
                type=EventType.REFUND_SUCCEEDED
                if event_type == "refund.succeeded"
                else EventType.REFUND_FAILED
                if event_type == "refund.failed"
                else EventType.OTHER,
                provider_payment_id=str(item.get("payment_intent", "")),
                provider_refund_id=str(item.get("id", "")),
                payload=event,
            )
        types = {
            "payment_intent.succeeded": EventType.PAYMENT_SUCCEEDED,
            "payment_intent.payment_failed": EventType.PAYMENT_FAILED,
            "payment_intent.canceled": EventType.PAYMENT_FAILED,
        }
        return WebhookEvent(
            provider_event_id=event_id,
            type=types.get(event_type, EventType.OTHER),
            provider_payment_id=str(item.get("id", "")),
            failure_code=str(error.get("code", "")),
            failure_message=str(error.get("message", "")),
            payload=event,
        )

    # The test gateway's own doors (a provider's pages and its webhook sender) -----------------

    def authenticate(self, *, provider_payment_id: str, approve: bool) -> SandboxPayment | None:
        """The payer approved or refused the payment on the 3-D Secure page. Returns the
        payment (None: there is nothing to authenticate)."""
        with transaction.atomic():
            payment = (
                SandboxPayment.objects.select_for_update()
                .filter(provider_id=provider_payment_id)
                .first()
            )
            if payment is None or payment.status != SandboxPayment.Status.REQUIRES_ACTION:
                return None
            if approve:
                payment.status = SandboxPayment.Status.PROCESSING
                payment.save(update_fields=["status"])
                _succeed_later(payment)
            else:
                _fail(payment, "authentication_failed")
            return payment

    def delivery(self, *, event_id: int) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one delivery of an event, signed now (each attempt is)."""
        event = SandboxEvent.objects.get(pk=event_id)
        SandboxEvent.objects.filter(pk=event_id).update(deliveries=event.deliveries + 1)
        body = json.dumps(event.data, sort_keys=True).encode()
        header = sign(
            body=body,
            secret=settings.TEST_GATEWAY_WEBHOOK_SECRET,
            timestamp=int(timezone.now().timestamp()),
        )
        return body, {SIGNATURE_HEADER: header, "Content-Type": "application/json"}

    def acknowledged(self, *, event_id: int) -> None:
        """Cadence answered the delivery (a 2xx): the event is not sent again."""
        SandboxEvent.objects.filter(pk=event_id, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now()
        )

    def unacknowledged(self, *, older_than_seconds: int) -> list[int]:
        """Events sent and never answered (a broker down, a worker that died, an error): a
        provider retries them, so does this one (the `payments.test_gateway_redeliver` job)."""
        before = timezone.now() - timedelta(seconds=older_than_seconds)
        return list(
            SandboxEvent.objects.filter(acknowledged_at__isnull=True, created_at__lt=before)
            .order_by("id")
            .values_list("pk", flat=True)[:500]
        )


# The provider's bookkeeping ----------------------------------------------------------------------


def _result(payment: SandboxPayment) -> PaymentResult:
    status = {
        SandboxPayment.Status.PROCESSING: PaymentStatus.PROCESSING,
        SandboxPayment.Status.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
        # The charge itself settled; Cadence hears it from the event, as with any provider.
        SandboxPayment.Status.SUCCEEDED: PaymentStatus.PROCESSING,
        SandboxPayment.Status.FAILED: PaymentStatus.FAILED,
        SandboxPayment.Status.CANCELED: PaymentStatus.FAILED,
    }[SandboxPayment.Status(payment.status)]
    return PaymentResult(
        provider_payment_id=payment.provider_id,
        status=status,
        action_url=reverse("payments:test_gateway_authenticate", args=[payment.provider_id])
        if status == PaymentStatus.REQUIRES_ACTION
        else "",
        failure_code=payment.failure_code,
        failure_message=MESSAGES.get(payment.failure_code, ""),
    )


def _fail(payment: SandboxPayment, code: str) -> None:
    payment.status = SandboxPayment.Status.FAILED
    payment.failure_code = code
    payment.save(update_fields=["status", "failure_code"])
    _emit("payment_intent.payment_failed", _payment_object(payment))


def _succeed_later(payment: SandboxPayment) -> None:
    """The bank accepts the charge; the event tells Cadence after the commit."""
    payment.status = SandboxPayment.Status.SUCCEEDED
    payment.save(update_fields=["status"])
    _emit("payment_intent.succeeded", _payment_object(payment))


def _payment_object(payment: SandboxPayment) -> dict:
    item: dict = {
        "id": payment.provider_id,
        "object": "payment_intent",
        "amount": str(payment.amount),
        "currency": payment.currency.lower(),
        "status": payment.status,
        "description": payment.description,
    }
    if payment.failure_code:
        item["last_payment_error"] = {
            "code": payment.failure_code,
            "message": MESSAGES.get(payment.failure_code, ""),
        }
    return item


def _refund_object(refund: SandboxRefund) -> dict:
    return {
        "id": refund.provider_id,
        "object": "refund",
        "payment_intent": refund.payment.provider_id,
        "amount": str(refund.amount),
        "status": refund.status,
    }


def _emit(event_type: str, item: dict) -> None:
    provider_id = _new_id("evt")
    event = SandboxEvent.objects.create(
        provider_id=provider_id,
        type=event_type,
        data={
            "id": provider_id,
            "type": event_type,
            "created": int(timezone.now().timestamp()),
            "data": {"object": item},
        },
    )
    # Sent once the payment is committed (a rolled-back charge sends nothing), by a worker.
    transaction.on_commit(lambda: send("payments.test_gateway_deliver", event.pk))
