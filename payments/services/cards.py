"""Card payments through a gateway (payments/gateways/): saving a card, charging an invoice to
it, the gateway's webhooks that confirm or decline the charge, a retry without the payer (what
dunning calls), and refunds back to the card.

The invoice receives its `billing.Payment` only when the gateway confirms the charge (its
webhook, or an immediate "succeeded"); a decline is written in the invoice's history
(payment.failed) and changes nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum import luhn

from billing.models import Invoice, Payment
from billing.services import payment_failed_record, payment_record
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from core.pricing import ZERO, round_money
from core.text import forbidden_character
from payments.gateways import UnknownGateway, gateway
from payments.gateways.base import (
    CardDetails,
    CardRefused,
    CardToken,
    EventType,
    Gateway,
    PaymentResult,
    PaymentStatus,
    RefundStatus,
    WebhookEvent,
    WebhookSignatureError,
)
from payments.models import (
    CardPayment,
    CreditEntry,
    GatewayEvent,
    PaymentMethod,
    Refund,
    failure_text,
)
from subscriptions.models import Customer

# Refusals by the provider that are about the number the payer typed.
_NUMBER_CODES = {"incorrect_number", "test_mode_live_card"}


def card_details(*, number: str, expiry: str, holder: str, today: date) -> CardDetails:
    """What the payer typed, checked before the provider sees it: the number's check digit
    (Luhn), an expiry "MM/YY" not past, a holder. Refusals name their field."""
    digits = "".join((number or "").replace("-", " ").split())
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        raise ApplicationError(
            _("This card number is not valid: check its digits (e.g. 4242 4242 4242 4242)."),
            field="number",
        )
    month_text, _sep, year_text = "".join((expiry or "").split()).partition("/")
    if not (month_text.isdigit() and year_text.isdigit() and len(year_text) in (2, 4)):
        raise ApplicationError(_("Enter the expiry date as on the card: MM/YY."), field="expiry")
    month, year = int(month_text), int(year_text)
    year = 2000 + year if year < 100 else year
    if not 1 <= month <= 12:
        raise ApplicationError(_("Enter the expiry date as on the card: MM/YY."), field="expiry")
    if (year, month) < (today.year, today.month):
        raise ApplicationError(_("This card has expired: use another card."), field="expiry")
    holder = " ".join((holder or "").split())
    if not holder or len(holder) > 100 or forbidden_character(holder, multiline=False):
        raise ApplicationError(
            _("Enter the cardholder's name as printed on the card."), field="holder"
        )
    return CardDetails(number=digits, exp_month=month, exp_year=year, holder=holder)


def card_add(
    *,
    customer: Customer,
    number: str,
    expiry: str,
    holder: str,
    today: date,
    make_default: bool = True,
) -> PaymentMethod:
    """Save a card for the customer's next invoices: the configured gateway verifies it and
    keeps it; Cadence keeps its token, brand, last four digits — never the number."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        token = card_tokenize(
            number=number, expiry=expiry, holder=holder, today=today, currency=customer.currency
        )
        return card_method_save(
            customer=customer, token=token, holder=holder, make_default=make_default
        )


def card_tokenize(
    *, number: str, expiry: str, holder: str, today: date, currency: str
) -> CardToken:
    """Check a card and have the configured gateway verify and keep it, before any customer
    exists (the storefront's sign-up keeps the token until the email is verified). The same
    refusals as card_add; nothing is written on Cadence's side."""
    details = card_details(number=number, expiry=expiry, holder=holder, today=today)
    provider = gateway()
    if currency not in provider.currencies:
        raise ApplicationError(
            _("Cards cannot be charged in %(currency)s here.") % {"currency": currency}
        )
    try:
        return provider.tokenize(card=details, reusable=True)
    except CardRefused as refused:
        raise _card_refusal(refused) from None


def card_method_save(
    *,
    customer: Customer,
    token: CardToken,
    holder: str,
    gateway_code: str = "",
    make_default: bool = True,
) -> PaymentMethod:
    """The customer's payment method for a card the gateway already tokenized
    (card_tokenize): its token, brand and last four digits."""
    holder = " ".join((holder or "").split())
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if make_default:
            customer.payment_methods.filter(is_default=True).update(is_default=False)
        return PaymentMethod.objects.create(
            customer=customer,
            kind=PaymentMethod.Kind.CARD,
            is_default=make_default,
            account_holder=holder[:70],
            gateway=gateway_code or gateway().code,
            gateway_reference=token.token,
            card_brand=token.brand,
            card_last4=token.last4,
        )


