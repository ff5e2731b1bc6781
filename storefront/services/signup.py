"""The hosted checkout: a visitor's order, previewed, confirmed, verified by email, subscribed.

The order is a plain dict (kept in the session between the checkout and the review pages, then
in `SignUp.order`):

    {"seats": {"<seat type id>": 3}, "options": {"<product id>": 1}, "addons": {"<bundle id>": 1}, "coupon": "SAVE20-01",
     "language": "fr", "billing": {"kind": "company" | "person", "name": …, "vat_number": …,
     "address_line1": …, "address_line2": …, "postal_code": …, "city": …, "country": "FR",
     "phone": …},
     "payment": {"type": "card", "token": …, "brand": …, "last4": …, "holder": …, "gateway": …}
              | {"type": "sepa_debit", "holder": …, "iban": …, "bic": …, "accepted_on": …}
              | {"type": "bank_transfer"}}

A card number never reaches the order: the card is tokenized by the gateway when the visitor
leaves the checkout page (payments.services.card_tokenize) and only its token is kept.

Nothing of the customer exists before the email address is verified: the preview builds the
customer and the sale in a transaction it rolls back. `signup_verify` then creates the user,
the customer, its payment method, the subscription (through partners.services.subscription_sell,
the door every channel sells through), the coupon's redemption and the first invoice, in one
transaction.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice
from billing.services import subscription_invoice_now
from catalog.models import CouponCode, OffersGrid, PaymentType, Plan
from core.errors import ApplicationError
from partners.models import PartnerCustomer
from partners.services import subscription_sell
from payments.gateways.base import CardToken
from payments.models import PaymentMethod
from payments.services import (
    card_method_save,
    card_payment_create,
    card_tokenize,
    sepa_account_check,
    sepa_mandate_add,
)
from storefront.models import Attempt, SignUp
from storefront.services.limits import attempt_record, attempts_check
from subscriptions.charges import Charge
from subscriptions.models import Customer, CustomerUser, Subscription
from subscriptions.selectors import ChargeSummary, charge_summary
from subscriptions.services import coupon_redeem, customer_create

logger = logging.getLogger(__name__)

CHANNEL = "storefront"
SALT = "storefront.signup"
BILLING_FIELDS = (
    "name",
    "vat_number",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "phone",
)


class SignUpLinkInvalid(ApplicationError):
    """A verification link that is forged, or too old."""


@dataclass
class SignUpPreview:
    """What the review page shows: the first invoice as it will be, and the sale's wording."""

    plan: Plan
    currency: str
    message: str
    first: ChargeSummary
    first_date: date | None
    trial_end: date | None
    commitment_end: date | None
    coupon_saved: Decimal | None = None
    coupon_rule: str = ""
    coupon_date: date | None = None
    charges: list[Charge] = field(default_factory=list)


@dataclass
class SignUpResult:
    """What the verification did: `created` False when the link had already been used."""

    signup: SignUp
    subscription: Subscription
    customer: Customer
    user: Any
    created: bool
    invoices: list[Invoice] = field(default_factory=list)


# The plan and the grid ---------------------------------------------------------------------------


def grid_plan(*, grid: OffersGrid, plan_code: str) -> Plan | None:
    """The plan of a published grid's entry (its plan or its yearly plan), else None."""
    if not grid.is_active:
        return None
    for entry in grid.entries.select_related("plan", "yearly_plan"):
        for plan in (entry.plan, entry.yearly_plan):
            if plan is not None and plan.code == plan_code:
                return plan
    return None


def payment_types_of(*, plan: Plan, currency: str) -> list[str]:
    """The payment types a visitor may choose for the plan: those it supports, and a SEPA
    mandate only in euros."""
    order = (PaymentType.CARD, PaymentType.SEPA_DEBIT, PaymentType.BANK_TRANSFER)
    allowed = [str(t) for t in order if t in (plan.payment_types or [])]
    if currency != "EUR":
        allowed = [t for t in allowed if t != PaymentType.SEPA_DEBIT]
    return allowed


