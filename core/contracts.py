"""Product-contract arithmetic (billing-rules §8): issue schedules and credit balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.errors import ApplicationError
from core.i18n import _
from core.periods import Interval


@dataclass(frozen=True, slots=True)
class Issue:
    number: int  # 1-based within its billing period
    day: date
    chargeable: bool


def issue_schedule(period: Interval, *, issues: int, chargeable: int) -> list[Issue]:
    """The issues of one billing period, evenly spread from its start; the free ones come last.

    Issue i (0-based) falls on start + floor(i × days ÷ issues), so six issues in a 30-day
    period come every five days; issues 1..chargeable are charged, the rest are free.
    """
    if issues < 1:
        raise ApplicationError(_("A period has at least one issue."), field="issues_per_period")
    if not 0 <= chargeable <= issues:
        raise ApplicationError(
            _("There cannot be more chargeable issues than issues."), field="chargeable_issues"
        )
    return [
        Issue(
            number=i + 1,
            day=period.start + timedelta(days=(i * period.days) // issues),
            chargeable=i < chargeable,
        )
        for i in range(issues)
    ]
