"""Entitlements: what a customer may use, as its live subscriptions give it (docs/billing-rules.md,
"Entitlements").

Each subscription grants the features of its plan (catalog PlanFeature) and of the add-on
bundles in its state (BundleFeature × the add-on's count). Across the customer's subscriptions:

- an on/off feature is on when any subscription enables it;
- a limit is the sum of the enabled limits; an unlimited one (empty limit) wins;
- a limit counted against usage (`Feature.metric`) comes with the usage so far: each granting
  subscription's usage in its own current billing period (subscriptions.usage), summed.

Only subscriptions with access count (`Subscription.has_access`: live, not suspended for
non-payment) and, among them, those running on the day by their timeline (started, fulfilled,
not ended by then: the answer does not wait for the nightly run, billing-rules §1). A
subscription's plan and add-ons are its timeline folded on the day.

The cache. The features (who grants what, the limits, each subscription's period) are kept in
Django's cache under a key that changes whenever they may: the customer's subscriptions' count,
how many have access, their latest `updated_at` and their latest timeline entry (every change —
plan, add-on, cancellation, end, suspension, reactivation — appends one, and the services and
the billing run's advance set `updated_at`), and the catalog's latest audit row of features,
plan features, bundle features and metrics (django-simple-history writes one for every save
and delete, the admin's included). Reading that version is one small query, for one
customer or a batch of them; nothing has to remember to invalidate, and several web processes each with their
own cache agree. The day is in the key too (a change scheduled for a date takes effect then);
an entry expires after a day.

The usage numbers are not cached: they change with every event, and the usage ingestion refuses
events beyond a hard limit from them — a number a few seconds old would let a burst through.
They cost one query for all the metrics and periods at once (usage_quantities_many).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Max, Q, Subquery

from catalog.models import BillableMetric, BundleFeature, Feature, PlanFeature
from core import clock
from core.periods import Interval, period_containing
from subscriptions import timeline
from subscriptions.models import Customer, Subscription, SubscriptionEvent
from subscriptions.usage import Window, usage_quantities_many

ZERO = Decimal("0")
Kind = Feature.Kind
Enforcement = Feature.Enforcement

CACHE_PREFIX = "entitlements:v1"
CACHE_SECONDS = 24 * 3600

# The catalog rows features are read from; their audit rows version the cache.
CATALOG_MODELS = (Feature, PlanFeature, BundleFeature, BillableMetric)


# What is given -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureValue:
    """What a plan, an add-on, a subscription or a customer gives one feature: on or off, and
    for a limit feature its limit (None: unlimited; 0 when off)."""

    feature: Feature
    enabled: bool
    limit: Decimal | None

    @property
    def is_limit(self) -> bool:
        return self.feature.kind == Kind.LIMIT


def combine(values: Iterable[FeatureValue]) -> dict[int, FeatureValue]:
    """Several values of the same features added up, by feature id: on if any is on; the limits
    of those on summed, unlimited if one of them is; off, a limit is 0."""
    enabled: dict[int, bool] = {}
    limits: dict[int, Decimal | None] = {}
    features: dict[int, Feature] = {}
    for value in values:
        fid = value.feature.pk
        features[fid] = value.feature
        enabled.setdefault(fid, False)
        limits.setdefault(fid, ZERO)
        if not value.enabled:
            continue
        enabled[fid] = True
        current = limits[fid]
        limits[fid] = None if current is None or value.limit is None else current + value.limit
    return {
        fid: FeatureValue(feature, enabled[fid], _limit(feature, enabled[fid], limits[fid]))
        for fid, feature in features.items()
    }


def _limit(feature: Feature, enabled: bool, limit: Decimal | None) -> Decimal | None:
    """A limit feature's limit (0 when off); none for an on/off feature."""
    if feature.kind != Kind.LIMIT:
        return None
    return limit if enabled else ZERO


def _value(row: PlanFeature | BundleFeature, times: int = 1) -> FeatureValue:
    limit = None if row.limit is None else Decimal(row.limit) * times
    return FeatureValue(row.feature, row.enabled, _limit(row.feature, row.enabled, limit))


@dataclass(frozen=True)
class SubscriptionFeatures:
    """What one subscription gives (its plan and add-ons on the day), and its billing period
    then (the one its usage counts in)."""

    subscription_id: int
    plan_id: int
    period: Interval | None
    values: tuple[FeatureValue, ...]

    def get(self, code: str) -> FeatureValue | None:
        return next((v for v in self.values if v.feature.code == code), None)


