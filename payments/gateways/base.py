"""The gateway interface: what a card (or other) payment provider does for Cadence.

A provider plugs in as a class with these methods (`Gateway` below), listed in
`settings.PAYMENT_GATEWAY_CLASSES`. The services (payments/services/cards.py) speak only to this
interface: they never know which provider answers, nor its vocabulary. Every call that moves
money takes an idempotency key, so that a call repeated after a timeout does not charge or
refund twice (the provider answers the first call's result again).

Confirmation is asynchronous, as with real providers: `create_payment` often answers
`processing`; the outcome comes later as a signed webhook, which `verify_and_parse_webhook`
checks and translates into a `WebhookEvent`.

The card number itself reaches the provider only through `tokenize` and is never stored by
Cadence: a payment method keeps the provider's token, the brand, the last four digits and the
expiry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"  # the payer authenticates (3-D Secure) at action_url
    FAILED = "failed"


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


class EventType(StrEnum):
    """What a webhook says, in Cadence's words (each adapter maps its provider's names)."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    OTHER = "other"  # recorded, nothing to do


@dataclass(frozen=True)
class CardDetails:
    """What the payer typed: passed to the provider, never stored."""

    number: str
    exp_month: int
    exp_year: int
    holder: str

    def __repr__(self) -> str:  # never the number in a log or a traceback
        return f"CardDetails(•••• {self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class CardToken:
    """The provider's handle on a card, and what may be shown of it."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class PaymentResult:
    provider_payment_id: str
    status: PaymentStatus
    action_url: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: RefundStatus
    failure_code: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    provider_event_id: str
    type: EventType
    provider_payment_id: str = ""
    provider_refund_id: str = ""
    failure_code: str = ""
    failure_message: str = ""
    payload: dict = field(default_factory=dict)


class CardRefused(Exception):
    """The provider refused a card (when saving it or charging it): its decline code and the
    provider's message. The services turn it into a refusal in the payer's words."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class WebhookSignatureError(Exception):
    """A webhook whose signature does not verify (wrong secret, altered body, a timestamp
    outside the tolerance window): answered 400, nothing recorded."""


class Gateway(Protocol):
    code: str
    name: str
    currencies: frozenset[str]

    def tokenize(self, *, card: CardDetails, reusable: bool) -> CardToken:
        """A token for the card. `reusable`: saved for later payments (the provider verifies
        the card and may decline it now); else good for one payment. Raises CardRefused."""
        ...

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
        """Charge `amount` to the card. `off_session`: the payer is not there to authenticate
        (a retry by dunning); `return_url`: where the authentication page sends the payer back.
        The same idempotency key answers the same payment."""
        ...

    def cancel_payment(self, *, provider_payment_id: str) -> None:
        """Give up a payment still waiting for the payer's authentication."""
        ...

    def refund(
        self, *, provider_payment_id: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult:
        """Pay back (part of) a succeeded payment to its card."""
        ...

    def verify_and_parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event a webhook delivers, once its signature is verified; raises
        WebhookSignatureError otherwise."""
        ...


# Signatures in the manner of Stripe's: a header "t=<unix time>,v1=<hex HMAC-SHA256 of
# '<t>.<body>'>"; several v1 may be given while a secret is being rolled.


def sign(*, body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(*, body: bytes, header: str, secret: str, now: float, tolerance: int) -> None:
    """Raises WebhookSignatureError unless `header` signs `body` with `secret`, at a time
    within `tolerance` seconds of `now`."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("no timestamp or no v1 signature in the signature header")
    expected = sign(body=body, secret=secret, timestamp=timestamp).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise WebhookSignatureError("the signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"the timestamp is {int(abs(now - timestamp))} s away, more than {tolerance} s"
        )
