"""Folding a subscription's timeline into its state on a date.

Two kinds of change (docs/billing-rules.md, "Changes and periods"):

- boundary changes take effect for the period that starts on their effective date: the start,
  downgrades, seat reductions, renewals, ends and cancellations. A period starting on date P is
  billed with every boundary change effective on or before P.
- immediate changes take effect during a period: seats added, upgrades, add-ons added. They are
  charged at once, prorated for the rest of their period, and belong to the state of the periods
  that start after them. An immediate change dated exactly on a period start is still charged by
  proration (a full period's difference) on top of that period's charge, so that the period is
  billed once at the new price whichever ran first that day, the change or the invoicing.

The fold reads plain values (kind, effective date, data, revoked): it is used on rows from the
database and needs no query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

CREATED = "created"
SEATS_ADDED = "seats_added"
SEATS_REDUCED = "seats_reduced"
PLAN_CHANGED = "plan_changed"
ADDON_ADDED = "addon_added"
CANCELLATION = "cancellation"
RENEWED = "renewed"
ENDED = "ended"
FULFILLED = "fulfilled"


@dataclass(frozen=True, slots=True)
class Entry:
    """A timeline entry as plain values (what the fold reads), lighter than its model row."""

    id: int | None
    kind: str
    effective_date: date
    data: dict[str, Any]
    revoked_by_id: int | None = None


class EventLike(Protocol):
    id: int | None
    kind: str
    effective_date: date
    data: dict[str, Any]
    revoked_by_id: int | None


def is_immediate(event: EventLike) -> bool:
    # A change made before billing starts is recorded as a boundary change (timing "boundary",
    # dated no earlier than the start): the first period is simply billed with it.
    if event.data.get("timing") == "boundary":
        return False
    if event.kind in (SEATS_ADDED, ADDON_ADDED):
        return True
    return event.kind == PLAN_CHANGED and event.data.get("direction") == "upgrade"


@dataclass(frozen=True)
class State:
    plan_id: int | None = None
    term_id: int | None = None
    seats: dict[int, int] = field(default_factory=dict)  # seat type id → seats
    options: dict[int, int] = field(default_factory=dict)  # optional product id → quantity
    addons: dict[int, int] = field(default_factory=dict)  # add-on bundle id → quantity
    commitment_start: date | None = None
    commitment_end: date | None = None
    ends_on: date | None = None  # a cancellation or an end takes effect on this date
    started: bool = False
    pending_fulfilment: bool = False

    def is_running_on(self, day: date) -> bool:
        return (
            self.started
            and not self.pending_fulfilment
            and (self.ends_on is None or day < self.ends_on)
        )


def replace(state: State, **changes: Any) -> State:
    """`dataclasses.replace` for State, without re-running __init__: the billing run folds
    hundreds of thousands of entries, and the generic replace costs more than the fold."""
    new = object.__new__(State)
    values = new.__dict__
    values.update(state.__dict__)
    values.update(changes)
    return new


def _int_keys(mapping: dict[str, Any] | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in (mapping or {}).items()}


def apply(state: State, event: EventLike) -> State:
    data = event.data
    match event.kind:
        case "created":
            return replace(
                state,
                plan_id=data["plan"],
                term_id=data.get("term"),
                seats=_int_keys(data.get("seats")),
                options=_int_keys(data.get("options")),
                addons=_int_keys(data.get("addons")),
                commitment_start=_date(data.get("commitment_start")),
                commitment_end=_date(data.get("commitment_end")),
                started=True,
                pending_fulfilment=bool(data.get("pending_fulfilment")),
            )
        case "fulfilled":
            if data.get("creation"):
                return replace(
                    state,
                    pending_fulfilment=False,
                    commitment_start=_date(data.get("commitment_start")),
                    commitment_end=_date(data.get("commitment_end")),
                )
            return state
        case "seats_added" | "seats_reduced":
            seats = dict(state.seats)
            seats[int(data["seat_type"])] = int(data["quantity"])
            return replace(state, seats=seats)
        case "plan_changed":
            return replace(state, plan_id=data["to"])
        case "addon_added":
            addons = dict(state.addons)
            addons[int(data["bundle"])] = addons.get(int(data["bundle"]), 0) + int(data["quantity"])
            return replace(state, addons=addons)
        case "cancellation" | "ended":
            return replace(state, ends_on=event.effective_date)
        case "renewed":
            return replace(
                state,
                term_id=data.get("term"),
                commitment_start=_date(data.get("commitment_start")),
                commitment_end=_date(data.get("commitment_end")),
            )
        case _:
            return state


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


UNSAVED = 10**18  # an entry not yet saved sorts after the saved ones of its date


def _key(event: EventLike) -> tuple[date, int]:
    return (event.effective_date, event.id if event.id is not None else UNSAVED)


def position(event: EventLike) -> tuple[date, int]:
    """Where an entry stands in the timeline (by effective date, then as recorded)."""
    return _key(event)


def billed_with(event: EventLike, period_start: date) -> bool:
    """Whether the period starting on `period_start` is billed with `event` (state_for_period)."""
    return event.effective_date < period_start or (
        event.effective_date == period_start and not is_immediate(event)
    )


def ordered(events: Iterable[EventLike]) -> list[EventLike]:
    return sorted((e for e in events if e.revoked_by_id is None), key=_key)


def state_for_period(events: Iterable[EventLike], period_start: date) -> State:
    """The state a period starting on `period_start` is billed with."""
    state = State()
    for event in ordered(events):
        # billed_with(event, period_start), inlined: the billing run folds many entries.
        if event.effective_date < period_start or (
            event.effective_date == period_start and not is_immediate(event)
        ):
            state = apply(state, event)
    return state


def state_on(events: Iterable[EventLike], day: date) -> State:
    """The state at the end of `day`: every change effective on or before it."""
    state = State()
    for event in ordered(events):
        if event.effective_date <= day:
            state = apply(state, event)
    return state


def state_before(events: Iterable[EventLike], event: EventLike) -> State:
    """The state just before `event` (everything ordered before it)."""
    state = State()
    key = _key(event)
    for other in ordered(events):
        if _key(other) >= key:
            break
        state = apply(state, other)
    return state
