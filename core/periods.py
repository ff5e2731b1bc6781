"""Period arithmetic (billing-rules §1).

BE EXTREMELY CAREFUL CHANGING THIS MODULE. Every billing date, proration and commitment end is
derived from it, and a one-day slip here is a wrong invoice for every customer.

The rules, in short:
- A period is `count × unit`, unit one of day, week, month, year.
- Periods are half-open `[start, end)`: the end is the next period's start.
- Boundary k of a subscription is `anchor + k × period`, always computed from the anchor and
  never by chaining (31 Jan + 1 month = 28 Feb, but boundary 2 is 31 Mar, not 28 Mar).
- Proration fraction = days from the change (inclusive) to the period end (exclusive) ÷ days of
  the whole period, with actual calendar days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from core.errors import ApplicationError
from core.i18n import _, ngettext


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def plural_label(self) -> str:
        return {
            Unit.DAY: _("days"),
            Unit.WEEK: _("weeks"),
            Unit.MONTH: _("months"),
            Unit.YEAR: _("years"),
        }[self]


@dataclass(frozen=True, slots=True)
class Period:
    """A length of time: `count × unit`. count >= 1."""

    count: int
    unit: Unit

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", Unit(self.unit))
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ApplicationError(_("A period needs a count of at least 1."), field="count")

    def delta(self, times: int = 1) -> relativedelta:
        n = self.count * times
        match self.unit:
            case Unit.DAY:
                return relativedelta(days=n)
            case Unit.WEEK:
                return relativedelta(days=7 * n)
            case Unit.MONTH:
                return relativedelta(months=n)
            case Unit.YEAR:
                return relativedelta(years=n)

    @property
    def months(self) -> int | None:
        """Length in months for month and year periods, None for day and week periods."""
        if self.unit == Unit.MONTH:
            return self.count
        if self.unit == Unit.YEAR:
            return 12 * self.count
        return None

    @property
    def days(self) -> int | None:
        """Length in days for day and week periods, None for month and year periods."""
        if self.unit == Unit.DAY:
            return self.count
        if self.unit == Unit.WEEK:
            return 7 * self.count
        return None

    def __str__(self) -> str:
        n = self.count
        match self.unit:
            case Unit.DAY:
                label = ngettext("%(n)s day", "%(n)s days", n)
            case Unit.WEEK:
                label = ngettext("%(n)s week", "%(n)s weeks", n)
            case Unit.MONTH:
                label = ngettext("%(n)s month", "%(n)s months", n)
            case Unit.YEAR:
                label = ngettext("%(n)s year", "%(n)s years", n)
        return label % {"n": n}


@lru_cache(maxsize=1024)
def period_of(count: int, unit: Unit | str) -> Period:
    """`Period(count, unit)`, shared: periods are immutable, and a billing run asks a model for
    its period hundreds of thousands of times."""
    return Period(count, Unit(unit))


MONTHLY = Period(1, Unit.MONTH)
QUARTERLY = Period(3, Unit.MONTH)
SEMI_ANNUAL = Period(6, Unit.MONTH)
YEARLY = Period(1, Unit.YEAR)
NAMED_PERIODS: dict[str, Period] = {
    "monthly": MONTHLY,
    "quarterly": QUARTERLY,
    "semi-annual": SEMI_ANNUAL,
    "yearly": YEARLY,
}


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open run of calendar days `[start, end)`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty interval [{self.start}, {self.end})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def shift(day: date, count: int, unit: Unit | str) -> date:
    """`day` moved by `count × unit` (negative counts move back). count 0 returns `day`."""
    if count == 0:
        return day
    sign = 1 if count > 0 else -1
    return day + Period(abs(count), Unit(unit)).delta(sign)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: date, months: int) -> date:
    """`day` + `months` calendar months, the day clamped to the month's length (31 Jan + 1 month
    = 28 or 29 Feb). The same as dateutil's relativedelta(months=…), which the tests check, but
    several times faster: the billing run computes hundreds of thousands of boundaries."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = _DAYS_IN_MONTH[month - 1]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return day.replace(year=year, month=month, day=min(day.day, last))


def months_from(anchor: date, day: date) -> int | None:
    """The m such that `add_months(anchor, m) == day`: where `day` sits on the month grid of
    `anchor` (28 Feb 2026 is month 1 of an anchor on 31 Jan); None when it is off the grid."""
    months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    return months if add_months(anchor, months) == day else None


