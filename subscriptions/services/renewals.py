"""Renewals, ends and the daily advance of subscriptions to a date.

Written for batches: `plan_advance` computes, from rows already loaded (no query), what a
subscription needs to reach `today` — the renewal or end entries to append and its refreshed
cache (status, plan, term, commitment, renewal date, current period, seats). The billing run
advances thousands of subscriptions this way and writes them in bulk
(billing/services/chunk_io.py); `save_advances` writes a few through the ORM, and
`subscription_advance` is the same for one. Both write the same rows and audit rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog.models import Term
from core.periods import Period, Unit, boundary, period_at, shift
from subscriptions import timeline
from subscriptions.charges import PriceBook
from subscriptions.models import Subscription, SubscriptionEvent, SubscriptionSeat
from subscriptions.services._base import current_period, lock

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def renewal_length(
    subscription: Subscription, term: Term | None, book: PriceBook | None = None
) -> Period:
    """How long a renewal commits for: the renewal term's commitment (or the term's own)."""
    renewal_term = (term.renewal_term or term) if term else None
    billing_period = (book.plan(subscription.plan_id) if book else subscription.plan).billing_period
    if renewal_term and renewal_term.commitment_count:
        if renewal_term.commitment_basis == Term.CommitmentBasis.BILLING_CYCLES:
            return Period(billing_period.count * renewal_term.commitment_count, billing_period.unit)
        commitment = renewal_term.commitment_period
        # The other basis is the calendar, with a count (tested above) and a unit (the term's
        # check constraint): a period.
        assert commitment is not None
        return commitment
    return billing_period


def before_renewal(subscription: Subscription, renewal: date, count: int, unit: str) -> date:
    """`count × unit` before `renewal`, on the subscription's timeline (a notice deadline, the
    start of a freeze): monthly from 31 Jan, one month before the renewal of 28 Feb is 31 Jan."""
    if subscription.anchor_date is None:
        return shift(renewal, -count, Unit(unit))
    return boundary(subscription.anchor_date, Period(count, Unit(unit)), -1, since=renewal)


# The subscription's audited values (django-simple-history), less `updated_at`: an advance
# that changes none of them (the run passing by) writes no history row, as a service that
# saves nothing writes none.
AUDITED = [
    f.attname for f in Subscription.history.model.tracked_fields if f.attname != "updated_at"
]
# The history's reason for rows the advance writes (no user: the nightly job, not a person).
# Stored in English, shown in the reader's language (templates/simple_history/).
RENEWAL_REASON = gettext_noop("nightly renewal")
ADVANCE_REASON = gettext_noop("nightly advance")


def audited_values(subscription: Subscription) -> tuple:
    """What an advance compares to decide whether it writes a history row."""
    # __dict__, not getattr: a column the caller did not load is not read one row at a time.
    return tuple(map(subscription.__dict__.get, AUDITED))


@dataclass
class Advance:
    subscription: Subscription
    new_events: list[SubscriptionEvent] = field(default_factory=list)
    changed_seats: list[SubscriptionSeat] = field(default_factory=list)
    events: list = field(default_factory=list)  # the whole timeline, new entries included
    # The audited values before the advance (and before the caller's `extra_fields`).
    audited: tuple = ()


def plan_advance(
    subscription: Subscription,
    *,
    events: Iterable[SubscriptionEvent],
    seats: Sequence[SubscriptionSeat],
    today: date,
    book: PriceBook,
    fold: timeline.Fold | None = None,
    now: datetime | None = None,
) -> Advance:
    """Renew at each commitment end reached (or end), then refresh the cache from the timeline.

    Mutates `subscription` and `seats` in memory; writes nothing (see save_advances). `fold`,
    the caller's `events` already folded, is used unless a renewal or an end is appended (the
    billing run then asks the same fold for the states of the periods it bills). `now`: the
    time stamped on the subscription (a chunk's, once for its thousand subscriptions).
    """
    events = list(events)
    advance = Advance(subscription, audited=audited_values(subscription))
    while (
        subscription.commitment_end is not None
        and subscription.commitment_end <= today
        and subscription.anchor_date is not None
        and (subscription.end_date is None or subscription.end_date > subscription.commitment_end)
    ):
        renewal = subscription.commitment_end
        if not subscription.auto_renew:
            entry = _job_entry(subscription, Kind.ENDED, renewal, {})
            advance.new_events.append(entry)
            events.append(entry)
            subscription.end_date = renewal
            break
        term = book.term(subscription.term_id)
        new_term = book.term(term.renewal_term_id or term.pk) if term else None
        data: dict[str, int | str | None]
        if new_term is None or not new_term.commitment_count:
            # No commitment after this renewal: the subscription rolls period by period.
            data = {
                "term": new_term.pk if new_term else None,
                "commitment_start": None,
                "commitment_end": None,
            }
            subscription.commitment_start = subscription.commitment_end = None
        else:
            new_end = boundary(
                subscription.anchor_date, renewal_length(subscription, term, book), 1, since=renewal
            )
            data = {
                "term": new_term.pk,
                "commitment_start": renewal.isoformat(),
                "commitment_end": new_end.isoformat(),
            }
            subscription.commitment_start, subscription.commitment_end = renewal, new_end
        entry = _job_entry(subscription, Kind.RENEWED, renewal, data)
        advance.new_events.append(entry)
        events.append(entry)
        subscription.term = new_term
        if new_term is not None:
            subscription.auto_renew = new_term.auto_renew
    if advance.new_events or fold is None:
        fold = timeline.Fold(events)
    advance.changed_seats = _refresh(subscription, events, fold, seats, today, book)
    subscription.updated_at = now or timezone.now()
    advance.events = events
    return advance


def _job_entry(subscription: Subscription, kind: str, day: date, data: dict) -> SubscriptionEvent:
    return SubscriptionEvent(
        subscription=subscription, kind=kind, effective_date=day, data=data, channel="job"
    )


def _refresh(
    subscription: Subscription,
    events: list,
    fold: timeline.Fold,
    seats: Sequence[SubscriptionSeat],
    today: date,
    book: PriceBook,
) -> list[SubscriptionSeat]:
    state = fold.state_on(today)
    live = [e for e in events if e.revoked_by_id is None]
    cancellation = next((e for e in reversed(live) if e.kind == Kind.CANCELLATION), None)
    ended = next((e for e in live if e.kind == Kind.ENDED), None)
    end_date = min(
        [e.effective_date for e in (cancellation, ended) if e is not None],
        default=None,
    )
    subscription.end_date = end_date
    if state.plan_id and subscription.plan_id != state.plan_id:
        subscription.plan = book.plan(state.plan_id)
    ended_by_cancellation = cancellation is not None and cancellation.effective_date == end_date
    if subscription.status == Status.PENDING_FULFILMENT and subscription.anchor_date is None:
        status = Status.PENDING_FULFILMENT
    elif end_date is not None and today >= end_date:
        status = Status.CANCELLED if ended_by_cancellation else Status.ENDED
    elif today < subscription.start_date:
        status = Status.SCHEDULED
    elif subscription.anchor_date and today < subscription.anchor_date:
        status = Status.TRIAL
    elif cancellation is not None:
        status = Status.PENDING_CANCELLATION
    else:
        status = Status.ACTIVE
    subscription.status = status
    billing = subscription.anchor_date is not None and today >= subscription.anchor_date
    if billing and status not in (Status.CANCELLED, Status.ENDED):
        period = current_period(subscription, today)
        subscription.current_period_start, subscription.current_period_end = (
            period.start,
            period.end,
        )
    else:
        # No billing period yet (scheduled, trial, pending fulfilment) or any more (ended).
        subscription.current_period_start = subscription.current_period_end = None
    if subscription.commitment_end is not None:
        subscription.renewal_date = subscription.commitment_end
    elif subscription.current_period_end is not None:
        subscription.renewal_date = subscription.current_period_end
    elif subscription.anchor_date is not None and status not in (Status.CANCELLED, Status.ENDED):
        subscription.renewal_date = period_at(
            subscription.anchor_date, subscription.plan.billing_period, 0
        ).end
    else:
        subscription.renewal_date = None
    # The seats of today, and the reductions waiting for the renewal.
    scheduled = {
        e.data["seat_type"]: e.data["quantity"]
        for e in live
        if e.kind == Kind.SEATS_REDUCED and e.effective_date > today
    }
    changed = []
    for seat in seats:
        quantity = state.seats.get(seat.seat_type_id, seat.quantity)
        wanted = scheduled.get(seat.seat_type_id)
        if (seat.quantity, seat.scheduled_quantity) != (quantity, wanted):
            seat.quantity, seat.scheduled_quantity = quantity, wanted
            changed.append(seat)
    return changed


def change_reason(planned: Advance) -> str:
    """The history's reason for the row an advance writes."""
    renewed = any(e.kind == Kind.RENEWED for e in planned.new_events)
    return RENEWAL_REASON if renewed else ADVANCE_REASON


# What an advance writes of a seat: every column but its key.
SEAT_FIELDS = [f.name for f in SubscriptionSeat._meta.concrete_fields if not f.primary_key]


def save_advances(advances: Sequence[Advance]) -> None:
    """Write a few planned advances through the ORM: new timeline entries, the subscriptions
    (save(): its audit row, unless no audited value changed), seats. The billing run writes
    thousands the same way in bulk (chunk_io.write_chunk)."""
    SubscriptionEvent.objects.bulk_create([e for a in advances for e in a.new_events])
    for planned in advances:
        subscription = planned.subscription
        if audited_values(subscription) == planned.audited:
            subscription.skip_history_when_saving = True
        else:
            subscription._change_reason = change_reason(planned)
        try:
            subscription.save()
        finally:
            # Not carried to the caller's own save() of the same instance.
            subscription.__dict__.pop("skip_history_when_saving", None)
            subscription.__dict__.pop("_change_reason", None)
    seats = [s for a in advances for s in a.changed_seats]
    if seats:
        SubscriptionSeat.objects.bulk_update(seats, SEAT_FIELDS)


def advance(
    subscription: Subscription, today: date, book: PriceBook | None = None
) -> list[SubscriptionEvent]:
    """Advance one (locked) subscription to `today` and save it."""
    book = book or PriceBook()
    planned = plan_advance(
        subscription,
        events=SubscriptionEvent.objects.filter(subscription=subscription).order_by(
            "effective_date", "id"
        ),
        seats=list(SubscriptionSeat.objects.filter(subscription=subscription)),
        today=today,
        book=book,
    )
    save_advances([planned])
    return planned.new_events


def is_behind(subscription: Subscription, today: date) -> bool:
    """Whether the nightly advance has something to do for this subscription on `today`: a
    renewal, an end, a new period (the changes waiting for it), a start or a trial end."""
    live = subscription.status not in (Status.CANCELLED, Status.ENDED)
    dates = [subscription.commitment_end, subscription.renewal_date]
    dates += [subscription.current_period_end, subscription.end_date] if live else []
    if subscription.status == Status.SCHEDULED:
        dates.append(subscription.start_date)
    if subscription.status == Status.TRIAL:
        dates.append(subscription.anchor_date)
    return any(day is not None and day <= today for day in dates)


def lock_on(subscription: Subscription, today: date) -> Subscription:
    """The subscription locked and brought to `today`, as the nightly run would (billing-rules §1:
    every answer is the same at any hour). On the renewal day at 01:00, before the 02:00 run, a
    change already sees the renewed commitment. Costs nothing when the run has been."""
    subscription = lock(subscription)
    if is_behind(subscription, today):
        advance(subscription, today)
    return subscription


def as_of(subscription: Subscription, today: date) -> Subscription:
    """For a quote that writes nothing: the subscription as the run would leave it on `today`,
    in memory (a fresh copy; the caller's instance is not changed)."""
    if not is_behind(subscription, today):
        return subscription
    copy = Subscription.objects.select_related("plan", "term", "customer").get(pk=subscription.pk)
    plan_advance(
        copy,
        events=SubscriptionEvent.objects.filter(subscription=copy).order_by("effective_date", "id"),
        seats=list(SubscriptionSeat.objects.filter(subscription=copy)),
        today=today,
        book=PriceBook(),
    )
    return copy


def subscription_advance(*, subscription: Subscription, today: date) -> list[SubscriptionEvent]:
    """The daily job for one subscription: renewals, ends, status. Safe to run twice (the row
    lock queues a second run, which then finds nothing left to do)."""
    with transaction.atomic():
        return advance(lock(subscription), today)
