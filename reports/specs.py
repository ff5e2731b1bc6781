"""What a report is: the filters it is asked for, what it returns, how it is listed
(reports/registry.py lists them, reports/views.py shows them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils.functional import Promise
from django.utils.safestring import SafeString

from catalog.models import Plan
from partners.models import Partner
from reports.months import months_between
from reports.tables import Table

# Colour classes given to the series of a chart in turn (static/cadence/reports.css).
PALETTE = [f"series-{n}" for n in range(1, 9)]


@dataclass(frozen=True)
class ReportFilters:
    """What every report is asked for: the months from `start`'s to `end`'s (both included,
    first days of months), and optionally one currency, one plan, one partner."""

    start: date
    end: date
    currency: str = ""
    plan: Plan | None = None
    partner: Partner | None = None

    @property
    def months(self) -> list[date]:
        return months_between(self.start, self.end)

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m}_{self.end:%Y-%m}"


@dataclass
class ReportResult:
    charts: list[SafeString]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportSpec:
    title: str | Promise
    description: str | Promise
    build: Callable[[ReportFilters], ReportResult]
