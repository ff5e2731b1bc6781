"""Usage charges (billing-rules §12): a plan's price for a metric's usage, billed in arrears.

The usage of each billing period [start, end) — cut at the subscription's end — is charged on
the date the period ends, so on the invoice of the next period's start (its billing key is that
period's); the last period's usage, when the subscription ends, on its own invoice on the end
date. A period's usage is charged only once its window closed (subscriptions/usage.py): before,
the engine says so (`context.usage_waiting`) and the run leaves the subscription for its next
pass rather than issue the period-start invoice without it.

Each line says what it counts and how it is priced: the quantity, then each tier it reaches
("25,000 calls: 1–10,000 × 0.00 + 15,000 × 0.002").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from catalog.models import BillableMetric, PriceSheet, UsageCharge
from catalog.selectors import unit_price_text
from core.money import money_text
from core.periods import Interval, period_at, period_index
from core.pricing import price_for_quantity
from subscriptions.charges.inputs import SubscriptionContext
from subscriptions.charges.loading import context_of
from subscriptions.charges.wording import amount_in_formula
from subscriptions.usage import UsageReader, window_closed

USAGE = "usage"


def quantity_text(quantity: Decimal) -> str:
    """A quantity as people read it in the active language: 25,000 / 25 000 / 1.5."""
    return number_format(quantity.normalize() if quantity else Decimal(0), force_grouping=True)


def usage_rule(sheet: PriceSheet, metric: BillableMetric, quantity: Decimal) -> str:
    """How a usage quantity is priced, in the active language, with each tier it reaches."""
    currency = sheet.currency
    unit = metric.unit or metric.display_name
    head = f"{quantity_text(quantity)} {unit}"
    amount = sheet.amount.amount if sheet.amount is not None else None
    if sheet.pricing_model == "per_unit" and amount is not None:
        return f"{head} × {unit_price_text(amount, currency, with_currency=False)}"
    if sheet.pricing_model == "package" and amount is not None and sheet.package_size:
        packages = -(-quantity // sheet.package_size)
        return _("%(head)s: %(packages)s packages of %(size)s × %(amount)s") % {
            "head": head,
            "packages": quantity_text(Decimal(packages)),
            "size": quantity_text(Decimal(sheet.package_size)),
            "amount": amount_in_formula(amount, currency),
        }
    tiers = sheet.core_tiers()
    if sheet.pricing_model == "volume":
        for tier in tiers:
            if tier.first_unit <= quantity and (
                tier.last_unit is None or quantity <= tier.last_unit
            ):
                return _("%(head)s, volume: all at %(price)s") % {
                    "head": head,
                    "price": unit_price_text(tier.unit_price, currency, with_currency=False),
                }
        return head
    parts = []
    for tier in tiers:
        units = tier.units_within(quantity)
        if units <= 0:
            continue
        last = "∞" if tier.last_unit is None else quantity_text(Decimal(tier.last_unit))
        parts.append(
            f"{quantity_text(Decimal(tier.first_unit))}–{last}: "
            f"{quantity_text(Decimal(units))} × "
            f"{unit_price_text(tier.unit_price, currency, with_currency=False)}"
        )
    return f"{head}: " + " + ".join(parts) if parts else head


def usage_amount(sheet: PriceSheet, quantity: Decimal) -> Decimal:
    """The price of a period's usage, whole (a usage price has no period of its own)."""
    return price_for_quantity(
        sheet.pricing_model,
        quantity,
        amount=sheet.amount.amount if sheet.amount is not None else None,
        tiers=sheet.core_tiers() if sheet.is_tiered else (),
        package_size=sheet.package_size,
    )


