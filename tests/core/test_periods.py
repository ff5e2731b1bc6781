"""Period arithmetic, billing-rules §1. The core is plain Python: these tests need no database."""

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.periods import (
    MONTHLY,
    QUARTERLY,
    YEARLY,
    Interval,
    Period,
    Unit,
    boundary,
    check_whole_multiple,
    is_whole_multiple,
    period_containing,
    period_index,
    periods_between,
    proration_fraction,
    shift,
)


def test_monthly_boundaries_from_the_31st_are_computed_from_the_anchor_not_chained():
    anchor = date(2026, 1, 31)
    assert [boundary(anchor, MONTHLY, k) for k in range(5)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_february_of_a_leap_year_gets_its_29th():
    assert boundary(date(2028, 1, 31), MONTHLY, 1) == date(2028, 2, 29)
    assert boundary(date(2028, 1, 30), MONTHLY, 1) == date(2028, 2, 29)
    assert boundary(date(2028, 1, 29), MONTHLY, 1) == date(2028, 2, 29)


def test_yearly_from_the_29th_of_february():
    anchor = date(2024, 2, 29)
    assert boundary(anchor, YEARLY, 1) == date(2025, 2, 28)
    assert boundary(anchor, YEARLY, 4) == date(2028, 2, 29)


def test_named_and_counted_periods():
    assert boundary(date(2026, 1, 15), QUARTERLY, 1) == date(2026, 4, 15)
    assert boundary(date(2026, 1, 1), Period(2, Unit.WEEK), 1) == date(2026, 1, 15)
    assert boundary(date(2026, 1, 1), Period(10, Unit.DAY), -1) == date(2025, 12, 22)


def test_a_period_is_half_open():
    quarter = Interval(date(2026, 1, 1), date(2026, 4, 1))
    assert date(2026, 1, 1) in quarter
    assert date(2026, 3, 31) in quarter
    assert date(2026, 4, 1) not in quarter
    assert quarter.days == 90


def test_period_containing_a_day():
    anchor = date(2026, 1, 31)
    assert period_containing(anchor, MONTHLY, date(2026, 3, 15)) == Interval(
        date(2026, 2, 28), date(2026, 3, 31)
    )
    assert period_containing(anchor, MONTHLY, date(2026, 3, 31)) == Interval(
        date(2026, 3, 31), date(2026, 4, 30)
    )
    # Before the anchor, periods count backwards from it.
    assert period_index(anchor, MONTHLY, date(2026, 1, 30)) == -1


def test_periods_between_lists_the_periods_starting_in_a_range():
    starts = [
        p.start
        for p in periods_between(date(2026, 1, 1), QUARTERLY, date(2026, 1, 1), date(2027, 1, 1))
    ]
    assert starts == [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)]


def test_proration_counts_actual_days_from_the_change_inclusive():
    quarter = Interval(date(2026, 1, 1), date(2026, 4, 1))
    assert proration_fraction(date(2026, 2, 15), quarter) == Fraction(45, 90)
    november = Interval(date(2026, 11, 1), date(2026, 12, 1))
    assert proration_fraction(date(2026, 11, 21), november) == Fraction(10, 30)
    assert proration_fraction(date(2026, 11, 1), november) == 1
    with pytest.raises(ValueError):
        proration_fraction(date(2026, 12, 1), november)


def test_shift_moves_forwards_and_backwards():
    # billing-rules example 5.1: renewal 2027-01-01, notice 90 days: deadline 2026-10-03.
    assert shift(date(2027, 1, 1), -90, Unit.DAY) == date(2026, 10, 3)
    # billing-rules example 5.2: freeze of 3 months before 2027-01-01 starts 2026-10-01.
    assert shift(date(2027, 1, 1), -3, Unit.MONTH) == date(2026, 10, 1)
    assert shift(date(2026, 1, 15), 0, Unit.MONTH) == date(2026, 1, 15)


def test_a_period_needs_a_positive_count():
    with pytest.raises(ApplicationError):
        Period(0, Unit.MONTH)