def card_payment_create(
    *,
    invoice: Invoice,
    day: date,
    method: PaymentMethod | None = None,
    card: CardDetails | None = None,
    off_session: bool = False,
    return_url: str = "",
) -> CardPayment:
    """Charge what is left to pay on an open invoice to a saved card (`method`) or a card typed
    in for this payment (`card`). While an attempt of the invoice is being confirmed, it is
    returned rather than a second one started; one waiting for an authentication the payer
    abandoned is cancelled first. A decline is returned as a failed attempt (and recorded in the
    invoice's history), not raised: it happened."""
    if (method is None) == (card is None):
        raise ApplicationError(_("Choose a saved card or enter a card."), field="method")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        in_flight = (
            CardPayment.objects.select_for_update()
            .filter(invoice=invoice, status__in=CardPayment.IN_FLIGHT)
            .first()
        )
        if in_flight is not None and in_flight.status == CardPayment.Status.PROCESSING:
            return in_flight
        left = _left_to_pay(invoice)
        provider = gateway(method.gateway if method is not None and method.gateway else None)
        if invoice.currency not in provider.currencies:
            raise ApplicationError(
                _("%(number)s is in %(currency)s, which cards cannot be charged in here.")
                % {"number": invoice.number, "currency": invoice.currency}
            )
        if method is not None:
            _check_card(method, invoice)
            token, brand, last4 = method.gateway_reference, method.card_brand, method.card_last4
        else:
            assert card is not None  # one of the two, checked above
            try:
                single_use = provider.tokenize(card=card, reusable=False)
            except CardRefused as refused:
                raise _card_refusal(refused) from None
            token, brand, last4 = single_use.token, single_use.brand, single_use.last4
        if in_flight is not None:  # waiting for an authentication that will not come
            provider.cancel_payment(provider_payment_id=in_flight.provider_id)
            _failed(in_flight, code="canceled", message="", day=day)
        attempt = CardPayment.objects.create(
            invoice=invoice,
            method=method,
            card_brand=brand,
            card_last4=last4,
            currency=invoice.currency,
            amount=left,
            gateway=provider.code,
            idempotency_key=f"cadence-{uuid.uuid4().hex}",
            off_session=off_session,
            status=CardPayment.Status.PROCESSING,
            created_on=day,
        )
        result = provider.create_payment(
            amount=left,
            currency=invoice.currency,
            token=token,
            idempotency_key=attempt.idempotency_key,
            off_session=off_session,
            description=str(invoice.number or ""),
            return_url=return_url,
        )
        _apply(attempt, result, day=day)
        return attempt


