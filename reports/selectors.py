"""MRR reads over the stored segments (reports/mrr.py says what a segment is).

Every figure here is a SUM over `MrrSegment` rows live on a day — `start <= day < end` — so each
reads a fixed number of queries whatever the number of subscriptions or days asked for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from core.pricing import ZERO
from reports import mrr
from reports.models import MrrMonth, MrrSegment
from reports.months import month_end, month_start, next_month
from subscriptions.models import Customer, Subscription, SubscriptionEvent


@dataclass(frozen=True)
class MrrFilters:
    """What an MRR figure is restricted to (every field optional)."""

    currency: str | None = None
    plan_id: int | None = None
    partner_id: int | None = None  # sold by this partner (its account is invoiced)
    country: str | None = None  # the end customer's

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.plan_id, self.partner_id, self.country))

    def segments(self) -> QuerySet[MrrSegment]:
        qs = MrrSegment.objects.order_by()
        if self.currency:
            qs = qs.filter(currency=self.currency)
        if self.plan_id is not None:
            qs = qs.filter(plan_id=self.plan_id)
        if self.partner_id is not None:
            qs = qs.filter(partner_id=self.partner_id)
        if self.country:
            qs = qs.filter(country=self.country)
        return qs


NO_FILTERS = MrrFilters()


def live_on(day: date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}start__lte": day}) & (
        Q(**{f"{prefix}end__isnull": True}) | Q(**{f"{prefix}end__gt": day})
    )


def mrr_on(day: date, filters: MrrFilters = NO_FILTERS) -> dict[str, Decimal]:
    """MRR per currency on `day` (one query)."""
    rows = (
        filters.segments()
        .filter(live_on(day))
        .values_list("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return dict(rows)


def mrr_series(days: list[date], filters: MrrFilters = NO_FILTERS) -> dict[str, list[Decimal]]:
    """MRR per currency on each of `days` (ascending), in three queries whatever their number:
    MRR on the first day, then what starts and what ends on each day after it."""
    if not days:
        return {}
    first, last = days[0], days[-1]
    moves: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for day, currency, total in (
        filters.segments()
        .filter(start__gt=first, start__lte=last)
        .values_list("start", "currency")
        .annotate(total=Sum("amount"))
    ):
        moves[currency][day] += total
    for day, currency, total in (
        filters.segments()
        .filter(end__gt=first, end__lte=last)
        .values_list("end", "currency")
        .annotate(total=Sum("amount"))
    ):
        moves[currency][day] -= total
    base = mrr_on(first, filters)
    series: dict[str, list[Decimal]] = {}
    for currency in sorted(set(base) | set(moves)):
        running = base.get(currency, ZERO)
        changes = sorted(moves[currency].items())
        values, i = [], 0
        for day in days:
            while i < len(changes) and changes[i][0] <= day:
                running += changes[i][1]
                i += 1
            values.append(running)
        series[currency] = values
    return series


def active_on(day: date, filters: MrrFilters = NO_FILTERS) -> dict[str, tuple[int, int]]:
    """(subscriptions, customers) paying on `day`, per currency (one query)."""
    rows = (
        filters.segments()
        .filter(live_on(day))
        .values("currency")
        .annotate(
            subscriptions=Count("subscription_id", distinct=True),
            customers=Count("customer_id", distinct=True),
        )
        .order_by("currency")
    )
    return {row["currency"]: (row["subscriptions"], row["customers"]) for row in rows}


def moving_customers(start: date, end: date, filters: MrrFilters = NO_FILTERS) -> QuerySet:
    """The customers a segment starts or ends for after the end of day `start`, up to the end of
    day `end`: the only ones whose MRR can differ between the two (a subquery)."""
    return (
        filters.segments()
        .filter(Q(start__gt=start, start__lte=end) | Q(end__gt=start, end__lte=end))
        .values("customer_id")
    )


def live_counts(
    boundaries: list[date], filters: MrrFilters = NO_FILTERS, *, customers: bool = True
) -> dict[str, list[tuple[int, int]]]:
    """(paying subscriptions, paying customers) per currency on each of `boundaries`, in one
    query (a subscription has one segment live at most on a day: no distinct needed)."""
    counts: dict[str, Any] = {}
    for i, day in enumerate(boundaries):
        counts[f"s{i}"] = Count("pk", filter=live_on(day))
        if customers:
            counts[f"c{i}"] = Count("customer_id", filter=live_on(day), distinct=True)
    rows: Any = (  # its keys are the boundaries' (s0, c0…), named at run time
        filters.segments()
        .filter(start__lte=boundaries[-1])
        .filter(Q(end__isnull=True) | Q(end__gt=boundaries[0]))
        .values("currency")
        .annotate(**counts)
        .order_by()
    )
    return {
        row["currency"]: [
            (row[f"s{i}"], row[f"c{i}"] if customers else 0) for i in range(len(boundaries))
        ]
        for row in rows
    }


def customer_changes(
    start: date, end: date, filters: MrrFilters = NO_FILTERS
) -> list[tuple[int, str, Decimal, Decimal, bool]]:
    """The customers whose MRR differs between `start` and `end`: (customer, currency, MRR on
    start, MRR on end, had MRR before start), one query."""
    rows = (
        filters.segments()
        .filter(start__lte=end, customer_id__in=moving_customers(start, end, filters))
        .values("customer_id", "currency")
        .annotate(
            before=Coalesce(Sum("amount", filter=live_on(start)), ZERO),
            after=Coalesce(Sum("amount", filter=live_on(end)), ZERO),
            first=Min("start"),
        )
        .exclude(before=F("after"))
        .order_by("currency", "customer_id")
    )
    return [
        (r["customer_id"], r["currency"], r["before"], r["after"], r["first"] <= start)
        for r in rows
    ]


def movements(
    start: date, end: date, filters: MrrFilters = NO_FILTERS
) -> tuple[dict[str, mrr.Movements], list[mrr.Change]]:
    """MRR movements from the end of day `start` to the end of day `end`, per currency, and the
    customers' changes behind them (three queries). Every currency with MRR on either day has
    its `Movements`."""
    totals, changes = mrr.movements(customer_changes(start, end, filters))
    before, after = mrr_on(start, filters), mrr_on(end, filters)
    result: dict[str, mrr.Movements] = {}
    for currency in sorted(set(before) | set(after) | set(totals)):
        moved = totals.get(currency) or mrr.Movements(currency)
        moved.start = before.get(currency, ZERO)
        moved.end = after.get(currency, ZERO)
        result[currency] = moved
    return result, changes


@dataclass(frozen=True)
class MonthChanges:
    """What a month's drill-down lists: its days, its movements and the customers' changes,
    the largest first (of one movement when asked)."""

    start: date
    end: date
    movements: dict[str, mrr.Movements]
    changes: list[mrr.Change]


def month_changes(
    month: date, filters: MrrFilters = NO_FILTERS, *, today: date, kind: str | None = None
) -> MonthChanges:
    start, end = month_bounds(month, today)
    moved, changes = movements(start, end, filters)
    chosen = sorted((c for c in changes if not kind or c.kind == kind), key=largest_first)
    return MonthChanges(start, end, moved, chosen)


def month_movements(
    month: date, filters: MrrFilters = NO_FILTERS
) -> tuple[dict[str, mrr.Movements], list[mrr.Change]]:
    """A month's movements: from its opening MRR (the end of the day before its first) to its
    closing MRR (the end of its last day), so what starts on the 1st is that month's."""
    start, end = month_bounds(month)
    return movements(start, end, filters)