def boundary(anchor: date, period: Period, k: int, *, since: date | None = None) -> date:
    """Boundary k of the timeline anchored on `anchor`: anchor + k × period, from the anchor.

    The one function for every date of a subscription's timeline: billing periods, commitment
    ends, renewals ("the renewal after next" is k = 1 since the next renewal), notice and freeze
    deadlines (k < 0 before a renewal). With `since` (itself a date of the timeline, such as a
    renewal) it counts k periods from there, still from the anchor's grid: monthly from 31 Jan,
    one month after the renewal of 30 Apr is 31 May, never 30 May (billing-rules §1, example 1.1).
    A `since` off the anchor's month grid (a calendar term of 45 days) is counted from itself.
    """
    if period.months is not None:
        if since is None:
            return add_months(anchor, period.months * k)
        offset = months_from(anchor, since)
        if offset is None:
            return add_months(since, period.months * k)
        return add_months(anchor, offset + period.months * k)
    assert period.days is not None  # a period counts months or days
    return (since or anchor) + timedelta(days=period.days * k)


# period_index and period_at are pure functions of immutable values (dates and frozen periods),
# called a dozen times per subscription by a billing run over many subscriptions that share
# anchors and dates: they are memoized. Results are ints and frozen Intervals, safe to share.
@lru_cache(maxsize=65536)
def period_index(anchor: date, period: Period, day: date) -> int:
    """The k such that boundary(k) <= day < boundary(k + 1); negative before the anchor."""
    if period.days is not None:
        return (day - anchor).days // period.days
    # Month-based: estimate from the month difference, then correct by at most a step or two
    # (the estimate can be one too high when the anchor's day of month is past `day`'s).
    months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    assert period.months is not None  # a period counts months or days
    k = months // period.months
    while boundary(anchor, period, k) > day:
        k -= 1
    while boundary(anchor, period, k + 1) <= day:
        k += 1
    return k


@lru_cache(maxsize=65536)
def period_at(anchor: date, period: Period, k: int) -> Interval:
    return Interval(boundary(anchor, period, k), boundary(anchor, period, k + 1))


def period_containing(anchor: date, period: Period, day: date) -> Interval:
    """The billing period, counted from `anchor`, that contains `day`."""
    return period_at(anchor, period, period_index(anchor, period, day))


def periods_between(anchor: date, period: Period, start: date, end: date) -> list[Interval]:
    """Every period from the anchor whose start lies in [start, end)."""
    k = period_index(anchor, period, start)
    if boundary(anchor, period, k) < start:
        k += 1
    result = []
    while (interval := period_at(anchor, period, k)).start < end:
        result.append(interval)
        k += 1
    return result


def proration_fraction(change: date, interval: Interval) -> Fraction:
    """Share of `interval` left from `change` (inclusive) to its end (exclusive), actual days."""
    if change not in interval:
        raise ValueError(f"{change} is outside the period {interval}")
    return Fraction((interval.end - change).days, interval.days)


def day_before(day: date) -> date:
    """The last day of a half-open interval ending on `day`, for people who read inclusive dates."""
    return day - timedelta(days=1)


def is_whole_multiple(outer: Period, inner: Period) -> bool:
    """Whether `outer` is a whole number of `inner` periods (billing-rules §8, example 8.1).

    Units must be compatible: year with month, week with day, or the same unit. A calendar month
    has no fixed number of days, so month/year never combines with day/week.
    """
    if outer.months is not None and inner.months is not None:
        return outer.months >= inner.months and outer.months % inner.months == 0
    if outer.days is not None and inner.days is not None:
        return outer.days >= inner.days and outer.days % inner.days == 0
    raise ApplicationError(
        _(
            "Units {outer} and {inner} cannot be compared: combine years with months, or weeks with days."
        ).format(outer=outer.unit.plural_label, inner=inner.unit.plural_label),
        code="incompatible_units",
    )


def check_whole_multiple(
    outer: Period, inner: Period, *, outer_label: str, inner_label: str, field: str | None = None
) -> None:
    """Refuse, with a message naming both periods, when `outer` is not a whole number of `inner`."""
    if (outer.months is None and inner.months is not None) or (
        outer.days is None and inner.days is not None
    ):
        raise ApplicationError(
            _(
                "The {outer_label} ({outer}) and the {inner_label} ({inner}) use incompatible "
                "units: combine years with months, or weeks with days."
            ).format(outer_label=outer_label, outer=outer, inner_label=inner_label, inner=inner),
            field=field,
        )
    if not is_whole_multiple(outer, inner):
        raise ApplicationError(
            _(
                "The {outer_label} ({outer}) must be a whole multiple of the {inner_label} ({inner})."
            ).format(outer_label=outer_label, outer=outer, inner_label=inner_label, inner=inner),
            field=field,
        )
