"""Plan changes within an upgrade group, and the fulfilment of manual-fulfilment plans."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import (
    Plan,
)
from subscriptions import charges as charge_engine
from subscriptions import timeline
from subscriptions.charges import PriceBook, context_of
from subscriptions.models import (
    Subscription,
    SubscriptionDiscount,
    SubscriptionEvent,
)
from subscriptions.services._base import (
    ChangeResult,
    as_if_fulfilled,
    billing_due,
    check_changeable,
    current_period,
    immediate,
    lock,
    next_period_charges,
    not_billed_yet,
    previewable,
    record,
    refuse,
    total_text,
)
from subscriptions.services.contracts import contracts_follow_fulfilment
from subscriptions.services.creation import (
    check_sellable,
    commitment_for,
    plan_discount_rows,
    seat_types_of,
)
from subscriptions.services.renewals import advance, lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def plan_change_options(*, subscription: Subscription) -> list[Plan]:
    """The plans this subscription may move to: the other sellable plans of its upgrade group."""
    plan = subscription.plan
    if plan.upgrade_group_id is None:
        return []
    return list(
        Plan.objects.filter(upgrade_group_id=plan.upgrade_group_id, status=Plan.Status.ACTIVE)
        .exclude(pk=plan.pk)
        .order_by("upgrade_rank")
    )


def pending_plan_change(subscription: Subscription, today: date) -> SubscriptionEvent | None:
    events = list(
        SubscriptionEvent.objects.filter(
            subscription=subscription,
            kind__in=[Kind.PLAN_CHANGE_REQUESTED, Kind.PLAN_CHANGED],
            revoked_by__isnull=True,
        ).order_by("effective_date", "id")
    )
    fulfilled = {e.data.get("request") for e in events if e.kind == Kind.PLAN_CHANGED}
    for event in events:
        if event.kind == Kind.PLAN_CHANGE_REQUESTED and event.pk not in fulfilled:
            return event
        if event.kind == Kind.PLAN_CHANGED and event.effective_date > today:
            return event
    return None


@previewable
def subscription_change_plan(
    *,
    subscription: Subscription,
    plan: Plan,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Upgrade now with the prorated difference, or downgrade at the period end; only within the
    plan's upgrade group. A manual-fulfilment plan keeps the change pending until fulfilled."""
    subscription = lock_on(subscription, today)
    check_changeable(subscription)
    if subscription.status == Status.PENDING_FULFILMENT:
        refuse(_("The subscription waits for its fulfilment: its plan cannot change before."))
    current = subscription.plan
    if plan.pk == current.pk:
        refuse(_("The subscription is already on %(plan)s.") % {"plan": plan.display_name}, "plan")
    if current.upgrade_group_id is None or plan.upgrade_group_id != current.upgrade_group_id:
        choices = ", ".join(
            p.display_name for p in plan_change_options(subscription=subscription)
        ) or _("none")
        refuse(
            _("%(plan)s can only move to the plans of its upgrade group (%(choices)s).")
            % {"plan": current.display_name, "choices": choices},
            "plan",
        )
    check_sellable(plan, today)
    if plan.billing_period != current.billing_period or plan.currency != current.currency:
        refuse(
            _(
                "%(plan)s is billed every %(period)s in %(currency)s: a change keeps the billing period and currency."
            )
            % {"plan": plan.display_name, "period": plan.billing_period, "currency": plan.currency},
            "plan",
        )
    book = PriceBook()
    seats_in_use = {s.seat_type_id for s in subscription.seats.all() if s.quantity}
    missing = seats_in_use - set(seat_types_of(plan=plan, book=book))
    if missing:
        refuse(
            _("%(plan)s does not sell the seat types this subscription uses.")
            % {"plan": plan.display_name},
            "plan",
        )
    pending = pending_plan_change(subscription, today)
    if pending is not None:
        target = Plan.objects.get(pk=pending.data["to"])
        refuse(
            _("A change to %(plan)s is already pending (%(date)s).")
            % {"plan": target.display_name, "date": pending.effective_date.isoformat()},
            "plan",
        )
    direction = "upgrade" if plan.upgrade_rank > current.upgrade_rank else "downgrade"
    data = {"from": current.pk, "to": plan.pk, "direction": direction}
    if plan.manual_fulfilment:
        event = record(
            subscription, Kind.PLAN_CHANGE_REQUESTED, today, data, actor=actor, channel=channel
        )
        subscription.pending_plan = plan
        subscription.save(update_fields=["pending_plan", "updated_at"])
        # Priced before confirming: each period on the new plan, billed once fulfilled.
        context = context_of(subscription, book)
        changed = timeline.Entry(None, Kind.PLAN_CHANGED, today, data)
        once = as_if_fulfilled(context, anchor=today, extra=[changed])
        return ChangeResult(
            subscription,
            event,
            None,
            [],
            next_period_charges(once, today),
            _(
                "The change to %(plan)s is pending: it takes effect when an operator marks it fulfilled."
            )
            % {"plan": plan.display_name},
        )
    event = apply_plan_change(subscription, data, today, actor=actor, channel=channel)
    context = context_of(subscription, book)
    now = charge_engine.event_charges(context, event)
    for charge in now:
        billing_due(subscription=subscription, day=charge.charge_date)
    next_charges = next_period_charges(context, today)
    if direction == "upgrade":
        message = _("Upgraded to %(plan)s now: %(amount)s now, then %(next)s from %(date)s.") % {
            "plan": plan.display_name,
            "amount": total_text(now, subscription.currency),
            "next": total_text(next_charges, subscription.currency),
            "date": next_charges[0].period.start.isoformat() if next_charges else "—",
        }
    else:
        message = _("Moves to %(plan)s on %(date)s: nothing to pay now, %(next)s from then.") % {
            "plan": plan.display_name,
            "date": event.effective_date.isoformat(),
            "next": total_text(next_charges, subscription.currency),
        }
    return ChangeResult(subscription, event, event.effective_date, now, next_charges, message)


