"""Usage over a period (billing-rules §12): which events count in which billing period, and a
metric's aggregate of them.

When an event counts. Each event is stored with `counted_at = max(timestamp, received − grace)`
(`settings.USAGE_GRACE_HOURS`): an event that arrives late, within the grace window after its
period ended, still counts in its period; one that arrives later counts where the window closed
for it, in the next. So the usage of a period [start, end) is final once its window closed,
at `end` 00:00 (billing time zone) + grace: no event received after that can be counted in it.
The billing run invoices a period's usage only then (`window_closed`), and what it invoiced
never changes afterwards.

Aggregation is one SQL query per metric and window for many subscriptions at once
(`usage_quantities`): the billing run asks it for a chunk, pages and the API for one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from catalog.models import BillableMetric
from core.clock import billing_zone
from subscriptions.models import UsageEvent

ZERO = Decimal("0")
Aggregation = BillableMetric.Aggregation


def grace() -> timedelta:
    return timedelta(hours=settings.USAGE_GRACE_HOURS)


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the billing time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=billing_zone())


def counted_at(timestamp: datetime, received: datetime) -> datetime:
    """When an event counts (see the module's docstring): its timestamp, unless it arrived after
    the grace window following its timestamp closed."""
    return max(timestamp, received - grace())


def window_closed(end: date, now: datetime | None = None) -> bool:
    """Whether the usage of a period ending on `end` (exclusive) is final."""
    return (now or timezone.now()) >= day_start(end) + grace()


def _filtered(metric: BillableMetric) -> Q:
    """The metric's property filters as a condition on the events' properties (as text, so
    that 1 and "1" match the same way on PostgreSQL and SQLite)."""
    condition = Q()
    for key, values in (metric.filters or {}).items():
        texts = [json.dumps(v) if isinstance(v, bool) else str(v) for v in values]
        condition &= Q(**{f"properties__{key}__in": texts}) | Q(
            **{f"properties__{key}__in": values}
        )
    return condition


def _number(field: str):
    return Cast(
        KeyTextTransform(field, "properties"), DecimalField(max_digits=30, decimal_places=6)
    )


def events_in(
    metric: BillableMetric, subscription_ids: Iterable[int], start: date, end: date
) -> QuerySet[UsageEvent]:
    """The events a metric counts for these subscriptions in [start, end)."""
    return UsageEvent.objects.filter(
        _filtered(metric),
        subscription_id__in=list(subscription_ids),
        code=metric.event_code,
        counted_at__gte=day_start(start),
        counted_at__lt=day_start(end),
    )


def _quantity_rows(metric: BillableMetric, events: QuerySet[UsageEvent], start: date, end: date):
    """The metric's aggregate of `events` per subscription, as rows (subscription_id, q)."""
    match metric.aggregation:
        case Aggregation.COUNT:
            return events.values("subscription_id").annotate(q=Count("id"))
        case Aggregation.COUNT_UNIQUE:
            return events.values("subscription_id").annotate(
                q=Count(KeyTextTransform(metric.field, "properties"), distinct=True)
            )
        case Aggregation.SUM:
            return events.values("subscription_id").annotate(q=Sum(_number(metric.field)))
        case Aggregation.MAX:
            return events.values("subscription_id").annotate(q=Max(_number(metric.field)))
        case Aggregation.LATEST:
            # The value of the last event counted (by timestamp, then as received).
            last = (
                UsageEvent.objects.filter(
                    _filtered(metric),
                    subscription_id=OuterRef("subscription_id"),
                    code=metric.event_code,
                    counted_at__gte=day_start(start),
                    counted_at__lt=day_start(end),
                )
                .exclude(**{f"properties__{metric.field}__isnull": True})
                .order_by("-timestamp", "-id")
                .values_list(_number(metric.field))[:1]
            )
            # Count() makes it one row per subscription (GROUP BY), with its last value; the
            # count itself is not selected, so that every aggregation gives the same columns.
            return (
                events.values("subscription_id")
                .annotate(n=Count("id"), q=Subquery(last))
                .values("subscription_id", "q")
            )
        case _:  # pragma: no cover - the choices are closed
            raise AssertionError(metric.aggregation)


def usage_quantities(
    metric: BillableMetric, subscription_ids: Sequence[int], start: date, end: date
) -> dict[int, Decimal]:
    """The metric's usage in [start, end) of each subscription (0 when it has none), in one
    query whatever the number of subscriptions."""
    quantities = dict.fromkeys(subscription_ids, ZERO)
    if not subscription_ids:
        return quantities
    events = events_in(metric, subscription_ids, start, end).order_by()
    for row in _quantity_rows(metric, events, start, end):
        quantities[row["subscription_id"]] = Decimal(row["q"] or 0).normalize() + ZERO
    return quantities


@dataclass(frozen=True)
class Window:
    """A metric's usage to read for some subscriptions over [start, end)."""

    metric: BillableMetric
    subscription_ids: tuple[int, ...]
    start: date
    end: date


def usage_quantities_many(windows: Sequence[Window]) -> list[dict[int, Decimal]]:
    """usage_quantities of each window (several metrics and periods), in one query whatever
    the number of windows and subscriptions (their aggregates joined by UNION ALL): what
    entitlements read for the limits of many customers at once."""
    results: list[dict[int, Decimal]] = [dict.fromkeys(w.subscription_ids, ZERO) for w in windows]
    parts = [
        _quantity_rows(
            w.metric,
            events_in(w.metric, w.subscription_ids, w.start, w.end).order_by(),
            w.start,
            w.end,
        ).annotate(window=Value(index))
        for index, w in enumerate(windows)
        if w.subscription_ids
    ]
    if not parts:
        return results
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for row in rows:
        results[row["window"]][row["subscription_id"]] = Decimal(row["q"] or 0).normalize() + ZERO
    return results


def usage_quantity(metric: BillableMetric, subscription_id: int, start: date, end: date) -> Decimal:
    return usage_quantities(metric, [subscription_id], start, end)[subscription_id]


class UsageReader:
    """The usage quantities pricing reads for a set of subscriptions (a billing chunk, a page):
    one query per metric and window, for all of them, remembered."""

    def __init__(self, subscription_ids: Sequence[int]) -> None:
        self.subscription_ids = list(subscription_ids)
        self._read: dict[tuple[int, date, date], dict[int, Decimal]] = {}

    def quantity(
        self, metric: BillableMetric, subscription_id: int, start: date, end: date
    ) -> Decimal:
        key = (metric.pk, start, end)
        if key not in self._read:
            ids = self.subscription_ids if subscription_id in self.subscription_ids else []
            self._read[key] = usage_quantities(metric, ids or [subscription_id], start, end)
        return self._read[key].get(subscription_id, ZERO)
