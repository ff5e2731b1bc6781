"""Builders for usage tests: a metered plan and usage events written as ingestion writes them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from catalog.models import BillableMetric, Plan, PriceSheet, PriceTier, Product, UsageCharge
from subscriptions.models import Subscription, UsageEvent
from subscriptions.usage import counted_at
from tests.catalog.factories import ZeroRatedFactory
from tests.subscriptions.factories import monthly_plan

D = Decimal


def api_calls_metric(**fields) -> BillableMetric:
    values = {"code": "api_calls", "name": "API calls", "event_code": "api_call", "unit": "calls"}
    values.update(fields)
    metric, _ = BillableMetric.objects.get_or_create(code=values.pop("code"), defaults=values)
    return metric


def graduated_api_calls_sheet(currency: str = "EUR") -> PriceSheet:
    """billing-rules 12.1: the first 10,000 calls free, then 0.002 each."""
    product = Product.objects.create(
        code=f"api-calls-{currency.lower()}",
        name="API calls",
        tax_rate=ZeroRatedFactory(),
    )
    sheet = PriceSheet.objects.create(
        code=f"api-calls-graduated-{currency.lower()}",
        name="API calls, graduated",
        product=product,
        currency=currency,
        pricing_model="graduated",
    )
    PriceTier.objects.create(
        price_sheet=sheet, first_unit=1, last_unit=10_000, currency=currency, unit_price=D("0")
    )
    PriceTier.objects.create(
        price_sheet=sheet, first_unit=10_001, currency=currency, unit_price=D("0.002")
    )
    return sheet


def metered_plan(base: str = "19.00", *, metric: BillableMetric | None = None, **fields) -> Plan:
    """A monthly plan: a flat base fee, and API calls graduated (billing-rules 12.1)."""
    plan = monthly_plan(base, **fields)
    UsageCharge.objects.create(
        plan=plan, metric=metric or api_calls_metric(), price_sheet=graduated_api_calls_sheet()
    )
    return plan


def record(
    subscription: Subscription,
    timestamps: list[datetime],
    *,
    received: datetime | None = None,
    code: str = "api_call",
    prefix: str = "tx",
    properties: dict | None = None,
    transaction_ids: list[str] | None = None,
) -> int:
    """Store events as ingestion does (one per transaction id and customer, retries ignored);
    returns how many rows exist for the subscription afterwards."""
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(
                customer_id=subscription.customer_id,
                subscription=subscription,
                transaction_id=transaction_ids[i] if transaction_ids else f"{prefix}-{i}",
                code=code,
                timestamp=at,
                counted_at=counted_at(at, received or at),
                properties=properties or {},
                received_at=received or at,
            )
            for i, at in enumerate(timestamps)
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    return UsageEvent.objects.filter(subscription=subscription).count()