# Checks ------------------------------------------------------------------------------------------


def email_check(*, email: str) -> str:
    """An address no login has yet (the visitor logs in instead)."""
    email = (email or "").strip()
    User = get_user_model()
    if (
        User.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=email).exists()
    ):
        raise ApplicationError(
            _("An account already exists with this email address: log in to subscribe."),
            field="email",
            code="account_exists",
        )
    return email


def _customer_fields(*, order: dict[str, Any], email: str, currency: str) -> dict[str, Any]:
    billing = order.get("billing") or {}
    fields = {name: (billing.get(name) or "").strip() for name in BILLING_FIELDS}
    if billing.get("kind") == "person":
        fields["vat_number"] = ""  # a person is invoiced without one
    payment = (order.get("payment") or {}).get("type") or PaymentType.BANK_TRANSFER
    return {
        **fields,
        "email": email,
        "locale": order.get("language") or settings.LANGUAGE_CODE,
        "currency": currency,
        "payment_type": payment,
    }


def _new_customer(*, order: dict[str, Any], email: str, currency: str) -> Customer:
    """customer_create, with Customer.clean's refusals (a VAT number, a country) as
    ApplicationError on their field."""
    try:
        return customer_create(
            channel=CHANNEL, **_customer_fields(order=order, email=email, currency=currency)
        )
    except ValidationError as error:
        errors = getattr(error, "message_dict", {"__all__": error.messages})
        name, messages = next(iter(errors.items()))
        raise ApplicationError(messages[0], field=None if name == "__all__" else name) from None


def _sell_arguments(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "seats": {int(k): int(v) for k, v in (order.get("seats") or {}).items() if int(v)},
        "options": {int(k): int(v) for k, v in (order.get("options") or {}).items() if int(v)},
        "addons": {int(k): int(v) for k, v in (order.get("addons") or {}).items() if int(v)},
    }


def _check_payment(*, plan: Plan, order: dict[str, Any], currency: str) -> None:
    payment = (order.get("payment") or {}).get("type")
    if payment not in payment_types_of(plan=plan, currency=currency):
        raise ApplicationError(
            _("%(plan)s cannot be paid this way: choose another payment method.")
            % {"plan": plan.display_name},
            field="payment_type",
        )


_CARD_FIELDS = {"number": "card_number", "expiry": "card_expiry", "holder": "card_holder"}
_SEPA_FIELDS = {"account_holder": "sepa_holder", "iban": "iban", "bic": "bic"}


def payment_details(
    *,
    plan: Plan,
    currency: str,
    payment_type: str,
    today: date,
    card: dict[str, Any] | None = None,
    sepa: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The order's payment method, checked: a card tokenized by the gateway (a decline is
    refused here, before anything exists; only its token is kept), an account checked for a
    SEPA mandate (accepted today), or a bank transfer. Refusals name the checkout's fields."""
    if payment_type not in payment_types_of(plan=plan, currency=currency):
        raise ApplicationError(
            _("%(plan)s cannot be paid this way: choose another payment method.")
            % {"plan": plan.display_name},
            field="payment_type",
        )
    if payment_type == PaymentType.CARD:
        card = card or {}
        try:
            token = card_tokenize(
                number=card.get("number", ""),
                expiry=card.get("expiry", ""),
                holder=card.get("holder", ""),
                today=today,
                currency=currency,
            )
        except ApplicationError as refusal:
            raise ApplicationError(
                refusal.message,
                field=_CARD_FIELDS.get(refusal.field or "", "card_number"),
                code=refusal.code,
            ) from None
        return {
            "type": payment_type,
            "token": token.token,
            "brand": token.brand,
            "last4": token.last4,
            "exp_month": token.exp_month,
            "exp_year": token.exp_year,
            "holder": " ".join((card.get("holder") or "").split()),
            "gateway": settings.PAYMENT_GATEWAY,
        }
    if payment_type == PaymentType.SEPA_DEBIT:
        sepa = sepa or {}
        if not sepa.get("accepted"):
            raise ApplicationError(
                _("Accept the mandate text: it authorises us to debit this account."),
                field="sepa_accept",
            )
        try:
            holder, account, bic = sepa_account_check(
                account_holder=sepa.get("holder", ""),
                iban=sepa.get("iban", ""),
                bic=sepa.get("bic", ""),
            )
        except ApplicationError as refusal:
            raise ApplicationError(
                refusal.message, field=_SEPA_FIELDS.get(refusal.field or "", "iban")
            ) from None
        return {
            "type": payment_type,
            "holder": holder,
            "iban": account.compact,
            "bic": bic,
            "accepted_on": today.isoformat(),
        }
    return {"type": payment_type}