@pytest.mark.parametrize(
    ("outer", "inner", "valid"),
    [
        # billing-rules example 8.1
        (Period(12, Unit.MONTH), Period(1, Unit.MONTH), True),
        (Period(1, Unit.YEAR), Period(1, Unit.MONTH), True),
        (Period(2, Unit.WEEK), Period(7, Unit.DAY), True),
        (Period(3, Unit.MONTH), Period(2, Unit.MONTH), False),
        (Period(1, Unit.MONTH), Period(1, Unit.WEEK), False),
        (Period(1, Unit.MONTH), Period(1, Unit.YEAR), False),
    ],
)
def test_example_8_1_accounting_period_and_interval(outer, inner, valid):
    if valid:
        check_whole_multiple(outer, inner, outer_label="accounting period", inner_label="interval")
    else:
        with pytest.raises(ApplicationError) as refused:
            check_whole_multiple(
                outer, inner, outer_label="accounting period", inner_label="interval"
            )
        assert "accounting period" in refused.value.message


def test_incompatible_units_are_named_in_the_refusal():
    with pytest.raises(ApplicationError, match="incompatible units"):
        check_whole_multiple(
            Period(1, Unit.MONTH),
            Period(1, Unit.WEEK),
            outer_label="accounting period",
            inner_label="interval",
        )
    with pytest.raises(ApplicationError):
        is_whole_multiple(Period(1, Unit.MONTH), Period(1, Unit.WEEK))


# Properties -------------------------------------------------------------------------------------

anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
month_periods = st.sampled_from(
    [
        Period(1, Unit.MONTH),
        Period(3, Unit.MONTH),
        Period(6, Unit.MONTH),
        Period(1, Unit.YEAR),
        Period(2, Unit.MONTH),
    ]
)
any_periods = st.builds(Period, st.integers(1, 24), st.sampled_from(list(Unit)))


@given(
    anchor=st.builds(
        date,
        st.integers(1990, 2090),
        st.sampled_from([1, 3, 5, 7, 8, 10, 12]),
        st.sampled_from([29, 30, 31]),
    ),
    period=month_periods,
    k=st.integers(0, 400),
)
def test_boundaries_from_a_29th_30th_or_31st_never_drift(anchor, period, k):
    day = boundary(anchor, period, k)
    # The boundary keeps the anchor's day, or the last day of a shorter month: never less.
    next_day = day + timedelta(days=1)
    assert day.day == anchor.day or (day.day < anchor.day and next_day.day == 1)


@given(anchor=anchors, period=any_periods, day=anchors)
def test_every_day_falls_in_exactly_the_period_that_contains_it(anchor, period, day):
    interval = period_containing(anchor, period, day)
    assert interval.start <= day < interval.end
    k = period_index(anchor, period, day)
    assert interval.start == boundary(anchor, period, k)
    assert interval.end == boundary(anchor, period, k + 1)


@given(anchor=anchors, period=any_periods, k=st.integers(-50, 300))
def test_consecutive_periods_touch_without_gap_or_overlap(anchor, period, k):
    assert boundary(anchor, period, k) < boundary(anchor, period, k + 1)
    assert period_index(anchor, period, boundary(anchor, period, k)) == k


@given(day=anchors, months=st.integers(-1200, 1200))
def test_add_months_is_relativedelta(day, months):
    from dateutil.relativedelta import relativedelta

    from core.periods import add_months

    assert add_months(day, months) == day + relativedelta(months=months)


def test_boundary_since_a_renewal_counts_on_the_anchors_grid():
    """billing-rules §1: "the renewal after next" and notice deadlines are boundaries of the
    anchor."""
    from core.periods import boundary, months_from

    anchor = date(2026, 1, 31)
    assert boundary(anchor, Period(1, Unit.MONTH), 1, since=date(2026, 4, 30)) == date(2026, 5, 31)
    assert boundary(anchor, Period(1, Unit.MONTH), -1, since=date(2026, 2, 28)) == date(2026, 1, 31)
    assert boundary(anchor, Period(3, Unit.MONTH), 1, since=date(2026, 4, 30)) == date(2026, 7, 31)
    assert boundary(anchor, Period(10, Unit.DAY), -1, since=date(2026, 4, 30)) == date(2026, 4, 20)
    leap = date(2028, 2, 29)
    assert boundary(leap, Period(1, Unit.YEAR), 1, since=date(2031, 2, 28)) == date(2032, 2, 29)
    assert months_from(anchor, date(2026, 2, 28)) == 1
    assert months_from(anchor, date(2026, 2, 27)) is None
    # Off the anchor's month grid (a 45-day calendar term): counted from that day itself.
    assert boundary(anchor, Period(1, Unit.MONTH), 1, since=date(2026, 3, 17)) == date(2026, 4, 17)