def card_payment_retry(*, invoice: Invoice, day: date) -> CardPayment | None:
    """Charge an open invoice again, without the payer (dunning): to the customer's default
    card, else the saved card of its last attempt if still active. None when there is nothing
    to charge, no card to charge it to, or an attempt already in flight."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATUSES:
        return None
    if invoice.total.amount - invoice.amount_paid.amount <= 0:
        return None
    if invoice.card_payments.filter(status__in=CardPayment.IN_FLIGHT).exists():
        return None
    cards = PaymentMethod.objects.filter(
        customer_id=invoice.customer_id,
        kind=PaymentMethod.Kind.CARD,
        status=PaymentMethod.Status.ACTIVE,
    )
    method = cards.filter(is_default=True).first()
    if method is None:
        last = invoice.card_payments.filter(method__in=cards).order_by("-id").first()
        method = last.method if last is not None else None
    if method is None:
        return None
    return card_payment_create(invoice=invoice, method=method, day=day, off_session=True)


def gateway_webhook_receive(
    *, gateway_code: str, body: bytes, headers: Mapping[str, str]
) -> GatewayEvent:
    """A webhook from a gateway: its signature verified (WebhookSignatureError otherwise,
    nothing written), the event recorded once — a delivery repeated, even at the same moment
    in another process, finds its row and changes nothing — and acted on: a payment confirmed
    pays the invoice, a decline is written in its history, a refund confirmed is paid."""
    try:
        provider = gateway(gateway_code)
    except UnknownGateway:
        raise WebhookSignatureError(f"no gateway {gateway_code!r}") from None
    event = provider.verify_and_parse_webhook(body=body, headers=headers)
    with transaction.atomic():
        try:
            # The unique (gateway, event id) decides: a concurrent insert of the same event
            # waits for this transaction, then fails and reads the row already there.
            with transaction.atomic():
                row = GatewayEvent.objects.create(
                    gateway=provider.code,
                    provider_event_id=event.provider_event_id[:100],
                    type=str(event.type),
                    provider_payment_id=event.provider_payment_id[:100],
                    provider_refund_id=event.provider_refund_id[:100],
                    payload=event.payload,
                )
        except IntegrityError:
            return GatewayEvent.objects.get(
                gateway=provider.code, provider_event_id=event.provider_event_id[:100]
            )
        _process(row, event, provider)
        row.processed_at = timezone.now()
        row.save()
        return row


# Refunds back to the card (refund_create, payments/services/refunds.py, calls these) -----------


def card_payment_to_refund(*, invoice: Invoice, amount: Decimal) -> CardPayment:
    """The succeeded card payment of the invoice that `amount` is paid back to: the latest one
    with that much not refunded yet."""
    for attempt in invoice.card_payments.filter(status=CardPayment.Status.SUCCEEDED).order_by(
        "-id"
    ):
        if amount <= _card_refundable(attempt):
            return attempt
    if invoice.card_payments.filter(status=CardPayment.Status.SUCCEEDED).exists():
        raise ApplicationError(
            _("No single card payment of %(number)s has %(amount)s left to pay back.")
            % {"number": invoice.number, "amount": money_text(amount, invoice.currency)},
            field="amount",
        )
    raise ApplicationError(
        _("No card payment on this invoice can be refunded through a gateway."), field="via"
    )


def card_refund_send(*, refund: Refund) -> Refund:
    """Ask the gateway of the refund's card payment to pay it back (inside refund_create's
    transaction: a refusal rolls the credit note back too). Paid at once if the gateway says
    so, else pending until its webhook."""
    attempt = refund.card_payment
    assert attempt is not None  # set by refund_create for a refund through the gateway
    provider = gateway(attempt.gateway)
    result = provider.refund(
        provider_payment_id=attempt.provider_id,
        amount=refund.amount.amount,
        currency=refund.currency,
        idempotency_key=f"cadence-refund-{refund.pk}",
    )
    if result.status == RefundStatus.FAILED:
        raise ApplicationError(
            _("The gateway refused to pay this back to the card (%(code)s).")
            % {"code": result.failure_code or "?"}
        )
    refund.gateway_reference = result.provider_refund_id
    if result.status == RefundStatus.SUCCEEDED:
        refund.status = Refund.Status.SUCCEEDED
    refund.save(update_fields=["gateway_reference", "status"])
    return refund


# Private -----------------------------------------------------------------------------------------


def _left_to_pay(invoice: Invoice) -> Decimal:
    if invoice.kind != Invoice.Kind.INVOICE:
        raise ApplicationError(_("Only an invoice can be paid, not a credit note."))
    if invoice.status not in Invoice.PAYABLE_STATUSES:
        raise ApplicationError(
            _("%(number)s cannot be paid (status: %(status)s).")
            % {"number": invoice.number, "status": invoice.get_status_display()}
        )
    left = invoice.total.amount - invoice.amount_paid.amount
    if left <= 0:
        raise ApplicationError(
            _("%(number)s has nothing left to pay.") % {"number": invoice.number}
        )
    return round_money(left, invoice.currency)


def _check_card(method: PaymentMethod, invoice: Invoice) -> None:
    if (
        method.customer_id != invoice.customer_id
        or method.kind != PaymentMethod.Kind.CARD
        or method.status != PaymentMethod.Status.ACTIVE
    ):
        raise ApplicationError(
            _("Choose one of your active cards, or enter a card."), field="method"
        )


def _card_refusal(refused: CardRefused) -> ApplicationError:
    field = "number" if refused.code in _NUMBER_CODES else None
    if refused.code == "expired_card":
        field = "expiry"
    return ApplicationError(failure_text(refused.code), field=field, code=refused.code)


def _apply(attempt: CardPayment, result: PaymentResult, *, day: date) -> None:
    attempt.provider_id = result.provider_payment_id[:100]
    attempt.action_url = result.action_url[:500]
    attempt.save(update_fields=["provider_id", "action_url"])
    if result.status == PaymentStatus.REQUIRES_ACTION:
        attempt.status = CardPayment.Status.REQUIRES_ACTION
        attempt.save(update_fields=["status"])
    elif result.status == PaymentStatus.FAILED:
        _failed(attempt, code=result.failure_code, message=result.failure_message, day=day)
    elif result.status == PaymentStatus.SUCCEEDED:
        _succeeded(attempt, day=day)


def _process(row: GatewayEvent, event: WebhookEvent, provider: Gateway) -> None:
    day = clock.today()
    if event.type in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED):
        found = CardPayment.objects.filter(
            gateway=provider.code, provider_id=event.provider_payment_id
        ).first()
        if found is None:
            row.note = "No card payment of Cadence has this id."
            return
        # The invoice first, then the attempt: card_payment_create locks in that order.
        Invoice.objects.select_for_update().get(pk=found.invoice_id)
        attempt = CardPayment.objects.select_for_update().get(pk=found.pk)
        row.card_payment = attempt
        if event.type == EventType.PAYMENT_SUCCEEDED:
            if attempt.status == CardPayment.Status.SUCCEEDED:
                row.note = "Already paid."
                return
            _succeeded(attempt, day=day)
        else:
            if attempt.status not in CardPayment.IN_FLIGHT:
                row.note = f"Already {attempt.status}."
                return
            _failed(attempt, code=event.failure_code, message=event.failure_message, day=day)
    elif event.type in (EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED):
        refund = (
            Refund.objects.select_for_update()
            .filter(card_payment__gateway=provider.code, gateway_reference=event.provider_refund_id)
            .first()
        )
        if refund is None:
            row.note = "No refund of Cadence has this id."
            return
        row.refund = refund
        if refund.status != Refund.Status.PENDING:
            row.note = f"Already {refund.status}."
            return
        refund.status = (
            Refund.Status.SUCCEEDED
            if event.type == EventType.REFUND_SUCCEEDED
            else Refund.Status.FAILED
        )
        refund.save(update_fields=["status"])
    else:
        row.note = "Nothing to do."


def _succeeded(attempt: CardPayment, *, day: date) -> None:
    """The card was charged: the invoice receives what it still owes of it, the rest (it was
    paid meanwhile by other means) becomes the customer's credit. The money is never lost."""
    invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
    amount = attempt.amount.amount
    owed = (
        invoice.total.amount - invoice.amount_paid.amount
        if invoice.status in Invoice.PAYABLE_STATUSES
        else ZERO
    )
    paid = min(amount, max(owed, ZERO))
    received_on = max(day, invoice.issue_date or day)
    payment = None
    if paid > 0:
        payment = payment_record(
            invoice=invoice,
            amount=paid,
            method=Payment.Method.CARD,
            received_on=received_on,
            reference=attempt.provider_id,
        )
    credit = None
    if amount > paid:
        credit = CreditEntry.objects.create(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=amount - paid,
            kind=CreditEntry.Kind.OVERPAYMENT,
            invoice=invoice,
            payment=payment,
            day=received_on,
        )
    attempt.status = CardPayment.Status.SUCCEEDED
    attempt.confirmed_on = received_on
    attempt.payment = payment
    attempt.credit = credit
    attempt.failure_code = attempt.failure_message = ""
    attempt.save(
        update_fields=[
            "status",
            "confirmed_on",
            "payment",
            "credit",
            "failure_code",
            "failure_message",
        ]
    )


def _failed(attempt: CardPayment, *, code: str, message: str, day: date) -> None:
    attempt.status = CardPayment.Status.FAILED
    attempt.failure_code = (code or "card_declined")[:60]
    attempt.failure_message = message[:300]
    attempt.save(update_fields=["status", "failure_code", "failure_message"])
    payment_failed_record(
        invoice=attempt.invoice,
        method=Payment.Method.CARD,
        amount=attempt.amount.amount,
        day=day,
        reason=attempt.failure_code,
        details={
            "card_payment": attempt.pk,
            "reference": attempt.provider_id,
            "card": attempt.card,
            "off_session": int(attempt.off_session),
            # Why, for the payer's email (billing cannot read payments' texts), in its language.
            "message": _failure_text_for(attempt),
        },
    )


def _failure_text_for(attempt: CardPayment) -> str:
    with translation.override(attempt.invoice.language):
        return failure_text(attempt.failure_code)


def _card_refundable(attempt: CardPayment) -> Decimal:
    refunded = attempt.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))[
        "total"
    ]
    return attempt.amount.amount - round_money(refunded or ZERO, attempt.currency)