def _sale(
    *,
    customer: Customer,
    plan: Plan,
    order: dict[str, Any],
    today: date,
    actor: AbstractBaseUser | None,
) -> tuple[Subscription, Any, Any]:
    """The sale and the coupon's redemption, in the caller's transaction: (subscription, the
    sale's result, the redemption's result or None)."""
    result = subscription_sell(
        customer=customer,
        plan=plan,
        start_date=today,
        today=today,
        actor=actor,
        channel=CHANNEL,
        **_sell_arguments(order),
    )
    redeemed = None
    code = (order.get("coupon") or "").strip()
    if code:
        redeemed = coupon_redeem(
            subscription=result.subscription, code=code, today=today, actor=actor, channel=CHANNEL
        )
    return result.subscription, result, redeemed


def _check_buyer(*, grid: OffersGrid, order: dict[str, Any], customer: Customer | None) -> None:
    """A partner's customer buys through its partner; a campaign grid's codes are its
    campaign's."""
    if customer is not None:
        link = PartnerCustomer.objects.select_related("partner").filter(customer=customer).first()
        if link is not None:
            raise ApplicationError(
                _("Your subscriptions are managed by %(partner)s: ask them to add this one.")
                % {"partner": link.partner.name}
            )
    code = (order.get("coupon") or "").strip()
    if code and grid.segment == OffersGrid.Segment.CAMPAIGN:
        coupon = CouponCode.objects.filter(code__iexact=code).first()
        if coupon is not None and coupon.campaign_id != grid.campaign_id:
            raise ApplicationError(
                _("The code %(code)s is not valid for these offers.") % {"code": code},
                field="code",
            )


def signup_preview(
    *,
    grid: OffersGrid,
    plan: Plan,
    order: dict[str, Any],
    today: date,
    email: str = "",
    customer: Customer | None = None,
) -> SignUpPreview:
    """The order checked and priced as it will be sold: the customer (a new one from the
    billing details, or the logged-in customer's), the sale and the coupon are made, priced,
    then rolled back. Raises the refusal of any of them; writes nothing."""
    currency = customer.currency if customer is not None else grid.currency
    _check_buyer(grid=grid, order=order, customer=customer)
    if customer is None:
        _check_payment(plan=plan, order=order, currency=currency)
    with transaction.atomic():
        if customer is None:
            customer = _new_customer(
                order=order, email=email or "preview@invalid.example", currency=currency
            )
        subscription, sold, redeemed = _sale(
            customer=customer, plan=plan, order=order, today=today, actor=None
        )
        charges = list(redeemed.next_charges if redeemed is not None else sold.next_charges)
        subscription.refresh_from_db()
        preview = SignUpPreview(
            plan=plan,
            currency=currency,
            message=sold.message,
            first=charge_summary(charges, currency),
            first_date=subscription.anchor_date,
            trial_end=subscription.trial_end,
            commitment_end=subscription.commitment_end,
            coupon_saved=redeemed.saved if redeemed is not None else None,
            coupon_rule=redeemed.rule if redeemed is not None else "",
            coupon_date=redeemed.effective_date if redeemed is not None else None,
            charges=charges,
        )
        transaction.set_rollback(True)
    return preview


