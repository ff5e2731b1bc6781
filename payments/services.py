"""Payment methods, refunds and customer credit: every write of the payments app, keyword-only,
each in a transaction; a refusal is an ApplicationError that changes nothing.

billing-rules §13: a refund never exceeds what was paid and each refund is a credit note and a
refund payment; a customer's credit (credit notes not refunded, over-payments) is applied to its
next invoices.
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from billing.models import Invoice
from billing.services import invoice_credit_amount, payment_from_credit
from core.errors import ApplicationError
from core.money import money_text
from core.pricing import ZERO, round_money
from core.text import forbidden_character
from payments.models import CreditEntry, PaymentMethod, Refund
from payments.selectors import refundable
from subscriptions.models import Customer

# Characters a SEPA mandate reference and name may hold (the scheme's Latin character set).
_MANDATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# Payment methods ---------------------------------------------------------------------------------


def sepa_mandate_add(
    *,
    customer: Customer,
    account_holder: str,
    iban: str,
    bic: str = "",
    accepted: bool,
    today: date,
    make_default: bool = True,
) -> PaymentMethod:
    """A SEPA direct debit mandate signed today by the account holder, who accepted the
    mandate text: its IBAN (and BIC, found from the IBAN when the bank is known) validated."""
    if not accepted:
        raise ApplicationError(
            _("Accept the mandate text: it authorises us to debit this account."),
            field="accepted",
        )
    holder = " ".join((account_holder or "").split())
    if not holder:
        raise ApplicationError(_("Enter the account holder's name."), field="account_holder")
    if len(holder) > 70 or forbidden_character(holder):
        raise ApplicationError(
            _("Enter the account holder's name as the bank knows it (70 characters at most)."),
            field="account_holder",
        )
    if customer.currency != "EUR":
        raise ApplicationError(
            _("A SEPA direct debit is in euros, and %(customer)s is invoiced in %(currency)s.")
            % {"customer": customer.name, "currency": customer.currency}
        )
    account = _valid_iban(iban)
    bank = _valid_bic(bic, account)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if make_default:
            customer.payment_methods.filter(is_default=True).update(is_default=False)
        return PaymentMethod.objects.create(
            customer=customer,
            kind=PaymentMethod.Kind.SEPA_DEBIT,
            is_default=make_default,
            mandate_reference=_new_mandate_reference(customer),
            mandate_signed_on=today,
            account_holder=holder,
            iban=account.compact,
            bic=bank,
        )


def _valid_iban(value: str) -> IBAN:
    try:
        account = IBAN(value or "")
    except SchwiftyException:
        raise ApplicationError(
            _("This IBAN is not valid: check its letters and digits (e.g. FR76 3000 6000 …)."),
            field="iban",
        ) from None
    if not account.in_sepa_zone:
        raise ApplicationError(
            _("A direct debit is drawn on an account in the SEPA zone; %(country)s is not.")
            % {"country": account.country_code},
            field="iban",
        )
    return account


def _valid_bic(value: str, account: IBAN) -> str:
    value = "".join((value or "").split()).upper()
    if not value:
        found = account.bic
        if found is None:
            raise ApplicationError(
                _("Enter the bank's BIC: it cannot be found from this IBAN."), field="bic"
            )
        return str(found.compact)
    try:
        return str(BIC(value).compact)
    except SchwiftyException:
        raise ApplicationError(
            _("This BIC is not valid: 8 or 11 letters and digits, e.g. AGRIFRPP."), field="bic"
        ) from None


def _new_mandate_reference(customer: Customer) -> str:
    """Unique, at most 35 characters: the customer's number and a random part."""
    while True:
        suffix = "".join(secrets.choice(_MANDATE_ALPHABET) for _i in range(8))
        reference = f"CAD-{customer.pk}-{suffix}"
        if not PaymentMethod.objects.filter(mandate_reference=reference).exists():
            return reference