def month_bounds(month: date, until: date | None = None) -> tuple[date, date]:
    """The days whose end-of-day MRR open and close a month; `until` cuts it short."""
    last = month_end(month)
    return month - timedelta(days=1), min(last, until) if until else last


def boundaries_of(months: list[date], until: date | None = None) -> list[date]:
    """The days that open each of consecutive months, and the one that closes the last;
    `until` cuts the last month short (the current month, so far)."""
    return [month_bounds(m)[0] for m in months] + [month_bounds(months[-1], until)[1]]


def movements_by_month(
    months: list[date], filters: MrrFilters = NO_FILTERS, *, until: date | None = None
) -> dict[str, list[mrr.Movements]]:
    """Each month's movements per currency, for consecutive `months` (first days), in five
    queries whatever their number: the MRR on each boundary of the customers whose MRR moved
    (classified in Python), the totals and the paying customers on each boundary."""
    if not months:
        return {}
    boundaries = boundaries_of(months, until)
    sums = {
        f"b{i}": Coalesce(Sum("amount", filter=live_on(day)), ZERO)
        for i, day in enumerate(boundaries)
    }
    rows: Any = (  # its keys are the boundaries' (b0, b1…), named at run time
        filters.segments()
        # ...and every earlier one of theirs: "new" needs their first
        .filter(
            start__lte=boundaries[-1],
            customer_id__in=moving_customers(boundaries[0], boundaries[-1], filters),
        )
        .values("customer_id", "currency")
        .annotate(first=Min("start"), **sums)
        .order_by()
    )
    totals = mrr_series(boundaries, filters)
    counts = live_counts(boundaries, filters)
    result: dict[str, list[mrr.Movements]] = {}
    for currency in sorted(set(totals) | set(counts)):
        values = totals.get(currency, [ZERO] * len(boundaries))
        paying = counts.get(currency, [(0, 0)] * len(boundaries))
        result[currency] = [
            mrr.Movements(
                currency,
                start=values[i],
                end=values[i + 1],
                customers_start=paying[i][1],
                customers_end=paying[i + 1][1],
            )
            for i in range(len(months))
        ]
    for row in rows:
        months_of = result[row["currency"]]
        values = [row[f"b{i}"] for i in range(len(boundaries))]
        for i, moved in enumerate(months_of):
            before, after = values[i], values[i + 1]
            kind = mrr.classify(before, after, seen_before=row["first"] <= boundaries[i])
            if kind is not None:
                moved.amounts[kind] += abs(after - before)
                moved.customers[kind] += 1
    return result