def coupon_check(
    *,
    grid: OffersGrid,
    plan: Plan,
    order: dict[str, Any],
    today: date,
    keys: list[str | None],
    customer: Customer | None = None,
) -> None:
    """A typed coupon code, checked by its preview. Each refused code counts one coupon try
    per key (email, IP); past STOREFRONT_COUPON_TRIES_PER_HOUR the code is not even looked at."""
    if not (order.get("coupon") or "").strip():
        return
    limit = settings.STOREFRONT_COUPON_TRIES_PER_HOUR
    try:
        attempts_check(kind=Attempt.Kind.COUPON, keys=keys, limit=limit)
    except ApplicationError as refusal:
        raise ApplicationError(refusal.message, field="coupon", code=refusal.code) from None
    try:
        signup_preview(
            grid=grid,
            plan=plan,
            order=order,
            today=today,
            customer=customer,
            email="preview@invalid.example",
        )
    except ApplicationError as refusal:
        if refusal.field == "code":
            attempt_record(kind=Attempt.Kind.COUPON, keys=keys)
            raise ApplicationError(refusal.message, field="coupon", code=refusal.code) from None
        # Another refusal (billing details): the checkout shows it through the full preview.


# Confirming --------------------------------------------------------------------------------------


def signup_confirm(
    *,
    grid: OffersGrid,
    plan: Plan,
    order: dict[str, Any],
    email: str,
    password_hash: str,
    ip_address: str | None,
    today: date,
) -> SignUp:
    """A pending sign-up: the order checked again (rate limits, the email address, the sale),
    kept until its email address is verified. Each confirmation counts one sign-up attempt per
    email and IP address (STOREFRONT_SIGNUPS_PER_HOUR)."""
    keys = [email, ip_address]
    attempts_check(kind=Attempt.Kind.SIGNUP, keys=keys, limit=settings.STOREFRONT_SIGNUPS_PER_HOUR)
    attempt_record(kind=Attempt.Kind.SIGNUP, keys=keys)
    email = email_check(email=email)
    if not password_hash:
        raise ApplicationError(_("Choose a password."), field="password")
    signup_preview(grid=grid, plan=plan, order=order, today=today, email=email)
    payment = dict(order.get("payment") or {})
    if payment.get("type") == PaymentType.SEPA_DEBIT:
        # The mandate is signed now, with the order: checked again, dated today.
        payment = payment_details(
            plan=plan,
            currency=grid.currency,
            payment_type=payment["type"],
            today=today,
            sepa={**payment, "accepted": bool(payment.get("accepted_on"))},
        )
    elif payment.get("type") == PaymentType.CARD and not payment.get("token"):
        raise ApplicationError(_("Enter your card again."), field="card_number")
    order = {**order, "payment": payment}
    return SignUp.objects.create(
        email=email,
        grid=grid,
        plan=plan,
        order=order,
        password=password_hash,
        ip_address=ip_address,
    )


def signup_token(*, signup: SignUp) -> str:
    return signing.dumps({"signup": signup.pk, "email": signup.email}, salt=SALT)


def signup_link(*, signup: SignUp, base_url: str = "") -> str:
    """The verification link's absolute address (base_url: the request's; else SITE_URL)."""
    path = reverse("storefront:verify", args=[signup_token(signup=signup)])
    return f"{(base_url or settings.SITE_URL).rstrip('/')}{path}"


def _email(template: str, context: dict[str, Any], to: str, language: str) -> None:
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, body, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def signup_email_send(*, signup: SignUp, base_url: str = "") -> None:
    """The verification email, in the language of the order."""
    _email(
        "storefront/email/verify",
        {
            "signup": signup,
            "plan": signup.plan,
            "link": signup_link(signup=signup, base_url=base_url),
            "hours": settings.STOREFRONT_SIGNUP_TTL_HOURS,
        },
        signup.email,
        signup.order.get("language") or settings.LANGUAGE_CODE,
    )


# Verifying ---------------------------------------------------------------------------------------


