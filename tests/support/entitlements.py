"""Builders for the entitlements tests: features on plans and add-ons, subscriptions, usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count

from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    Feature,
    Plan,
    PlanFeature,
    UpgradeGroup,
)
from subscriptions import services
from subscriptions.models import Customer, Subscription, UsageEvent
from subscriptions.usage import counted_at
from tests.catalog.factories import BundleFactory
from tests.subscriptions.factories import CustomerFactory, monthly_plan

TODAY = date(2026, 11, 21)
START = date(2026, 11, 1)

_transactions = count(1)


def feature(code: str, *, kind: str = Feature.Kind.ON_OFF, **fields) -> Feature:
    return Feature.objects.create(
        code=code, name=code.replace("-", " ").title(), kind=kind, **fields
    )


def metric(code: str = "api-calls", event_code: str = "api_call") -> BillableMetric:
    return BillableMetric.objects.create(code=code, name=code, event_code=event_code, unit="calls")


def plan_with(
    values: dict[Feature, tuple[bool, int | None]], price: str = "30.00", **plan_fields
) -> Plan:
    plan = monthly_plan(price, **plan_fields)
    for f, (enabled, limit) in values.items():
        PlanFeature.objects.create(plan=plan, feature=f, enabled=enabled, limit=limit)
    return plan


def addon_with(plans: list[Plan], values: dict[Feature, tuple[bool, int | None]]) -> Bundle:
    bundle = BundleFactory()
    for f, (enabled, limit) in values.items():
        BundleFeature.objects.create(bundle=bundle, feature=f, enabled=enabled, limit=limit)
    for plan in plans:
        plan.addon_bundles.add(bundle)
    return bundle


def subscribe(
    customer: Customer, plan: Plan, *, start: date = START, addons: dict[int, int] | None = None
) -> Subscription:
    result = services.subscription_create(
        customer=customer, plan=plan, start_date=start, today=TODAY, addons=addons
    )
    return Subscription.objects.get(pk=result.subscription.pk)


def use(subscription: Subscription, code: str, when: datetime, times: int = 1, **properties):
    """`times` usage events of `code` at `when`, received at once, counted as the ingestion
    counts them."""
    for _ in range(times):
        UsageEvent.objects.create(
            customer_id=subscription.customer_id,
            subscription=subscription,
            transaction_id=f"t-{next(_transactions)}",
            code=code,
            timestamp=when,
            counted_at=counted_at(when, when),
            properties=properties,
            received_at=when,
        )


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Book:
    """Two subscriptions and an add-on of one customer, and their features."""

    customer: Customer
    sso: Feature
    exports: Feature
    seats: Feature
    calls: Feature
    metric: BillableMetric
    basic: Plan
    pro: Plan
    addon: Bundle
    first: Subscription
    second: Subscription


def book(*, enforcement: str = Feature.Enforcement.HARD) -> Book:
    """`first` on Basic with 2 add-ons, `second` on Pro:

    - sso: off on Basic, on on Pro → on (by second);
    - exports: on on Basic only → on (by first);
    - seats (no metric): Basic 5 + add-on 2 × 3 → 11 on first, Pro 10 → 21 in all;
    - calls (api_call metric): Basic 1000 + add-on 2 × 500, Pro 2000 → 4000 in all.
    """
    m = metric()
    sso, exports = feature("sso"), feature("exports")
    seats = feature("seats", kind=Feature.Kind.LIMIT, unit="users")
    calls = feature(
        "calls", kind=Feature.Kind.LIMIT, unit="calls", metric=m, enforcement=enforcement
    )
    group = UpgradeGroup.objects.create(code=f"group-{next(_transactions)}", name="Group")
    basic = plan_with(
        {sso: (False, None), exports: (True, None), seats: (True, 5), calls: (True, 1000)},
        upgrade_group=group,
        upgrade_rank=1,
    )
    pro = plan_with(
        {sso: (True, None), seats: (True, 10), calls: (True, 2000)},
        price="50.00",
        upgrade_group=group,
        upgrade_rank=2,
    )
    addon = addon_with([basic, pro], {seats: (True, 3), calls: (True, 500)})
    customer = CustomerFactory()
    first = subscribe(customer, basic, addons={addon.pk: 2})
    second = subscribe(customer, pro)
    return Book(customer, sso, exports, seats, calls, m, basic, pro, addon, first, second)
