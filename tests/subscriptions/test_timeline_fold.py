"""The billing run folds a subscription's timeline once (timeline.Fold) and asks it every state
it needs: today's in the advance, each billed period's, each usage window's, the one before each
change. Its answers must be those of the plain folds (billing-rules "Changes and periods"):
an immediate change dated on a period's start stays out of that period's state while a boundary
change recorded after it that day is in, revoked entries count for nothing, unsaved entries sort
after the saved ones of their date."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions import timeline
from subscriptions.charges.book import PriceBook
from subscriptions.charges.inputs import SubscriptionContext
from subscriptions.timeline import Entry, Fold

START = date(2026, 1, 31)
KINDS = [
    timeline.SEATS_ADDED,
    timeline.SEATS_REDUCED,
    timeline.PLAN_CHANGED,
    timeline.ADDON_ADDED,
    timeline.CANCELLATION,
    timeline.RENEWED,
    timeline.ENDED,
]


def created(id_=1, day=START):
    return Entry(id_, timeline.CREATED, day, {"plan": 1, "seats": {"1": 2}})


def _data(kind: str, n: int, timing: str | None) -> dict:
    data: dict = {
        timeline.SEATS_ADDED: {"seat_type": 1, "quantity": n},
        timeline.SEATS_REDUCED: {"seat_type": 1, "quantity": n},
        timeline.PLAN_CHANGED: {"to": n, "direction": "upgrade" if n % 2 else "downgrade"},
        timeline.ADDON_ADDED: {"bundle": n % 3, "quantity": 1},
        timeline.RENEWED: {"term": n, "commitment_start": None, "commitment_end": None},
    }.get(kind, {})
    if timing:
        data["timing"] = timing
    return data


@st.composite
def timelines(draw):
    """A created entry and up to 14 changes on few distinct days (so that many share a date,
    a period start among them), some revoked, some not yet saved."""
    entries = [created()]
    for n in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(KINDS))
        day = START + timedelta(days=draw(st.sampled_from([0, 1, 28, 29, 59, 60, 90])))
        saved = draw(st.booleans()) or n % 4
        entries.append(
            Entry(
                id=(100 - n) if saved else None,  # recorded order differs from list order
                kind=kind,
                effective_date=day,
                data=_data(kind, n + 2, draw(st.sampled_from([None, None, "boundary"]))),
                revoked_by_id=7 if draw(st.integers(0, 9)) == 0 else None,
            )
        )
    return draw(st.permutations(entries))


DAYS = [START + timedelta(days=d) for d in (-1, 0, 1, 27, 28, 29, 59, 60, 61, 90, 400)]


@settings(max_examples=300, deadline=None)
@given(entries=timelines(), days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=8))
def test_a_fold_answers_as_the_plain_folds_in_any_order_of_questions(entries, days):
    fold = Fold(entries)
    for day in days:  # the order questions come in builds a different cache: same answers
        assert fold.state_for_period(day) == timeline.state_for_period(entries, day)
        assert fold.state_on(day) == timeline.state_on(entries, day)
    for entry in entries:
        assert fold.state_before(entry) == timeline.state_before(entries, entry)


def test_an_upgrade_on_a_period_start_is_left_out_while_a_later_boundary_change_is_in():
    period_start = START + timedelta(days=28)
    upgrade = Entry(2, timeline.PLAN_CHANGED, period_start, {"to": 5, "direction": "upgrade"})
    reduction = Entry(3, timeline.SEATS_REDUCED, period_start, {"seat_type": 1, "quantity": 1})
    fold = Fold([reduction, upgrade, created()])

    state = fold.state_for_period(period_start)

    assert (state.plan_id, state.seats) == (1, {1: 1})  # the old plan, the reduced seats
    assert fold.state_on(period_start).plan_id == 5  # in force from that day
    assert fold.state_for_period(period_start + timedelta(days=1)).plan_id == 5


def test_a_context_folds_again_when_its_entries_are_replaced_or_grow():
    entries = [created()]
    context = SubscriptionContext(
        subscription_id=1,
        anchor=START,
        currency="EUR",
        events=entries,
        discounts=[],
        book=PriceBook(),
    )
    first = context.fold
    assert context.fold is first  # asked twice, folded once

    entries.append(Entry(2, timeline.ENDED, START + timedelta(days=60), {}))
    assert context.fold is not first
    assert context.fold.state_on(START + timedelta(days=60)).ends_on == START + timedelta(days=60)

    context.events = [created()]
    assert context.fold.state_on(START + timedelta(days=60)).ends_on is None