def _signup_of(token: str) -> int:
    try:
        data = signing.loads(
            token, salt=SALT, max_age=timedelta(hours=settings.STOREFRONT_SIGNUP_TTL_HOURS)
        )
    except signing.SignatureExpired:
        raise SignUpLinkInvalid(
            _(
                "This link has expired: a sign-up waits %(hours)s hours for its confirmation. "
                "Sign up again."
            )
            % {"hours": settings.STOREFRONT_SIGNUP_TTL_HOURS},
            code="expired",
        ) from None
    except signing.BadSignature:
        raise SignUpLinkInvalid(
            _("This link is not valid: copy the whole link from the email, or sign up again."),
            code="forged",
        ) from None
    return int(data["signup"])


def _payment_method(*, customer: Customer, order: dict[str, Any], today: date) -> None:
    payment = order.get("payment") or {}
    if payment.get("type") == PaymentType.CARD:
        card_method_save(
            customer=customer,
            token=CardToken(
                token=payment["token"],
                brand=payment.get("brand", ""),
                last4=payment.get("last4", ""),
                exp_month=int(payment.get("exp_month") or 0),
                exp_year=int(payment.get("exp_year") or 0),
            ),
            holder=payment.get("holder", ""),
            gateway_code=payment.get("gateway", ""),
        )
    elif payment.get("type") == PaymentType.SEPA_DEBIT:
        sepa_mandate_add(
            customer=customer,
            account_holder=payment.get("holder", ""),
            iban=payment.get("iban", ""),
            bic=payment.get("bic", ""),
            accepted=bool(payment.get("accepted_on")),
            # The mandate was signed when the order was confirmed, not when the link is opened.
            today=date.fromisoformat(payment["accepted_on"]),
        )


def _subscribe(
    *,
    customer: Customer,
    plan: Plan,
    order: dict[str, Any],
    today: date,
    actor: AbstractBaseUser | None,
) -> tuple[Subscription, list[Invoice]]:
    """The sale, the coupon, and the first invoice issued at once (a trial issues none), in the
    caller's transaction: the customer sees it as soon as the page loads. It is then collected
    as any invoice: the SEPA batch takes it for a mandate, a card is charged by _charge_card,
    a transfer waits for the bank statement."""
    subscription, _sold, _redeemed = _sale(
        customer=customer, plan=plan, order=order, today=today, actor=actor
    )
    invoices = subscription_invoice_now(subscription=subscription, day=today)
    return subscription, invoices


def _charge_card(*, customer: Customer, invoices: list[Invoice], today: date) -> None:
    """The first invoice charged to the card just saved, as the pay page charges one: the
    gateway confirms it by webhook; a decline is recorded in the invoice's history and dunning
    takes over (the subscription is not undone)."""
    method = PaymentMethod.objects.filter(
        customer=customer, kind=PaymentMethod.Kind.CARD, is_default=True
    ).first()
    if method is None:
        return
    for invoice in invoices:
        if invoice.total.amount <= 0:
            continue
        try:
            card_payment_create(invoice=invoice, method=method, day=today)
        except ApplicationError as refusal:
            logger.warning("first invoice %s not charged: %s", invoice.number, refusal.message)


def signup_of_link(*, token: str) -> SignUp:
    """The sign-up a verification link names, read only (the page that asks to confirm it):
    refused like the link itself when it is forged, expired or its sign-up deleted."""
    signup = SignUp.objects.select_related("grid", "plan").filter(pk=_signup_of(token)).first()
    if signup is None:
        raise SignUpLinkInvalid(_gone(), code="gone")
    return signup


def _gone() -> str:
    return _("This sign-up no longer exists (unconfirmed sign-ups are deleted): sign up again.")