# What the customer may use ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entitlement:
    """A feature as the customer has it: on/off, its limit (None: unlimited), and for a limit
    counted against usage what is used in the current period and what remains."""

    feature: Feature
    enabled: bool
    limit: Decimal | None
    granted_by: tuple[int, ...]  # the subscriptions that enable it
    used: Decimal | None = None
    period: Interval | None = None
    counted_in: tuple[int, ...] = ()  # the subscriptions whose usage `used` sums

    @property
    def code(self) -> str:
        return self.feature.code

    @property
    def name(self) -> str:
        return self.feature.display_name

    @property
    def kind(self) -> str:
        return self.feature.kind

    @property
    def unit(self) -> str:
        return self.feature.display_unit

    @property
    def is_limit(self) -> bool:
        return self.feature.kind == Kind.LIMIT

    @property
    def enforcement(self) -> str:
        return self.feature.enforcement if self.is_limit else Enforcement.NONE

    @property
    def metric(self) -> BillableMetric | None:
        return self.feature.metric if self.is_limit else None

    @property
    def remaining(self) -> Decimal | None:
        """What is left of the limit this period (never below 0); None without a count or a
        limit."""
        if self.used is None or self.limit is None:
            return None
        return max(self.limit - self.used, ZERO)

    @property
    def exceeded(self) -> bool:
        return self.used is not None and self.limit is not None and self.used > self.limit


@dataclass(frozen=True)
class Entitlements:
    customer_id: int
    day: date
    features: tuple[Entitlement, ...]
    subscriptions: tuple[SubscriptionFeatures, ...] = field(default=())

    def __iter__(self):
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    def get(self, code: str) -> Entitlement | None:
        return next((e for e in self.features if e.code == code), None)

    def is_enabled(self, code: str) -> bool:
        entitlement = self.get(code)
        return entitlement is not None and entitlement.enabled

    def of_subscription(self, subscription_id: int) -> SubscriptionFeatures | None:
        return next((s for s in self.subscriptions if s.subscription_id == subscription_id), None)


# Reading (cached) ------------------------------------------------------------------------------


def _catalog_versions() -> dict[str, Max]:
    """The latest audit row of each catalog model features are read from (the latest of each by
    its primary key's index), as aggregates of the versions' query."""
    return {
        f"catalog{i}": Max(
            Subquery(
                model.history.model.objects.order_by("-history_id").values("history_id")[:1]  # type: ignore[attr-defined]
            )
        )
        for i, model in enumerate(CATALOG_MODELS)
    }


def _versions(customer_ids: Sequence[int]) -> dict[int, tuple]:
    """Per customer, what changes whenever its features may (the module's docstring), in one
    query: its subscriptions' count, how many have access, their latest change and timeline
    entry, and the catalog's latest audit rows. A customer without subscriptions has none."""
    rows = (
        Subscription.objects.filter(customer_id__in=list(customer_ids))
        .order_by()
        .values("customer_id")
        .annotate(
            n=Count("id", distinct=True),
            access=Count(
                "id",
                distinct=True,
                filter=Q(status__in=Subscription.LIVE_STATUSES, suspended_since__isnull=True),
            ),
            updated=Max("updated_at"),
            entry=Max("events__id"),
            **_catalog_versions(),
        )
    )
    versions: dict[int, tuple] = dict.fromkeys(customer_ids, (0,))
    for row in rows:
        versions[row["customer_id"]] = tuple(
            value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in sorted(row.items())
            if name != "customer_id"
        )
    return versions