def monthly_history(months: list[date]) -> dict[str, list[mrr.Movements]]:
    """The stored movements of past months (MrrMonth), per currency, in the order of `months`."""
    found: dict[tuple[date, str], MrrMonth] = {
        (row.month, row.currency): row for row in MrrMonth.objects.filter(month__in=months)
    }
    currencies = sorted({currency for _m, currency in found})
    history: dict[str, list[mrr.Movements]] = defaultdict(list)
    for currency in currencies:
        for month in months:
            row = found.get((month, currency))
            moved = mrr.Movements(currency)
            if row is not None:
                moved.start, moved.end = row.mrr_start, row.mrr_end
                moved.customers_start, moved.customers_end = row.customers_start, row.customers_end
                moved.customers.update(row.movers)
                for kind in mrr.KINDS:
                    moved.amounts[kind] = getattr(row, kind)
            history[currency].append(moved)
    return dict(history)


def customer_names(ids: set[int]) -> dict[int, str]:
    return dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))


def largest_first(change: mrr.Change) -> tuple:
    """The order changes are listed in: by movement, the largest first, then by customer."""
    return (mrr.KINDS.index(change.kind), -abs(change.delta), change.customer_id)


@dataclass(frozen=True)
class ChangeDetail:
    change: mrr.Change
    customer: Customer
    segments: list[MrrSegment]
    events: list[SubscriptionEvent]


def change_details(
    changes: list[mrr.Change], start: date, end: date, filters: MrrFilters = NO_FILTERS
) -> list[ChangeDetail]:
    """What made each change: the customer, its segments live on either day or starting
    between them, and its subscriptions' timeline entries effective after `start` up to `end`
    (three queries)."""
    ids = {c.customer_id for c in changes}
    customers = Customer.objects.in_bulk(ids)
    segments: dict[int, list[MrrSegment]] = defaultdict(list)
    for segment in (
        filters.segments()
        .filter(customer_id__in=ids)
        .filter(live_on(start) | live_on(end) | Q(start__gt=start, start__lte=end))
        .select_related("subscription", "plan")
        .order_by("subscription_id", "start")
    ):
        segments[segment.customer_id].append(segment)
    subscription_ids = {s.subscription_id for rows in segments.values() for s in rows}
    events: dict[int, list[SubscriptionEvent]] = defaultdict(list)
    for event in SubscriptionEvent.objects.filter(
        subscription_id__in=subscription_ids,
        effective_date__gt=start,
        effective_date__lte=end,
        revoked_by__isnull=True,
    ).select_related("subscription"):
        events[event.subscription.customer_id].append(event)
    return [
        ChangeDetail(c, customers[c.customer_id], segments[c.customer_id], events[c.customer_id])
        for c in changes
        if c.customer_id in customers
    ]


def breakdown(
    day: date, by: str, filters: MrrFilters = NO_FILTERS
) -> list[tuple[str, str, Decimal, int]]:
    """MRR on `day` by plan, partner or country: (label, currency, MRR, subscriptions)."""
    field = {"plan": "plan__code", "partner": "partner__name", "country": "country"}[by]
    rows = (
        filters.segments()
        .filter(live_on(day))
        .values_list(field, "currency")
        .annotate(total=Sum("amount"), subscriptions=Count("subscription_id", distinct=True))
        .order_by("currency", "-total")
    )
    return [(label or "", currency, total, n) for label, currency, total, n in rows]


