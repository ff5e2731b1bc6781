"""Payment methods: SEPA mandates (IBAN and BIC checked with schwifty), the default method, revocation."""

from __future__ import annotations

import secrets
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from core.errors import ApplicationError
from core.text import forbidden_character
from payments.models import PaymentMethod
from subscriptions.models import Customer

# Characters a SEPA mandate reference and name may hold (the scheme's Latin character set).
_MANDATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
    if customer.currency != "EUR":
        raise ApplicationError(
            _("A SEPA direct debit is in euros, and %(customer)s is invoiced in %(currency)s.")
            % {"customer": customer.name, "currency": customer.currency}
        )
    holder, account, bank = sepa_account_check(account_holder=account_holder, iban=iban, bic=bic)
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


def sepa_account_check(*, account_holder: str, iban: str, bic: str = "") -> tuple[str, IBAN, str]:
    """The account a mandate is for, checked before any customer exists (the storefront's
    sign-up): the holder's name, the IBAN, the BIC (found from the IBAN when the bank is
    known). Returns (holder, IBAN, BIC)."""
    holder = " ".join((account_holder or "").split())
    if not holder:
        raise ApplicationError(_("Enter the account holder's name."), field="account_holder")
    if len(holder) > 70 or forbidden_character(holder):
        raise ApplicationError(
            _("Enter the account holder's name as the bank knows it (70 characters at most)."),
            field="account_holder",
        )
    account = valid_iban(iban)
    return holder, account, _valid_bic(bic, account)


def valid_iban(value: str) -> IBAN:
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
