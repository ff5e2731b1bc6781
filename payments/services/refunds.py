"""Refunds (billing-rules §13): a credit note of the refunded amount and the refund, never more than
what was paid and not refunded yet."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEvent
from billing.services import invoice_credit_amount
from core.errors import ApplicationError
from core.money import amount_entered, money_text
from core.pricing import round_money
from payments.models import CreditEntry, PaymentMethod, Refund
from payments.selectors import refundable
from payments.services.cards import card_payment_to_refund, card_refund_send
from payments.services.methods import valid_iban


def refund_create(
    *,
    invoice: Invoice,
    amount: Decimal | str,
    reason: str,
    via: str,
    day: date,
    iban: str = "",
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Pay back `amount` of a paid invoice: a credit note of that amount and the refund, by
    transfer to the customer's account (to pay: status "to pay" until the transfer is made), back
    to the card it was paid with through the gateway (pending until the gateway confirms) or to
    its customer credit (at once). Never more than what was paid and not refunded yet."""
    amount = _amount(amount)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            _("Say why the money is paid back: the reason is printed on the credit note."),
            field="reason",
        )
    if via not in Refund.Via.values:
        raise ApplicationError(_("Choose how the money is paid back."), field="via")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
            raise ApplicationError(_("Only an issued invoice can be refunded."))
        if amount != round_money(amount, invoice.currency):
            raise ApplicationError(
                _("A refund is an amount in %(currency)s, to the cent.")
                % {"currency": invoice.currency},
                field="amount",
            )
        left = refundable(invoice)
        if amount > left:
            raise ApplicationError(
                _("%(number)s has %(left)s paid and not refunded; %(amount)s is more than that.")
                % {
                    "number": invoice.number,
                    "left": money_text(left, invoice.currency),
                    "amount": money_text(amount, invoice.currency),
                },
                field="amount",
            )
        account = ""
        if via == Refund.Via.TRANSFER:
            account = _refund_account(invoice, iban)
        card_payment = None
        if via == Refund.Via.GATEWAY:
            card_payment = card_payment_to_refund(invoice=invoice, amount=amount)
        count = invoice.refunds.count()
        credit_note = invoice_credit_amount(
            invoice=invoice,
            amount=amount,
            reason=reason,
            day=day,
            billing_key=f"refund:{invoice.pk}:{count + 1}",
        )
        refund = Refund.objects.create(
            invoice=invoice,
            credit_note=credit_note,
            currency=invoice.currency,
            amount=amount,
            via=via,
            status=Refund.Status.SUCCEEDED if via == Refund.Via.CREDIT else Refund.Status.PENDING,
            iban=account,
            card_payment=card_payment,
            reason=reason[:300],
            day=day,
            # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.REFUNDED,
            day=day,
            data={
                "refund": refund.pk,
                "amount": str(round_money(amount, invoice.currency)),
                "currency": invoice.currency,
                "via": via,
                "credit_note": credit_note.number,
            },
        )
        if via == Refund.Via.GATEWAY:
            card_refund_send(refund=refund)
        if via == Refund.Via.CREDIT:
            CreditEntry.objects.create(
                customer_id=invoice.customer_id,
                currency=invoice.currency,
                amount=amount,
                kind=CreditEntry.Kind.CREDIT_NOTE,
                invoice=credit_note,
                day=day,
            )
        return refund


def refund_mark_paid(*, refund: Refund, day: date) -> Refund:
    """The transfer of a refund was made."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.via == Refund.Via.GATEWAY:
            raise ApplicationError(
                _("A refund back to the card is paid when the gateway confirms it.")
            )
        if refund.status != Refund.Status.PENDING:
            raise ApplicationError(
                _("This refund is not waiting to be paid (status: %(status)s).")
                % {"status": refund.get_status_display()}
            )
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["status"])
        return refund


def _amount(value: Decimal | str) -> Decimal:
    amount = amount_entered(value)
    if amount is None:
        raise ApplicationError(_("Enter an amount, e.g. 40.00."), field="amount")
    if amount <= 0:
        raise ApplicationError(_("Enter an amount above zero, e.g. 40.00."), field="amount")
    return amount


def _refund_account(invoice: Invoice, iban: str) -> str:
    if iban:
        return valid_iban(iban).compact
    mandate = (
        PaymentMethod.objects.filter(
            customer_id=invoice.customer_id, kind=PaymentMethod.Kind.SEPA_DEBIT
        )
        .order_by("-is_default", "-id")
        .first()
    )
    if mandate is None:
        raise ApplicationError(
            _("Enter the IBAN to pay the money back to: the customer has no account on file."),
            field="iban",
        )
    return mandate.iban
