"""The PO reference and add-on bundles of a subscription."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalog.models import (
    Bundle,
)
from subscriptions import charges as charge_engine
from subscriptions.charges import PriceBook, context_of
from subscriptions.models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionItem,
)
from subscriptions.services._base import (
    ChangeResult,
    billing_due,
    check_changeable,
    check_po,
    next_period_charges,
    previewable,
    record,
    refuse,
    whole_number,
)
from subscriptions.services.contracts import addon_contracts, contracts_attach
from subscriptions.services.creation import check_addon
from subscriptions.services.renewals import lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def subscription_set_po_reference(
    *,
    subscription: Subscription,
    po_reference: str,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> ChangeResult:
    """Change the PO reference: it appears on the invoices issued from now on."""
    with transaction.atomic():
        subscription = lock_on(subscription, today)
        po_reference = check_po(po_reference=po_reference)
        # Still editable while a cancellation is pending (invoices may follow), not once ended.
        if subscription.status in (Status.CANCELLED, Status.ENDED):
            refuse(
                _(
                    "The subscription has ended: no invoice follows, so its PO reference no "
                    "longer changes."
                ),
                "po_reference",
            )
        if po_reference == subscription.po_reference:
            return ChangeResult(
                subscription, None, today, [], [], _("The PO reference is unchanged.")
            )
        event = record(
            subscription,
            Kind.PO_REFERENCE,
            today,
            {"from": subscription.po_reference, "to": po_reference},
            actor=actor,
            channel=channel,
        )
        subscription.po_reference = po_reference
        subscription.save(update_fields=["po_reference", "updated_at"])
        return ChangeResult(
            subscription, event, today, [], [], _("The PO reference appears on the next invoices.")
        )


@previewable
def addon_add(
    *,
    subscription: Subscription,
    bundle: Bundle,
    today: date,
    quantity: int = 1,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    subscription = lock_on(subscription, today)
    check_changeable(subscription)
    whole_number(quantity, field="quantity", message=_("Add at least one."), minimum=1)
    book = PriceBook()
    plan = book.plan(subscription.plan_id)
    check_addon(plan, book.bundle(bundle.pk), subscription.currency, today)
    # The add-on's product contract (its own, not the plan's), checked against the plan.
    sold = addon_contracts(plan=plan, bundle=bundle, quantity=quantity)
    item, created = SubscriptionItem.objects.get_or_create(
        subscription=subscription,
        kind=SubscriptionItem.Kind.ADDON,
        bundle=bundle,
        defaults={"quantity": quantity},
    )
    if not created:
        SubscriptionItem.objects.filter(pk=item.pk).update(quantity=F("quantity") + quantity)
    event = record(
        subscription,
        Kind.ADDON_ADDED,
        today,
        {"bundle": bundle.pk, "quantity": quantity},
        actor=actor,
        channel=channel,
    )
    contracts_attach(
        subscription=subscription,
        sold=sold,
        start_date=max(today, subscription.anchor_date or subscription.start_date),
        today=today,
        actor=actor,
        channel=channel,
    )
    context = context_of(subscription, book)
    now = charge_engine.event_charges(context, event)
    for charge in now:
        billing_due(subscription=subscription, day=charge.charge_date)
    return ChangeResult(
        subscription,
        event,
        today,
        now,
        next_period_charges(context, today),
        _("%(bundle)s added.") % {"bundle": bundle.display_name},
    )
