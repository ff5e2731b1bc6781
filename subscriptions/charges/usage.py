"""PLACEHOLDER for the lead's subscriptions/charges/usage.py (issue 17, on main ~17:45): the
documented signature only, so that the usage-ingest branch can show estimates. Replaced by
main's at the merge.

`usage_estimate(subscription, *, day)`: for each usage charge of the subscription's plan, the
metric's usage so far in the billing period containing `day`, and its price (unrounded, before
discounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from catalog.models import BillableMetric
from core.periods import Interval, period_containing
from core.pricing import price_for_quantity
from subscriptions.models import Subscription
from subscriptions.usage import usage_quantity


@dataclass(frozen=True)
class UsageLine:
    metric: BillableMetric
    period: Interval
    quantity: Decimal
    amount: Decimal
    currency: str
    rule: str


def usage_estimate(subscription: Subscription, *, day: date) -> list[UsageLine]:
    anchor = subscription.anchor_date or subscription.start_date
    period = period_containing(anchor, subscription.plan.billing_period, day)
    lines = []
    for charge in subscription.plan.usage_charges.select_related("metric", "price_sheet"):
        sheet = charge.price_sheet
        quantity = usage_quantity(charge.metric, subscription.pk, period.start, period.end)
        amount = price_for_quantity(
            sheet.pricing_model,
            quantity,
            amount=sheet.amount.amount if sheet.amount is not None else None,
            tiers=sheet.core_tiers() if sheet.is_tiered else (),
            package_size=sheet.package_size,
        )
        lines.append(
            UsageLine(
                metric=charge.metric,
                period=period,
                quantity=quantity,
                amount=amount,
                currency=str(sheet.currency),
                rule=f"{quantity} {charge.metric.unit}".strip(),
            )
        )
    return lines