@previewable
def subscription_withdraw_plan_change(
    *,
    subscription: Subscription,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Withdraw a plan change that has not taken effect yet — a downgrade waiting for the period
    end, or a change waiting for its fulfilment: the subscription stays on its plan, and
    another change can be asked for. Like an undone cancellation, the scheduled entry is
    revoked by the entry that withdraws it."""
    subscription = lock_on(subscription, today)
    pending = pending_plan_change(subscription, today)
    if pending is None:
        refuse(_("There is no scheduled plan change to withdraw."))
    target = Plan.objects.get(pk=pending.data["to"])
    event = record(
        subscription,
        Kind.PLAN_CHANGE_WITHDRAWN,
        today,
        {"change": pending.pk, "from": pending.data["from"], "to": target.pk},
        actor=actor,
        channel=channel,
    )
    pending.revoked_by = event
    pending.save(update_fields=["revoked_by"])
    if subscription.pending_plan_id is not None:
        subscription.pending_plan = None
        subscription.save(update_fields=["pending_plan", "updated_at"])
    advance(subscription, today)
    context = context_of(subscription)
    next_charges = next_period_charges(context, today)
    message = _(
        "The change to %(plan)s is withdrawn: the subscription stays on %(current)s (%(next)s from %(date)s)."
    ) % {
        "plan": target.display_name,
        "current": subscription.plan.display_name,
        "next": total_text(next_charges, subscription.currency),
        "date": next_charges[0].period.start.isoformat() if next_charges else "—",
    }
    return ChangeResult(subscription, event, today, [], next_charges, message)


def apply_plan_change(
    subscription: Subscription,
    data: dict,
    today: date,
    *,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> SubscriptionEvent:
    """Record the change. billing-rules §7: the discounts agreed with the old plan end with it (the
    charge engine ends every plan-bound discount at the next plan change of the timeline, so a
    withdrawn change ends nothing), and the new plan's own discounts apply from the change: to
    an upgrade's difference and the periods that follow, counted from the change's period."""
    if not_billed_yet(subscription, today):
        effective, timing = immediate(subscription, today)
        data = {**data, **timing}
        first_period_start = subscription.anchor_date or effective
    elif data["direction"] == "upgrade":
        effective = today
        first_period_start = current_period(subscription, today).start
    else:
        effective = current_period(subscription, today).end
        first_period_start = effective
    event = record(subscription, Kind.PLAN_CHANGED, effective, data, actor=actor, channel=channel)
    plan_discount_rows(
        subscription, Plan.objects.get(pk=data["to"]), PriceBook(), first_period_start, event
    )
    if effective <= today:
        subscription.plan_id = data["to"]
        subscription.save(update_fields=["plan", "updated_at"])
    return event


def subscription_fulfil(
    *,
    subscription: Subscription,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "admin",
) -> ChangeResult:
    """An operator marks the pending creation or plan change of a manual-fulfilment plan done."""
    with transaction.atomic():
        subscription = lock(subscription)
        if subscription.status == Status.PENDING_FULFILMENT:
            plan = subscription.plan
            start = max(subscription.start_date, today)
            anchor = start + plan.trial_period.delta() if plan.trial_period else start
            commitment = commitment_for(
                plan=plan,
                term=subscription.term,
                anchor=anchor,
                service_years=subscription.service_period_years,
            )
            event = record(
                subscription,
                Kind.FULFILLED,
                today,
                {
                    "creation": True,
                    "anchor": anchor.isoformat(),
                    "commitment_start": commitment[0].isoformat() if commitment else None,
                    "commitment_end": commitment[1].isoformat() if commitment else None,
                },
                actor=actor,
                channel=channel,
            )
            subscription.anchor_date = anchor
            subscription.next_billing_date = anchor
            subscription.trial_end = anchor if plan.trial_period else None
            subscription.commitment_start = commitment[0] if commitment else None
            subscription.commitment_end = commitment[1] if commitment else None
            subscription.status = Status.ACTIVE
            subscription.save()
            SubscriptionDiscount.objects.filter(
                subscription=subscription, first_period_start__lt=anchor
            ).update(first_period_start=anchor)
            contracts_follow_fulfilment(subscription=subscription, today=today)
            advance(subscription, today)
            if anchor <= today:
                # Billing starts now: once this commits, its first invoice is issued.
                billing_due(subscription=subscription, day=anchor, today=today)
            return ChangeResult(
                subscription,
                event,
                today,
                [],
                [],
                _("Fulfilled: billing starts on %(date)s.") % {"date": anchor.isoformat()},
            )
        pending = pending_plan_change(subscription, today)
        if pending is None or pending.kind != Kind.PLAN_CHANGE_REQUESTED:
            refuse(
                _("Nothing is waiting for fulfilment on subscription #%(id)s.")
                % {"id": subscription.pk}
            )
        data = {**pending.data, "request": pending.pk}
        event = apply_plan_change(subscription, data, today, actor=actor, channel=channel)
        subscription.pending_plan = None
        subscription.save(update_fields=["pending_plan", "updated_at"])
        context = context_of(subscription)
        now = charge_engine.event_charges(context, event)
        for charge in now:
            billing_due(subscription=subscription, day=charge.charge_date)
        return ChangeResult(
            subscription,
            event,
            event.effective_date,
            now,
            next_period_charges(context, today),
            _("The change to %(plan)s is fulfilled, effective %(date)s.")
            % {
                "plan": Plan.objects.get(pk=data["to"]).display_name,
                "date": event.effective_date.isoformat(),
            },
        )
