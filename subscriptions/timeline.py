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

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
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
    # Read-only (properties): a model row, whose `id` is an int, is one too.
    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def effective_date(self) -> date: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def revoked_by_id(self) -> int | None: ...


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


class Fold:
    """A timeline sorted once, and its states derived once: what the billing run asks of one
    subscription (its state today in the advance, then the state of each period it bills, of
    each usage window, before each change) without sorting and replaying the timeline for each
    question.

    Every state is the fold of a prefix of the ordered entries (`state_on`, `state_before`),
    or of a prefix and then the boundary changes dated on the period's start
    (`state_for_period`: an immediate change on that day stays out of it, while a boundary
    change recorded after it that day is in). Each prefix's state is kept, and a longer prefix
    is folded on from the longest one known. Answers equal the module's functions (tested
    against them on generated timelines); entries must not change after it is built.
    """

    __slots__ = ("_dates", "_keys", "_prefix", "entries")

    def __init__(self, events: Iterable[EventLike]) -> None:
        self.entries: Sequence[EventLike] = ordered(events)
        self._dates = [e.effective_date for e in self.entries]
        self._keys: list[tuple[date, int]] | None = None  # for state_before (few ask it)
        self._prefix: dict[int, State] = {0: State()}  # number of entries → state after them

    def _after(self, count: int) -> State:
        state = self._prefix.get(count)
        if state is not None:
            return state
        known = max(n for n in self._prefix if n < count)
        state = self._prefix[known]
        for event in self.entries[known:count]:
            state = apply(state, event)
        self._prefix[count] = state
        return state

    def state_on(self, day: date) -> State:
        return self._after(bisect_right(self._dates, day))

    def state_for_period(self, period_start: date) -> State:
        before = bisect_left(self._dates, period_start)
        on = bisect_right(self._dates, period_start, lo=before)
        on_the_day = self.entries[before:on]
        if not any(is_immediate(e) for e in on_the_day):
            return self._after(on)
        state = self._after(before)
        for event in on_the_day:
            if not is_immediate(event):
                state = apply(state, event)
        return state

    def state_before(self, event: EventLike) -> State:
        if self._keys is None:
            self._keys = [_key(e) for e in self.entries]
        return self._after(bisect_left(self._keys, _key(event)))