def _key(customer_id: int, day: date, version: tuple) -> str:
    digest = hashlib.sha256(repr(version).encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{customer_id}:{day.isoformat()}:{digest}"


def _period(subscription: Subscription, day: date) -> Interval | None:
    """The billing period containing `day` (the usage counted against a limit resets at its
    end); during a trial, the trial [start, first billing day)."""
    anchor = subscription.anchor_date
    if anchor is None:
        return None
    if day < anchor:
        return (
            Interval(subscription.start_date, anchor) if subscription.start_date < anchor else None
        )
    return period_containing(anchor, subscription.plan.billing_period, day)


def _load(customer_ids: Sequence[int], day: date) -> dict[int, tuple[SubscriptionFeatures, ...]]:
    """The features each customer's subscriptions give on `day`, in three queries whatever the
    number of customers, subscriptions and features (two without add-ons)."""
    # The subscriptions come with their timeline (every subscription has its creation entry):
    # one query for both.
    subscriptions: dict[int, Subscription] = {}
    events: dict[int, list[SubscriptionEvent]] = defaultdict(list)
    for event in (
        SubscriptionEvent.objects.filter(
            subscription__customer_id__in=list(customer_ids),
            subscription__status__in=Subscription.LIVE_STATUSES,
            subscription__suspended_since__isnull=True,
            revoked_by__isnull=True,
        )
        .select_related("subscription__plan")
        .order_by("subscription_id", "effective_date", "id")
    ):
        subscriptions.setdefault(event.subscription_id, event.subscription)
        events[event.subscription_id].append(event)
    states: dict[int, tuple[int, timeline.State]] = {}  # subscription id → (plan id, state)
    for subscription in subscriptions.values():
        state = timeline.state_on(events[subscription.pk], day)
        if subscription.has_access and state.is_running_on(day) and state.plan_id:
            states[subscription.pk] = (state.plan_id, state)
    plan_ids = {plan_id for plan_id, _ in states.values()}
    bundle_ids = {b for _, state in states.values() for b in state.addons}
    by_plan: dict[int, list[PlanFeature]] = defaultdict(list)
    if plan_ids:
        for plan_row in PlanFeature.objects.filter(plan_id__in=plan_ids).select_related(
            "feature__metric"
        ):
            by_plan[plan_row.plan_id].append(plan_row)
    by_bundle: dict[int, list[BundleFeature]] = defaultdict(list)
    if bundle_ids:
        for bundle_row in BundleFeature.objects.filter(bundle_id__in=bundle_ids).select_related(
            "feature__metric"
        ):
            by_bundle[bundle_row.bundle_id].append(bundle_row)
    result: dict[int, list[SubscriptionFeatures]] = {c: [] for c in customer_ids}
    for subscription in subscriptions.values():
        if subscription.pk not in states:
            continue
        plan_id, state = states[subscription.pk]
        given = [_value(row) for row in by_plan[plan_id]]
        for bundle_id, count in sorted(state.addons.items()):
            given += [_value(row, count) for row in by_bundle[bundle_id]]
        values = sorted(combine(given).values(), key=lambda v: v.feature.code)
        result[subscription.customer_id].append(
            SubscriptionFeatures(
                subscription.pk, plan_id, _period(subscription, day), tuple(values)
            )
        )
    return {c: tuple(parts) for c, parts in result.items()}


def _features_of(
    customer_ids: Sequence[int], day: date
) -> dict[int, tuple[SubscriptionFeatures, ...]]:
    """The cached part, for many customers: one query when all are cached, four otherwise."""
    customer_ids = list(dict.fromkeys(customer_ids))
    if not customer_ids:
        return {}
    versions = _versions(customer_ids)
    keys = {c: _key(c, day, versions[c]) for c in customer_ids}
    cached = cache.get_many(list(keys.values()))
    found = {c: cached[k] for c, k in keys.items() if k in cached}
    missing = [c for c in customer_ids if c not in found]
    if missing:
        loaded = _load(missing, day)
        cache.set_many({keys[c]: loaded[c] for c in missing}, CACHE_SECONDS)
        found.update(loaded)
    return found


def _usage_windows(parts: Iterable[SubscriptionFeatures], feature_ids: set[int] | None = None):
    """One usage window per (metric, period) of the limits counted against usage."""
    windows: dict[tuple[int, date, date], tuple[BillableMetric, list[int]]] = {}
    for part in parts:
        if part.period is None:
            continue
        for value in part.values:
            metric = value.feature.metric
            if not (value.is_limit and metric is not None):
                continue
            if feature_ids is not None and value.feature.pk not in feature_ids:
                continue
            key = (metric.pk, part.period.start, part.period.end)
            ids = windows.setdefault(key, (metric, []))[1]
            if part.subscription_id not in ids:
                ids.append(part.subscription_id)
    return [
        Window(metric, tuple(ids), start, end) for (_, start, end), (metric, ids) in windows.items()
    ]


def _used(
    parts: Iterable[SubscriptionFeatures], feature_ids: set[int] | None = None
) -> dict[tuple[int, int], Decimal]:
    """Usage so far by (metric id, subscription id), in one query."""
    windows = _usage_windows(parts, feature_ids)
    used: dict[tuple[int, int], Decimal] = {}
    for window, quantities in zip(windows, usage_quantities_many(windows), strict=True):
        for subscription_id, quantity in quantities.items():
            used[(window.metric.pk, subscription_id)] = quantity
    return used


def _overlap(periods: Sequence[Interval]) -> Interval | None:
    """The days every period shares (they all contain the day asked): when the usage summed
    over them holds; it changes at the end, when the first of them resets."""
    if not periods:
        return None
    return Interval(max(p.start for p in periods), min(p.end for p in periods))


def _entitlements(
    parts: Sequence[SubscriptionFeatures], used: Mapping[tuple[int, int], Decimal]
) -> list[Entitlement]:
    by_feature: dict[int, list[tuple[SubscriptionFeatures, FeatureValue]]] = defaultdict(list)
    for part in parts:
        for value in part.values:
            by_feature[value.feature.pk].append((part, value))
    result = []
    for grants in by_feature.values():
        total = combine(v for _, v in grants)[grants[0][1].feature.pk]
        granting = [p for p, v in grants if v.enabled]
        entitlement = Entitlement(
            total.feature, total.enabled, total.limit, tuple(p.subscription_id for p in granting)
        )
        metric = total.feature.metric
        if total.is_limit and metric is not None:
            # The usage of the subscriptions enabling it; of a limit off everywhere (0), the
            # usage of those that have it off (what the ingestion may refuse).
            having = granting if total.enabled else [p for p, _ in grants]
            counted = [p for p in having if p.period is not None]
            entitlement = dataclasses.replace(
                entitlement,
                used=sum((used.get((metric.pk, p.subscription_id), ZERO) for p in counted), ZERO),
                period=_overlap([p.period for p in counted if p.period is not None]),
                counted_in=tuple(p.subscription_id for p in counted),
            )
        result.append(entitlement)
    return sorted(result, key=lambda e: e.code)


def customer_entitlements(*, customer: Customer, day: date | None = None) -> Entitlements:
    """Every feature of the customer's subscriptions with access on `day` (default: today):
    on/off, limits summed, usage so far against the limits counted — in at most two queries
    when its features are cached, five when they are not, whatever their number."""
    day = day or clock.today()
    parts = _features_of([customer.pk], day)[customer.pk]
    return Entitlements(customer.pk, day, tuple(_entitlements(parts, _used(parts))), parts)


# For the usage ingestion ---------------------------------------------------------------------


@dataclass(frozen=True)
class UsageLimit:
    customer_id: int
    feature: Feature
    metric: BillableMetric
    limit: Decimal | None
    enforcement: str
    used: Decimal
    period: Interval
    subscription_ids: tuple[int, ...]


def usage_limits(
    *, customer_ids: Sequence[int], event_codes: Sequence[str], day: date
) -> list[UsageLimit]:
    """The limits counted against usage whose metric counts one of `event_codes`, for these
    customers on `day`, with the usage so far: what the usage ingestion checks a batch of
    events against (refused beyond a hard limit, a webhook beyond a soft one). A limit the
    customer's subscriptions have but turn off is a limit of 0; `subscription_ids` are the
    subscriptions whose usage `used` sums (those enabling it, or having it off). A fixed number
    of queries per call, whatever the customers, codes and features (two when cached)."""
    codes = set(event_codes)
    if not codes:
        return []
    by_customer = _features_of(customer_ids, day)
    wanted: dict[int, list[SubscriptionFeatures]] = {}
    feature_ids: set[int] = set()
    for customer_id, parts in by_customer.items():
        for part in parts:
            for value in part.values:
                metric = value.feature.metric
                if value.is_limit and metric is not None and metric.event_code in codes:
                    feature_ids.add(value.feature.pk)
                    wanted.setdefault(customer_id, [])
                    if part not in wanted[customer_id]:
                        wanted[customer_id].append(part)
    if not wanted:
        return []
    used = _used([p for parts in wanted.values() for p in parts], feature_ids)
    limits = []
    for customer_id in sorted(wanted):
        for entitlement in _entitlements(wanted[customer_id], used):
            if entitlement.feature.pk not in feature_ids:
                continue
            if entitlement.period is None or entitlement.used is None:
                continue  # no billing period yet: nothing is counted
            metric = entitlement.feature.metric
            assert metric is not None  # chosen above
            limits.append(
                UsageLimit(
                    customer_id=customer_id,
                    feature=entitlement.feature,
                    metric=metric,
                    limit=entitlement.limit,
                    enforcement=entitlement.enforcement,
                    used=entitlement.used,
                    period=entitlement.period,
                    subscription_ids=entitlement.counted_in,
                )
            )
    return limits


# On the pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureLine:
    """One feature of one subscription as a page shows it: what the subscription gives (with
    its add-ons) and, for a limit counted against usage, what it used this period."""

    feature: Feature
    enabled: bool
    limit: Decimal | None
    used: Decimal | None = None
    period: Interval | None = None

    @property
    def is_limit(self) -> bool:
        return self.feature.kind == Kind.LIMIT

    @property
    def exceeded(self) -> bool:
        return self.used is not None and self.limit is not None and self.used > self.limit


def subscription_features(
    *, subscriptions: Sequence[Subscription], day: date | None = None
) -> dict[int, list[FeatureLine]]:
    """The features of each subscription with access (by id), with their usage this period, for
    the pages: a fixed number of queries whatever the number of subscriptions (their customers'
    entitlements, cached). A subscription without access on the day has none."""
    day = day or clock.today()
    by_customer = _features_of([s.customer_id for s in subscriptions], day)
    parts = [p for c in by_customer.values() for p in c]
    wanted = {s.pk for s in subscriptions}
    parts = [p for p in parts if p.subscription_id in wanted]
    used = _used(parts)
    lines: dict[int, list[FeatureLine]] = {}
    for part in parts:
        lines[part.subscription_id] = [
            FeatureLine(
                value.feature,
                value.enabled,
                value.limit,
                *_own_usage(value, part, used),
            )
            for value in part.values
        ]
    return lines


def _own_usage(
    value: FeatureValue, part: SubscriptionFeatures, used: Mapping[tuple[int, int], Decimal]
) -> tuple[Decimal | None, Interval | None]:
    metric = value.feature.metric
    if not (value.is_limit and value.enabled and metric is not None and part.period):
        return None, None
    return used.get((metric.pk, part.subscription_id), ZERO), part.period


# A plan change: what is gained and lost ----------------------------------------------------------


class Change:
    GAINED = "gained"
    LOST = "lost"
    RAISED = "raised"
    LOWERED = "lowered"


@dataclass(frozen=True)
class FeatureChange:
    """How a feature changes: turned on (gained), off (lost), its limit raised or lowered."""

    feature: Feature
    change: str
    before: Decimal | None = None  # the limits (None: unlimited), for a limit feature on both
    after: Decimal | None = None

    @property
    def code(self) -> str:
        return self.feature.code

    @property
    def is_gain(self) -> bool:
        return self.change in (Change.GAINED, Change.RAISED)


def _more(a: Decimal | None, b: Decimal | None) -> bool:
    """Whether limit `a` is above limit `b` (None: unlimited)."""
    if a is None:
        return b is not None
    return b is not None and a > b


def compare_features(
    before: Iterable[FeatureValue], after: Iterable[FeatureValue]
) -> list[FeatureChange]:
    """What moving from the features `before` to `after` gains and loses, by feature code: a
    feature turned on or off, a limit raised or lowered (unlimited is above any number). A
    feature absent from one side is off there."""
    old, new = combine(before), combine(after)
    changes = []
    for fid in old.keys() | new.keys():
        was, now = old.get(fid), new.get(fid)
        feature = (now or was).feature  # type: ignore[union-attr]  # one of them is set
        on_before, on_after = bool(was and was.enabled), bool(now and now.enabled)
        if on_after and not on_before:
            changes.append(FeatureChange(feature, Change.GAINED, after=now.limit if now else None))
        elif on_before and not on_after:
            changes.append(FeatureChange(feature, Change.LOST, before=was.limit if was else None))
        elif on_before and was and now and feature.kind == Kind.LIMIT:
            if _more(now.limit, was.limit):
                changes.append(FeatureChange(feature, Change.RAISED, was.limit, now.limit))
            elif _more(was.limit, now.limit):
                changes.append(FeatureChange(feature, Change.LOWERED, was.limit, now.limit))
    return sorted(changes, key=lambda c: c.code)


def plan_change_features(
    *, subscription: Subscription, plan_id: int, day: date | None = None
) -> list[FeatureChange]:
    """What moving `subscription` to the plan `plan_id` gains and loses: its current plan and
    add-ons against the new plan and the same add-ons (they stay), in three queries."""
    day = max(day or clock.today(), subscription.start_date)
    events = SubscriptionEvent.objects.filter(
        subscription=subscription, revoked_by__isnull=True
    ).only("id", "subscription_id", "kind", "effective_date", "data", "revoked_by_id")
    addons = timeline.state_on(list(events), day).addons
    rows = list(
        PlanFeature.objects.filter(plan_id__in=[subscription.plan_id, plan_id]).select_related(
            "feature__metric"
        )
    )
    extra = []
    if addons:
        for row in BundleFeature.objects.filter(bundle_id__in=list(addons)).select_related(
            "feature__metric"
        ):
            extra.append(_value(row, addons[row.bundle_id]))
    before = [_value(r) for r in rows if r.plan_id == subscription.plan_id]
    after = [_value(r) for r in rows if r.plan_id == plan_id]
    return compare_features([*before, *extra], [*after, *extra])