def usage_windows(
    context: SubscriptionContext, *, since: date | None, up_to: date
) -> list[tuple[Interval, Interval]]:
    """(billing period, usage window) of each period whose usage falls due in [since, up_to]:
    the window is the period cut at the subscription's end, due on the window's end."""
    if context.anchor is None:
        return []
    period_length = context.billing_period
    first = context.anchor
    if since is not None and since > first:
        # The period that ended on or after `since` is the one containing the day before it.
        first = since - timedelta(days=1)
    k = period_index(context.anchor, period_length, first)
    ends_on = context.fold.state_on(up_to).ends_on
    windows = []
    while True:
        period = period_at(context.anchor, period_length, k)
        k += 1
        if period.start >= up_to or (ends_on is not None and period.start >= ends_on):
            break
        end = min(period.end, ends_on) if ends_on is not None else period.end
        if end > up_to or (since is not None and end < since):
            continue
        if not context.fold.state_for_period(period.start).is_running_on(period.start):
            continue  # a trial, a start pending fulfilment: nothing billed, usage neither
        windows.append((period, Interval(period.start, end)))
    return windows


def plan_usage_charges(context: SubscriptionContext, window: Interval) -> list[UsageCharge]:
    """The usage charges of the plan in force on the window's last day."""
    state = context.fold.state_on(window.end - timedelta(days=1))
    if state.plan_id is None:
        return []
    return context.book.usage_charges(state.plan_id)


def reader(context: SubscriptionContext) -> UsageReader:
    if context.usage is None:
        context.usage = UsageReader([context.subscription_id])
    return context.usage


@dataclass(frozen=True)
class UsageLine:
    """A metric's usage over a window and what it costs (unrounded, before discounts)."""

    charge: UsageCharge
    period: Interval
    quantity: Decimal
    amount: Decimal
    currency: str
    rule: str

    @property
    def metric(self) -> BillableMetric:
        return self.charge.metric

    @property
    def amount_text(self) -> str:
        return money_text(self.amount, self.currency)


def usage_lines(context: SubscriptionContext, window: Interval) -> list[UsageLine]:
    lines = []
    for charge in plan_usage_charges(context, window):
        quantity = reader(context).quantity(
            charge.metric, context.subscription_id, window.start, window.end
        )
        lines.append(
            UsageLine(
                charge=charge,
                period=window,
                quantity=quantity,
                amount=usage_amount(charge.price_sheet, quantity),
                currency=context.currency,
                rule=usage_rule(charge.price_sheet, charge.metric, quantity),
            )
        )
    return lines


def due_usage(context: SubscriptionContext, *, since: date | None, up_to: date) -> list[tuple]:
    """(period, UsageLine) of the usage due in [since, up_to] whose window closed; sets
    `context.usage_waiting` when one is due but still open."""
    due: list[tuple] = []
    if not context.ever_metered():
        return due
    for period, window in usage_windows(context, since=since, up_to=up_to):
        if not plan_usage_charges(context, window):
            continue
        if not window_closed(window.end):
            context.usage_waiting = True
            continue
        for line in usage_lines(context, window):
            if line.quantity > 0:  # no usage, no line
                due.append((period, line))
    return due


def usage_description(line: UsageLine) -> str:
    return _("%(metric)s: usage from %(start)s to %(end)s") % {
        "metric": line.metric.display_name,
        "start": line.period.start.isoformat(),
        "end": (line.period.end - timedelta(days=1)).isoformat(),
    }


def current_window(context: SubscriptionContext, day: date) -> Interval | None:
    """The billing period containing `day`, cut at the subscription's end (None before its
    first billed day or after its end)."""
    if context.anchor is None or day < context.anchor:
        return None
    period = context.period_of(day)
    ends_on = context.fold.state_on(day).ends_on
    if ends_on is not None and day >= ends_on:
        return None
    return Interval(period.start, min(period.end, ends_on) if ends_on else period.end)


def usage_estimate_of(context: SubscriptionContext, *, day: date) -> list[UsageLine]:
    """The current period's usage so far and what it would cost, per metric."""
    window = current_window(context, day)
    if window is None:
        return []
    with translation.override(context.language or translation.get_language()):
        return usage_lines(context, window)


def usage_estimate(subscription, *, day: date) -> list[UsageLine]:
    """The current period's usage of a subscription so far and its estimated charge, per metric
    of its plan (before discounts and tax): what pages and the API show."""
    return usage_estimate_of(context_of(subscription), day=day)
