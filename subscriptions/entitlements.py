"""Entitlements: what a customer may use (issue 17: features counted against usage).

MINIMAL VERSION for the usage-ingest branch: only `usage_limits`, with the signature and the
behaviour documented for the entitlements branch, which replaces this module at merge. The
ingestion (subscriptions/services/usage.py) and its tests rely on the documented behaviour
only:

- a limit is the sum, over the customer's live and not suspended subscriptions, of the plan's
  limit of the feature and of its add-ons' (BundleFeature) limits; one unlimited grant (an
  empty limit) makes it unlimited (`limit=None`);
- `used` is the feature's metric usage so far in the current billing period (the period
  containing `day`) of the subscriptions granting it;
- only features counted against a metric whose `event_code` is among `event_codes`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from catalog.models import BillableMetric, BundleFeature, Feature, PlanFeature
from core.periods import Interval, period_containing
from subscriptions.models import Subscription, SubscriptionItem
from subscriptions.usage import usage_quantities

ZERO = Decimal("0")


@dataclass(frozen=True)
class UsageLimit:
    customer_id: int
    feature: Feature
    metric: BillableMetric
    limit: Decimal | None  # None: unlimited
    enforcement: str
    used: Decimal
    period: Interval
    subscription_ids: tuple[int, ...]


def current_period(subscription: Subscription, day: date) -> Interval:
    """The billing period of `subscription` containing `day`."""
    anchor = subscription.anchor_date or subscription.start_date
    return period_containing(anchor, subscription.plan.billing_period, day)


def usage_limits(
    *, customer_ids: Sequence[int], event_codes: Sequence[str], day: date
) -> list[UsageLimit]:
    """The usage limits of these customers on the features counted against these event codes,
    with what is used of each in the current billing period (module docstring)."""
    if not customer_ids or not event_codes:
        return []
    subscriptions = list(
        Subscription.objects.filter(
            customer_id__in=list(customer_ids),
            status__in=Subscription.LIVE_STATUSES,
            suspended_since__isnull=True,
        )
        .select_related("plan")
        .order_by("id")
    )
    if not subscriptions:
        return []
    plan_ids = {s.plan_id for s in subscriptions}
    limited = {
        "feature__kind": Feature.Kind.LIMIT,
        "feature__metric__event_code__in": list(event_codes),
        "enabled": True,
    }
    by_plan: dict[int, list[PlanFeature]] = defaultdict(list)
    for pf in PlanFeature.objects.filter(plan_id__in=plan_ids, **limited).select_related(
        "feature__metric"
    ):
        by_plan[pf.plan_id].append(pf)
    addons: dict[int, list[int]] = defaultdict(list)
    for sub_id, bundle_id in SubscriptionItem.objects.filter(
        subscription__in=subscriptions, kind=SubscriptionItem.Kind.ADDON
    ).values_list("subscription_id", "bundle_id"):
        addons[sub_id].append(bundle_id)
    by_bundle: dict[int, list[BundleFeature]] = defaultdict(list)
    bundle_ids = {b for ids in addons.values() for b in ids}
    if bundle_ids:
        for bf in BundleFeature.objects.filter(bundle_id__in=bundle_ids, **limited).select_related(
            "feature__metric"
        ):
            by_bundle[bf.bundle_id].append(bf)

    # (customer, feature) → the grants: [(subscription, limit or None)]
    grants: dict[tuple[int, int], list[tuple[Subscription, int | None]]] = defaultdict(list)
    features: dict[int, Feature] = {}
    for subscription in subscriptions:
        values = list(by_plan.get(subscription.plan_id, []))
        for bundle_id in addons.get(subscription.pk, []):
            values.extend(by_bundle.get(bundle_id, []))
        for value in values:
            features[value.feature_id] = value.feature
            grants[(subscription.customer_id, value.feature_id)].append((subscription, value.limit))

    # The usage, one query per metric and period for all the subscriptions concerned.
    wanted: dict[tuple[int, Interval], set[int]] = defaultdict(set)
    for (_customer, feature_id), values in grants.items():
        metric = features[feature_id].metric
        assert metric is not None  # filtered on its event code
        for subscription, _limit in values:
            wanted[(metric.pk, current_period(subscription, day))].add(subscription.pk)
    metrics = {f.metric.pk: f.metric for f in features.values() if f.metric is not None}
    used: dict[tuple[int, Interval, int], Decimal] = {}
    for (metric_id, period), ids in wanted.items():
        quantities = usage_quantities(metrics[metric_id], sorted(ids), period.start, period.end)
        for sub_id, quantity in quantities.items():
            used[(metric_id, period, sub_id)] = quantity

    result = []
    for (customer_id, feature_id), values in grants.items():
        feature = features[feature_id]
        metric = feature.metric
        assert metric is not None
        limit: Decimal | None = ZERO
        total = ZERO
        seen: set[int] = set()
        for subscription, value in values:
            limit = None if limit is None or value is None else limit + value
            if subscription.pk not in seen:
                seen.add(subscription.pk)
                period = current_period(subscription, day)
                total += used[(metric.pk, period, subscription.pk)]
        first = values[0][0]
        result.append(
            UsageLimit(
                customer_id=customer_id,
                feature=feature,
                metric=metric,
                limit=limit,
                enforcement=feature.enforcement,
                used=total,
                period=current_period(first, day),
                subscription_ids=tuple(sorted(seen)),
            )
        )
    return result