def payment_method_set_default(*, method: PaymentMethod) -> PaymentMethod:
    """Invoices are paid by this method from now on."""
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=method.customer_id)
        method = PaymentMethod.objects.get(pk=method.pk)
        if method.status != PaymentMethod.Status.ACTIVE:
            raise ApplicationError(_("A revoked payment method cannot be the default."))
        PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).exclude(
            pk=method.pk
        ).update(is_default=False)
        if not method.is_default:
            method.is_default = True
            method.save(update_fields=["is_default"])
        return method


def payment_method_revoke(*, method: PaymentMethod, today: date) -> PaymentMethod:
    """No more debits or charges by this method; invoices are then paid by bank transfer unless
    another method is made the default."""
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.status == PaymentMethod.Status.REVOKED:
            raise ApplicationError(_("This payment method is already revoked."))
        method.status = PaymentMethod.Status.REVOKED
        method.is_default = False
        method.revoked_on = today
        method.save(update_fields=["status", "is_default", "revoked_on"])
        return method


# Refunds -------------------------------------------------------------------------------------------


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
    transfer to the customer's account (to pay: status "to pay" until the transfer is made) or
    to its customer credit (at once). Never more than what was paid and not refunded yet."""
    amount = _amount(amount)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            _("Say why the money is paid back: the reason is printed on the credit note."),
            field="reason",
        )
    if via not in Refund.Via.values:
        raise ApplicationError(_("Choose how the money is paid back."), field="via")
    if via == Refund.Via.GATEWAY:
        raise ApplicationError(
            _("No card payment on this invoice can be refunded through a gateway."), field="via"
        )
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
            reason=reason[:300],
            day=day,
            # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
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
        if refund.status != Refund.Status.PENDING:
            raise ApplicationError(
                _("This refund is not waiting to be paid (status: %(status)s).")
                % {"status": refund.get_status_display()}
            )
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["status"])
        return refund


def _amount(value: Decimal | str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("Enter an amount, e.g. 40.00."), field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise ApplicationError(_("Enter an amount above zero, e.g. 40.00."), field="amount")
    return amount


def _refund_account(invoice: Invoice, iban: str) -> str:
    if iban:
        return _valid_iban(iban).compact
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


# Customer credit --------------------------------------------------------------------------------------


def credit_balance(*, customer: Customer, currency: str) -> Decimal:
    total = CreditEntry.objects.filter(customer=customer, currency=currency).aggregate(
        total=Sum("amount")
    )["total"]
    return round_money(total or ZERO, currency)


def credit_apply(*, invoice: Invoice, day: date) -> Decimal:
    """Pay what is left of an open invoice with its customer's credit in its currency, as far
    as the credit goes; returns the amount applied (0: nothing to apply). Safe to run twice."""
    with transaction.atomic():
        # The customer's row serialises everything that spends its credit.
        customer = Customer.objects.select_for_update().get(pk=invoice.customer_id)
        invoice = Invoice.objects.get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATUSES:
            return ZERO
        balance = credit_balance(customer=customer, currency=invoice.currency)
        due = invoice.total.amount - invoice.amount_paid.amount
        amount = min(balance, due)
        if amount <= 0:
            return ZERO
        payment = payment_from_credit(invoice=invoice, amount=amount, day=day)
        CreditEntry.objects.create(
            customer=customer,
            currency=invoice.currency,
            amount=-amount,
            kind=CreditEntry.Kind.APPLIED,
            invoice=invoice,
            payment=payment,
            day=day,
        )
        return amount


def credits_apply_due(*, day: date) -> int:
    """Apply every customer's credit to its open invoices, oldest first (the daily job); returns
    the number of invoices paid from credit. Safe to run twice: credit spent is gone."""
    with_credit = (
        CreditEntry.objects.values("customer_id", "currency")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
    )
    applied = 0
    for row in with_credit:
        for invoice in Invoice.objects.filter(
            customer_id=row["customer_id"],
            currency=row["currency"],
            kind=Invoice.Kind.INVOICE,
            status__in=Invoice.OPEN_STATUSES,
            issue_date__lte=day,
        ).order_by("issue_date", "id"):
            if credit_apply(invoice=invoice, day=day) > 0:
                applied += 1
            else:
                break
    return applied
