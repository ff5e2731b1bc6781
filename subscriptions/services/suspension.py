"""Suspension for non-payment and reactivation (dunning, payments app, decides when).

A suspended subscription keeps its lifecycle — term, renewal, notice, a cancellation waiting
for its date — and loses access (`Subscription.has_access`, which entitlements follow). Its
invoicing continues, or is held when the dunning policy says so: the billing run then leaves it
alone and invoices the periods it skipped once it is reactivated (held, not forgiven).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from subscriptions.models import Subscription, SubscriptionEvent
from subscriptions.services._base import lock, record, refuse

Kind = SubscriptionEvent.Kind


def subscription_suspend(
    *,
    subscription: Subscription,
    day: date,
    reason: str,
    hold_invoicing: bool = False,
    actor: AbstractBaseUser | None = None,
    channel: str = "dunning",
) -> SubscriptionEvent:
    """Suspend a live subscription for non-payment from `day`; `reason` (the unpaid invoice)
    goes in its timeline and the subscription.suspended webhook."""
    with transaction.atomic():
        subscription = lock(subscription)
        if not subscription.is_live:
            refuse(
                _("Only a live subscription can be suspended; this one is %(status)s.")
                % {"status": subscription.get_status_display()}
            )
        if subscription.suspended_since is not None:
            refuse(
                _("The subscription is already suspended (since %(date)s).")
                % {"date": subscription.suspended_since.isoformat()}
            )
        subscription.suspended_since = day
        subscription.invoicing_held = hold_invoicing
        subscription.save(update_fields=["suspended_since", "invoicing_held", "updated_at"])
        return record(
            subscription,
            Kind.SUSPENDED,
            day,
            {"reason": reason, "invoicing_held": hold_invoicing},
            actor=actor,
            channel=channel,
        )


def subscription_reactivate(
    *,
    subscription: Subscription,
    day: date,
    reason: str,
    actor: AbstractBaseUser | None = None,
    channel: str = "dunning",
) -> SubscriptionEvent:
    """Lift a suspension from `day`: access is back at once, and held invoicing resumes (the
    next billing run invoices what fell due meanwhile)."""
    with transaction.atomic():
        subscription = lock(subscription)
        if subscription.suspended_since is None:
            refuse(_("The subscription is not suspended."))
        since = subscription.suspended_since
        subscription.suspended_since = None
        subscription.invoicing_held = False
        subscription.save(update_fields=["suspended_since", "invoicing_held", "updated_at"])
        return record(
            subscription,
            Kind.REACTIVATED,
            max(day, since),
            {"reason": reason, "suspended_since": since.isoformat()},
            actor=actor,
            channel=channel,
        )