def signup_verify(*, token: str, today: date, now: datetime | None = None) -> SignUpResult:
    """Open a verification link: in one transaction, the login (username = email), the
    customer, its payment method, the subscription, the coupon and the first invoice. The same
    link again returns what the first did (`created` False): the sign-up row is locked."""
    signup_id = _signup_of(token)
    with transaction.atomic():
        signup = (
            SignUp.objects.select_for_update(of=("self",))
            .select_related("grid", "plan")
            .filter(pk=signup_id)
            .first()
        )
        if signup is None:
            raise SignUpLinkInvalid(_gone(), code="gone")
        if signup.status == SignUp.Status.VERIFIED:
            assert signup.customer is not None and signup.subscription is not None
            membership = CustomerUser.objects.filter(customer=signup.customer).first()
            return SignUpResult(
                signup=signup,
                subscription=signup.subscription,
                customer=signup.customer,
                user=membership.user if membership else None,
                created=False,
            )
        order = signup.order
        email = email_check(email=signup.email)
        user = get_user_model()(username=email, email=email, password=signup.password)
        user.save()
        customer = _new_customer(order=order, email=email, currency=signup.grid.currency)
        CustomerUser.objects.create(customer=customer, user=user)
        _payment_method(customer=customer, order=order, today=today)
        subscription, invoices = _subscribe(
            customer=customer, plan=signup.plan, order=order, today=today, actor=user
        )
        signup.status = SignUp.Status.VERIFIED
        signup.verified_at = now or timezone.now()
        signup.customer = customer
        signup.subscription = subscription
        signup.save(update_fields=["status", "verified_at", "customer", "subscription"])
        result = SignUpResult(
            signup=signup,
            subscription=subscription,
            customer=customer,
            user=user,
            created=True,
            invoices=invoices,
        )
    if customer.payment_type == PaymentType.CARD:
        _charge_card(customer=customer, invoices=invoices, today=today)
    try:
        welcome_email_send(result=result)
    except (smtplib.SMTPException, OSError) as error:  # the subscription stands without it
        logger.warning("welcome email to %s not sent: %s", signup.email, error)
    return result


def signup_subscribe(
    *,
    grid: OffersGrid,
    plan: Plan,
    order: dict[str, Any],
    customer: Customer,
    user: AbstractBaseUser,
    ip_address: str | None,
    today: date,
) -> tuple[Subscription, list[Invoice]]:
    """A logged-in customer subscribes from the checkout: no sign-up, no verification; it pays
    as its other invoices. Rate-limited as a sign-up."""
    _check_buyer(grid=grid, order=order, customer=customer)
    keys = [customer.email, ip_address]
    attempts_check(kind=Attempt.Kind.SIGNUP, keys=keys, limit=settings.STOREFRONT_SIGNUPS_PER_HOUR)
    attempt_record(kind=Attempt.Kind.SIGNUP, keys=keys)
    if customer.currency != grid.currency:
        raise ApplicationError(
            _("These offers are in %(grid)s and your account is invoiced in %(currency)s.")
            % {"grid": grid.currency, "currency": customer.currency}
        )
    with transaction.atomic():
        return _subscribe(customer=customer, plan=plan, order=order, today=today, actor=user)


def welcome_email_send(*, result: SignUpResult) -> None:
    subscription = result.subscription
    _email(
        "storefront/email/welcome",
        {
            "customer": result.customer,
            "subscription": subscription,
            "plan": subscription.plan,
            "invoices": result.invoices,
            "account_url": f"{settings.SITE_URL}{reverse('account:subscriptions')}",
        },
        result.signup.email,
        result.customer.locale,
    )


# Purging -----------------------------------------------------------------------------------------


def signups_purge(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete the sign-ups still pending after STOREFRONT_SIGNUP_TTL_HOURS (nothing else was
    created for them) and the attempts older than a day (the limits count one hour). Safe to
    run twice. Returns (sign-ups, attempts) deleted."""
    now = now or timezone.now()
    signups, _kinds = SignUp.objects.filter(
        status=SignUp.Status.PENDING,
        created_at__lt=now - timedelta(hours=settings.STOREFRONT_SIGNUP_TTL_HOURS),
    ).delete()
    attempts, _kinds = Attempt.objects.filter(at__lt=now - timedelta(days=1)).delete()
    return signups, attempts
