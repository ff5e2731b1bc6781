"""Shared machinery of the subscription services: results, previews, locks, the timeline."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from config.celery import send
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from core.periods import Interval, period_at, period_index
from core.pricing import ZERO, invoice_totals
from core.text import describe, forbidden_character
from subscriptions import charges as charge_engine
from subscriptions import timeline
from subscriptions.charges import Charge, SubscriptionContext
from subscriptions.models import (
    Subscription,
    SubscriptionEvent,
)

Kind = SubscriptionEvent.Kind
Status = Subscription.Status
PO_REFERENCE_MAX = 35


@dataclass
class ChangeResult:
    subscription: Subscription
    event: SubscriptionEvent | None
    effective_date: date | None
    charges: list[Charge] = field(default_factory=list)
    next_charges: list[Charge] = field(default_factory=list)
    message: str = ""
    rule: str = ""
    # The invoices the change issued at once, when its door bills it in the same transaction
    # (partners.services.subscription_sell): the confirmation links to them.
    invoices: list[Any] = field(default_factory=list)
    # What a redeemed code takes off the invoice of `effective_date` (coupon_redeem): its
    # preview says it before the customer confirms.
    saved: Decimal | None = None

    @property
    def total_now(self) -> Decimal:
        return sum((c.net for c in self.charges), ZERO)

    @property
    def total_next(self) -> Decimal:
        return sum((c.net for c in self.next_charges), ZERO)


class _Rollback(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


P = ParamSpec("P")
R = TypeVar("R")


def previewable(func: Callable[P, R]) -> Callable[P, R]:
    """Run the service in a transaction; with dry_run=True, compute everything, then roll back.

    The service declares `dry_run: bool = False` among its own keyword arguments (and leaves it
    to this decorator): the signature the type checker sees, and checks each call against, is
    then the whole of what the service accepts."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        dry_run = kwargs.get("dry_run", False)
        try:
            with transaction.atomic():
                result = func(*args, **kwargs)
                if dry_run:
                    raise _Rollback(result)
                return result
        except _Rollback as rollback:
            return rollback.result

    return wrapper


def refuse(message: str, field: str | None = None) -> NoReturn:
    raise ApplicationError(message, field=field)


def lock(subscription: Subscription) -> Subscription:
    """The subscription row, locked for the rest of the transaction: changes queue up."""
    return (
        # Lock only this row: the joined rows are read, not locked (and PostgreSQL cannot lock
        # the nullable side of the outer join to the term).
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "term", "customer")
        .get(pk=subscription.pk)
    )


def record(
    subscription: Subscription,
    kind: str,
    effective: date,
    data: dict[str, Any],
    *,
    actor=None,
    channel: str = "",
) -> SubscriptionEvent:
    return SubscriptionEvent.objects.create(
        subscription=subscription,
        kind=kind,
        effective_date=effective,
        data=data,
        actor=actor if getattr(actor, "pk", None) else None,
        channel=channel,
    )


def not_billed_yet(subscription: Subscription, today: date) -> bool:
    return subscription.anchor_date is None or today < subscription.anchor_date


def immediate(subscription: Subscription, today: date) -> tuple[date, dict[str, str]]:
    """Effective date and timing of a change made now. Before billing starts there is nothing to
    prorate: the change joins the first period (boundary timing), dated no earlier than the
    start so that it follows the creation in the timeline."""
    if not_billed_yet(subscription, today):
        return max(today, subscription.start_date), {"timing": "boundary"}
    return today, {}


def billing_due(*, subscription: Subscription, day: date, today: date | None = None) -> None:
    """Tell billing to look at this subscription from `day`: a charge is due then, or a charge
    invoiced then is no longer due. Billing moves the date forward once it has invoiced.

    One-off charges are invoiced at once: once this change commits, the billing task for this
    subscription is queued (on the billing queue) to bill what is due by `today` (default: the
    calendar's). By name, through the queue: subscriptions never import billing.
    """
    if subscription.next_billing_date is None or day < subscription.next_billing_date:
        subscription.next_billing_date = day
        subscription.save(update_fields=["next_billing_date", "updated_at"])
    subscription_id = subscription.pk
    run_day = max(day, today or clock.today())
    transaction.on_commit(lambda: _queue_billing(subscription_id, run_day))


def _queue_billing(subscription_id: int, day: date) -> None:
    send("billing.run_chunk", [subscription_id], day.isoformat(), queue="billing")


