"""Builders of the usage tests: a plan charging API calls (billing-rules example 12.1: the first
10,000 free, then 0.002 EUR each), features limited by that usage, customers subscribed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    Feature,
    Plan,
    PlanFeature,
    PriceTier,
    UsageCharge,
)
from partners.services import subscription_sell
from subscriptions import services
from subscriptions.models import Customer, Subscription
from tests.catalog.factories import PriceSheetFactory, ProductFactory
from tests.subscriptions.factories import CustomerFactory, monthly_plan

START = date(2026, 11, 1)


def api_calls_metric(code: str = "api_calls", event_code: str = "api_call") -> BillableMetric:
    metric, _created = BillableMetric.objects.get_or_create(
        code=code, defaults={"name": "API calls", "event_code": event_code, "unit": "calls"}
    )
    return metric


def metered_plan(metric: BillableMetric | None = None, **plan_fields) -> Plan:
    """A monthly plan of 30.00 EUR whose API calls are charged: 10,000 free, then 0.002."""
    metric = metric or api_calls_metric()
    plan = monthly_plan(**plan_fields)
    sheet = PriceSheetFactory(
        product=ProductFactory(), pricing_model="graduated", amount=None, currency="EUR"
    )
    PriceTier.objects.create(
        price_sheet=sheet, first_unit=1, last_unit=10000, unit_price=Decimal("0")
    )
    PriceTier.objects.create(price_sheet=sheet, first_unit=10001, unit_price=Decimal("0.002"))
    UsageCharge.objects.create(plan=plan, metric=metric, price_sheet=sheet)
    return plan


def limited_plan(
    limit: int | None, enforcement: str, metric: BillableMetric | None = None, **plan_fields
) -> tuple[Plan, Feature]:
    """A monthly plan without usage charge whose feature `calls` is limited by the metric."""
    metric = metric or api_calls_metric()
    feature, _created = Feature.objects.get_or_create(
        code=f"calls-{enforcement}",
        defaults={
            "name": "Calls",
            "kind": Feature.Kind.LIMIT,
            "metric": metric,
            "enforcement": enforcement,
        },
    )
    plan = monthly_plan(**plan_fields)
    PlanFeature.objects.create(plan=plan, feature=feature, limit=limit)
    return plan, feature


def addon_with(feature: Feature, limit: int | None) -> Bundle:
    bundle = Bundle.objects.create(code=f"addon-{feature.code}", name="More calls")
    BundleFeature.objects.create(bundle=bundle, feature=feature, limit=limit)
    return bundle


def subscribe(
    plan: Plan, customer: Customer | None = None, start: date = START, **fields
) -> Subscription:
    customer = customer or CustomerFactory()
    return services.subscription_create(
        customer=customer, plan=plan, start_date=start, today=start, **fields
    ).subscription


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def event(customer: Customer, n: int, *, when: datetime, code: str = "api_call", **fields) -> dict:
    return {
        "customer": customer.pk,
        "transaction_id": f"tx-{n}",
        "code": code,
        "timestamp": when.isoformat(),
        **fields,
    }


def events(customer: Customer, count: int, *, when: datetime, first: int = 0, **fields) -> list:
    return [
        event(customer, n, when=when + timedelta(microseconds=n), **fields)
        for n in range(first, first + count)
    ]


def sell(plan: Plan, customer: Customer, start: date = START) -> Subscription:
    """The plan sold through the customer's partner (invoiced to the partner)."""
    return subscription_sell(
        customer=customer, plan=plan, start_date=start, today=start
    ).subscription


def record(customer: Customer, count: int, *, when: datetime, first: int = 0) -> None:
    services.usage_events_record(events=events(customer, count, when=when, first=first))
