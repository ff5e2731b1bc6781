"""Seats: added now and prorated, or reduced at the renewal within the freeze and the devices."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import F
from django.utils.translation import gettext as _

from catalog.models import (
    SeatType,
)
from core.errors import ApplicationError
from core.periods import Period, Unit
from subscriptions import charges as charge_engine
from subscriptions.charges import PriceBook, context_of
from subscriptions.models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionSeat,
)
from subscriptions.services._base import (
    ChangeResult,
    billing_due,
    check_changeable,
    immediate,
    next_period_charges,
    not_billed_yet,
    previewable,
    record,
    refuse,
    total_text,
    whole_number,
)
from subscriptions.services.creation import check_devices, seat_types_of
from subscriptions.services.renewals import before_renewal, lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


@previewable
def seats_add(
    *,
    subscription: Subscription,
    seat_type: SeatType,
    quantity: int,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Add seats now: charged at once for the rest of the current period (prorated), billed at
    the new quantity from the next period; billing dates do not move."""
    subscription = lock_on(subscription, today)
    check_changeable(subscription)
    whole_number(quantity, field="quantity", message=_("Add at least one seat."), minimum=1)
    book = PriceBook()
    if seat_type.pk not in seat_types_of(plan=subscription.plan, book=book):
        refuse(
            _("%(plan)s does not sell %(type)s seats.")
            % {"plan": subscription.plan.display_name, "type": seat_type.display_name},
            "seat_type",
        )
    seat, _created = SubscriptionSeat.objects.get_or_create(
        subscription=subscription, seat_type=seat_type, defaults={"quantity": 0}
    )
    new_quantity = seat.quantity + quantity
    SubscriptionSeat.objects.filter(pk=seat.pk).update(quantity=F("quantity") + quantity)
    effective, timing = immediate(subscription, today)
    event = record(
        subscription,
        Kind.SEATS_ADDED,
        effective,
        {"seat_type": seat_type.pk, "added": quantity, "quantity": new_quantity, **timing},
        actor=actor,
        channel=channel,
    )
    context = context_of(subscription, book)
    now = charge_engine.event_charges(context, event)
    for charge in now:
        billing_due(subscription=subscription, day=charge.charge_date)
    subscription.save(update_fields=["updated_at"])
    if now:
        message = _(
            "%(n)s %(type)s seat(s) added: %(amount)s now for %(start)s to %(end)s; billing dates do not change."
        ) % {
            "n": quantity,
            "type": seat_type.display_name,
            "amount": total_text(now, subscription.currency),
            "start": now[0].period.start.isoformat(),
            "end": now[0].period.end.isoformat(),
        }
    else:
        message = _("%(n)s %(type)s seat(s) added; they are billed from the first period.") % {
            "n": quantity,
            "type": seat_type.display_name,
        }
    return ChangeResult(
        subscription, event, today, now, next_period_charges(context, today), message
    )


def seat_reduction_freeze(*, subscription: Subscription, today: date) -> str | None:
    """Why seats cannot be reduced today — the seat-reduction freeze before the renewal — or
    None when they can. The pages say it before offering the form; seats_reduce refuses with
    the same sentence."""
    term = subscription.term
    renewal = subscription.renewal_date
    if (
        not_billed_yet(subscription, today)
        or renewal is None
        or term is None
        or not term.freeze_count
    ):
        return None
    freeze_start = before_renewal(subscription, renewal, term.freeze_count, term.freeze_unit)
    if today < freeze_start:
        return None
    return _(
        "Seats cannot be reduced from %(freeze)s, %(length)s before the renewal on %(renewal)s."
    ) % {
        "freeze": freeze_start.isoformat(),
        "length": Period(term.freeze_count, Unit(term.freeze_unit)),
        "renewal": renewal.isoformat(),
    }


@previewable
def seats_reduce(
    *,
    subscription: Subscription,
    seat_type: SeatType,
    quantity: int,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Ask for fewer seats: refused inside the freeze before the renewal and below the devices
    deployed; effective at the next renewal, without refund or credit."""
    subscription = lock_on(subscription, today)
    check_changeable(subscription)
    whole_number(
        quantity, field="quantity", message=_("A number of seats is a whole number, 0 or more.")
    )
    seat = SubscriptionSeat.objects.filter(subscription=subscription, seat_type=seat_type).first()
    current = seat.quantity if seat else 0
    if seat is None or quantity >= current:  # no seat of the type: none to take away
        refuse(
            _("The subscription has %(current)s %(type)s seats: a reduction must ask for fewer.")
            % {"current": current, "type": seat_type.display_name},
            "quantity",
        )
    try:
        check_devices(subscription.customer, {seat_type.pk: quantity}, exclude=subscription)
    except ApplicationError as refusal:
        raise ApplicationError(refusal.message, field="quantity") from None
    if not_billed_yet(subscription, today):
        effective = max(
            today, subscription.start_date
        )  # the first period is billed with fewer seats
    else:
        # Billed and live (check_changeable), brought to today (lock_on): the renewal date is
        # the commitment end or the current period's end (renewals.plan_advance).
        assert subscription.renewal_date is not None
        effective = subscription.renewal_date
        frozen = seat_reduction_freeze(subscription=subscription, today=today)
        if frozen:
            refuse(frozen, "quantity")
    for pending in SubscriptionEvent.objects.filter(
        subscription=subscription,
        kind=Kind.SEATS_REDUCED,
        effective_date__gt=today,
        revoked_by__isnull=True,
    ):
        if pending.data.get("seat_type") == seat_type.pk:
            refuse(
                _("A reduction to %(n)s seats is already scheduled for %(date)s.")
                % {"n": pending.data["quantity"], "date": pending.effective_date.isoformat()},
                "quantity",
            )
    event = record(
        subscription,
        Kind.SEATS_REDUCED,
        effective,
        {"seat_type": seat_type.pk, "from": current, "quantity": quantity},
        actor=actor,
        channel=channel,
    )
    if effective <= today:
        SubscriptionSeat.objects.filter(pk=seat.pk).update(
            quantity=quantity, scheduled_quantity=None
        )
        message = _("%(type)s seats reduced to %(n)s.") % {
            "type": seat_type.display_name,
            "n": quantity,
        }
    else:
        SubscriptionSeat.objects.filter(pk=seat.pk).update(scheduled_quantity=quantity)
        message = _(
            "%(type)s seats go down to %(n)s at the renewal on %(date)s; no refund or credit before."
        ) % {"type": seat_type.display_name, "n": quantity, "date": effective.isoformat()}
    subscription.save(update_fields=["updated_at"])
    return ChangeResult(subscription, event, effective, [], [], message)