def labels(text: str | Callable[[], str]) -> dict[str, str]:
    """The `label` and `label_<language>` fields of a row labelled in every language shipped:
    `text` is called in each (a fixed text, a partner's own wording, is the same in all).

    Translated when written rather than when shown because some labels are not in the message
    catalogue (a catalog discount's name and name_fr, a partner's name): each language's text
    is kept, and every page and invoice picks its own (SubscriptionDiscount.display_label)."""
    values = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            value = text() if callable(text) else text
        values["label" if code == settings.LANGUAGE_CODE else f"label_{code}"] = value
    return values


def total_text(charges: list[Charge], currency: str) -> str:
    """What these charges will cost on their invoice, tax included (the total the review page
    shows): a confirmation names the same amount as the review before it."""
    totals = invoice_totals([(c.tax_rate, c.net, c.tax_category) for c in charges], currency)
    return money_text(totals.gross, currency)


def check_changeable(subscription: Subscription) -> None:
    if subscription.status in (Status.CANCELLED, Status.ENDED):
        refuse(_("The subscription has ended: it can no longer change."))
    if subscription.status == Status.PENDING_CANCELLATION:
        # Pending cancellation is the status of a cancellation recorded, whose date is the end
        # date (renewals.plan_advance sets the two together).
        assert subscription.end_date is not None
        refuse(
            _("A cancellation takes effect on %(date)s: undo it before changing the subscription.")
            % {"date": subscription.end_date.isoformat()}
        )


def whole_number(value: Any, *, field: str, message: str, minimum: int = 0) -> int:
    """A count (seats, devices, quantities): an int, never a bool, of at least `minimum`;
    anything else is refused with `message` (1.7 is not silently 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        refuse(message, field)
    return value


def check_po(*, po_reference: str) -> str:
    po_reference = (po_reference or "").strip()
    if len(po_reference) > PO_REFERENCE_MAX:
        refuse(
            _("A PO reference has at most %(max)s characters; this one has %(count)s.")
            % {"max": PO_REFERENCE_MAX, "count": len(po_reference)},
            "po_reference",
        )
    # Printed on invoices: no control character, no bidi override, no zero-width character.
    character = forbidden_character(po_reference, multiline=False)
    if character is not None:
        refuse(
            _(
                "A PO reference cannot contain control or invisible characters: remove "
                "%(character)s."
            )
            % {"character": describe(character)},
            "po_reference",
        )
    return po_reference


def current_period(subscription: Subscription, day: date) -> Interval:
    anchor = subscription.anchor_date
    # Asked only once billing has started: each caller tests the anchor first.
    assert anchor is not None
    period = subscription.plan.billing_period
    return period_at(anchor, period, period_index(anchor, period, max(day, anchor)))


def next_period_charges(context: SubscriptionContext, today: date) -> list[Charge]:
    """What the next period will cost (the period after the one containing today)."""
    if context.anchor is None:
        return []
    if today < context.anchor:
        period = period_at(context.anchor, context.billing_period, 0)
    else:
        current = context.period_of(today)
        period = period_at(
            context.anchor,
            context.billing_period,
            period_index(context.anchor, context.billing_period, current.end),
        )
    return charge_engine.period_charges(context, period)


def as_if_fulfilled(
    context: SubscriptionContext, *, anchor: date, extra: Sequence[timeline.Entry] = ()
) -> SubscriptionContext:
    """The context of a manual-fulfilment subscription as it will be once fulfilled with
    billing from `anchor` (and with the `extra` entries, a plan change waiting for its
    fulfilment): what the pages show before confirming, "billed once fulfilled". Nothing is
    written; the pricing is the billing's own."""
    if context.anchor is not None:  # billing has started: only the extra entries
        return dataclasses.replace(context, events=[*context.events, *extra])
    fulfilled = timeline.Entry(None, timeline.FULFILLED, anchor, {"creation": True})
    return dataclasses.replace(
        context,
        anchor=anchor,
        events=[*context.events, fulfilled, *extra],
        # As subscription_fulfil moves them: the discounts start with billing.
        discounts=[
            dataclasses.replace(d, first_period_start=max(d.first_period_start, anchor))
            for d in context.discounts
        ],
    )


def charges_from(context: SubscriptionContext, start: date) -> list[Charge]:
    """The recurring charges of the period starting on `start` (none before the anchor is set)."""
    if context.anchor is None:
        return []
    return charge_engine.period_charges(context, context.period_of(start))


def next_period_start(subscription: Subscription, today: date) -> date:
    if subscription.anchor_date is None or today < subscription.anchor_date:
        return subscription.anchor_date or subscription.start_date
    return current_period(subscription, today).end