# A trial converts when its subscription still runs on the day the trial ends (its first
# billed day).
CONVERTED = Q(end_date__isnull=True) | Q(end_date__gt=F("trial_end"))


def trials_ended(start: date, end: date, filters: MrrFilters = NO_FILTERS) -> dict[str, tuple]:
    """Trials that ended in [start, end) per currency: (ended, converted). A trial converts when
    the subscription still runs on the day it ends (its first billed day)."""
    qs = _subscriptions(filters).filter(trial_end__gte=start, trial_end__lt=end)
    rows = qs.values("currency").annotate(
        ended=Count("pk"),
        converted=Count("pk", filter=CONVERTED),
    )
    return {row["currency"]: (row["ended"], row["converted"]) for row in rows}


def _subscriptions(filters: MrrFilters) -> QuerySet[Subscription]:
    qs = Subscription.objects.order_by()
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.plan_id is not None:
        qs = qs.filter(plan_id=filters.plan_id)
    if filters.partner_id is not None:
        qs = qs.filter(
            Q(customer__partner_link__partner_id=filters.partner_id)
            | Q(bill_to__partner_account__id=filters.partner_id)
        )
    if filters.country:
        qs = qs.filter(customer__country=filters.country)
    return qs


def period_metrics(
    start: date, end: date, filters: MrrFilters = NO_FILTERS
) -> dict[str, mrr.Metrics]:
    """ARR, ARPU, churn rates, net retention and trial conversion over [start, end), per
    currency, MRR and counts taken on `end` (six queries)."""
    moved, _changes = movements(start, end, filters)
    at_start, at_end = active_on(start, filters), active_on(end, filters)
    trials = trials_ended(start, end, filters)
    return {
        currency: mrr.metrics(
            m,
            subscriptions=at_end.get(currency, (0, 0))[0],
            customers=at_end.get(currency, (0, 0))[1],
            customers_start=at_start.get(currency, (0, 0))[1],
            trials=trials.get(currency, (0, 0)),
        )
        for currency, m in moved.items()
    }


def trials_by_month(months: list[date], filters: MrrFilters = NO_FILTERS) -> dict:
    """(ended, converted) trials per (currency, month) over the months (one query)."""
    qs = _subscriptions(filters).filter(
        trial_end__gte=months[0], trial_end__lt=next_month(months[-1])
    )
    rows = (
        qs.annotate(month=TruncMonth("trial_end"))
        .values("currency", "month")
        .annotate(
            ended=Count("pk"),
            converted=Count("pk", filter=CONVERTED),
        )
        .order_by()
    )
    return {(r["currency"], r["month"]): (r["ended"], r["converted"]) for r in rows}


@dataclass(frozen=True)
class MonthFigures:
    month: date
    movements: mrr.Movements
    metrics: mrr.Metrics


def monthly_figures(
    months: list[date], filters: MrrFilters = NO_FILTERS, *, today: date
) -> dict[str, list[MonthFigures]]:
    """Each month's movements and rates per currency: the closed months from the stored
    history when nothing is filtered, else (and for the current month, so far) read live. A
    fixed number of queries whatever the number of months or subscriptions."""
    if not months:
        return {}
    current = month_start(today)
    until = today
    stored_months = [m for m in months if m < current] if not filters.any else []
    live_months = [m for m in months if m not in stored_months]
    history = monthly_history(stored_months) if stored_months else {}
    if filters.currency:
        history = {c: v for c, v in history.items() if c == filters.currency}
    live = movements_by_month(live_months, filters, until=until) if live_months else {}
    boundaries = boundaries_of(months, until if months[-1] >= current else None)
    subscriptions = live_counts(boundaries, filters, customers=False)
    trials = trials_by_month(months, filters)
    result: dict[str, list[MonthFigures]] = {}
    for currency in sorted(set(history) | set(live)):
        stored = dict(zip(stored_months, history.get(currency, []), strict=False))
        fresh = dict(zip(live_months, live.get(currency, []), strict=False))
        counts = [n for n, _c in subscriptions.get(currency, [(0, 0)] * len(boundaries))]
        rows = []
        for i, month in enumerate(months):
            moved = stored.get(month) or fresh.get(month) or mrr.Movements(currency)
            rows.append(
                MonthFigures(
                    month,
                    moved,
                    mrr.metrics(
                        moved,
                        subscriptions=counts[i + 1],
                        customers=moved.customers_end,
                        customers_start=moved.customers_start,
                        trials=trials.get((currency, month), (0, 0)),
                    ),
                )
            )
        result[currency] = rows
    return result
