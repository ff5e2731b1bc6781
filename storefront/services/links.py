"""Temporary signed links to hosted pages (as Chargebee's and ProAbono's hosted pages): an
integrator asks for one (API), sends it to its customer, and whoever opens it before it expires
reaches that customer's plan change (for one subscription) or payment methods, without a login.

The token is the link's id signed with SECRET_KEY and a salt of its own (django.core.signing):
it cannot be forged or pointed at another link, and it carries nothing else — the row says which
customer, page and subscription, and until when. Deleting the row revokes the link. What opening
it grants the browser (the hosted session) is storefront/grants.py's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import clock
from core.errors import ApplicationError
from storefront.models import HostedPageLink
from subscriptions.models import Customer, Subscription
from subscriptions.selectors import managed_elsewhere
from subscriptions.services import plan_change_options

SALT = "storefront.hosted-page-link"
EXPIRED = "expired"  # the refusal's code when the link was good but is too old


def hosted_link_path(*, token: str) -> str:
    """The link's address on this site (the API makes it absolute with SITE_URL)."""
    return reverse("storefront:hosted_link", args=[token])


def expired_message(*, expires_at: datetime) -> str:
    """What a link, or the hosted session it opened, says once expired."""
    local = expires_at.astimezone(clock.billing_zone())
    return _(
        "This secure link expired on %(date)s at %(time)s. Ask whoever sent it to you for a "
        "new one."
    ) % {"date": local.date().isoformat(), "time": local.strftime("%H:%M %Z")}


def _check_plan_change(customer: Customer, subscription: Subscription | None) -> Subscription:
    if subscription is None:
        raise ApplicationError(
            _("Name the subscription whose plan the customer may change."), field="subscription"
        )
    if subscription.customer_id != customer.pk:
        raise ApplicationError(
            _("Subscription %(id)s is not this customer's.") % {"id": subscription.pk},
            field="subscription",
        )
    if not subscription.is_live:
        raise ApplicationError(
            _("Subscription %(id)s has ended: its plan can no longer change.")
            % {"id": subscription.pk},
            field="subscription",
        )
    if subscription.status == Subscription.Status.PENDING_CANCELLATION:
        raise ApplicationError(
            _(
                "Subscription %(id)s is cancelled from %(date)s: its plan cannot change unless "
                "the cancellation is undone."
            )
            % {
                "id": subscription.pk,
                "date": subscription.end_date.isoformat() if subscription.end_date else "",
            },
            field="subscription",
        )
    if reason := managed_elsewhere(subscription):
        # A partner's sale is the partner's to change (billing-rules §9): the hosted page, like
        # the self-service one, would only say so.
        raise ApplicationError(reason, field="subscription")
    if not plan_change_options(subscription=subscription):
        raise ApplicationError(
            _("%(plan)s has no other plan to move to: there is nothing to choose on that page.")
            % {"plan": subscription.plan.display_name},
            field="subscription",
        )
    return subscription


def hosted_link_create(
    *,
    customer: Customer,
    page: str,
    subscription: Subscription | None = None,
    actor: AbstractBaseUser | None = None,
) -> tuple[HostedPageLink, str]:
    """A link to `page` for `customer`, valid STOREFRONT_LINK_TTL_MINUTES from now, and its
    path (/offers/link/<token>/). A plan change names one live subscription of the customer
    that the customer may change itself; the payment methods page names none."""
    if page == HostedPageLink.Page.CHANGE_PLAN:
        subscription = _check_plan_change(customer, subscription)
    elif page == HostedPageLink.Page.PAYMENT_METHODS:
        if subscription is not None:
            raise ApplicationError(
                _("A link to the payment methods names no subscription: leave it out."),
                field="subscription",
            )
    else:
        raise ApplicationError(
            _("Choose the page: %(pages)s.")
            % {"pages": ", ".join(value for value, _label in HostedPageLink.Page.choices)},
            field="page",
        )
    with transaction.atomic():
        link = HostedPageLink.objects.create(
            customer=customer,
            page=page,
            subscription=subscription,
            created_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
            expires_at=timezone.now() + timedelta(minutes=settings.STOREFRONT_LINK_TTL_MINUTES),
        )
    return link, hosted_link_path(token=signing.dumps(link.pk, salt=SALT))


def hosted_link_open(*, token: str) -> HostedPageLink:
    """The link a token names, if it is genuine, still there and not expired; its first opening
    is recorded. A refusal says which (code EXPIRED for a link too old) and what to do."""
    try:
        link_id = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        link_id = None
    if not isinstance(link_id, int):
        raise ApplicationError(
            _(
                "This link is not valid: it may have been cut or changed on its way. Copy it "
                "whole, or ask for a new one."
            )
        )
    with transaction.atomic():
        link = hosted_link_check(link_id=link_id)
        now = timezone.now()
        # Conditional: of two first openings at once, one only records its time.
        if HostedPageLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now):
            link.opened_at = now
    return link


def hosted_link_check(*, link_id: int) -> HostedPageLink:
    """The link, with its customer, while it is still there and not expired: checked at each
    page the hosted session opens, so that withdrawing a link (deleting it) or shortening it
    takes effect in the browsers that opened it too."""
    link = HostedPageLink.objects.select_related("customer").filter(pk=link_id).first()
    if link is None:
        raise ApplicationError(_("This link has been withdrawn: ask for a new one."))
    if timezone.now() >= link.expires_at:
        raise ApplicationError(expired_message(expires_at=link.expires_at), code=EXPIRED)
    return link
