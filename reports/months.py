"""Calendar months as the reports count them: a month is named by its first day. The one place
for this arithmetic (on core.periods.add_months, which keeps month ends right)."""

from __future__ import annotations

from datetime import date, timedelta

from core.periods import add_months


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return add_months(month_start(day), 1)


def month_end(month: date) -> date:
    """The last day of `month`'s month."""
    return next_month(month) - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def months_back(today: date, count: int) -> list[date]:
    """The first days of the `count` months ending with today's."""
    current = month_start(today)
    return months_between(add_months(current, 1 - count), current)
