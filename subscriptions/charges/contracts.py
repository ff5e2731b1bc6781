"""Charges of product contracts (billing-rules §8): the chargeable issues of each billing period
of an issue-based contract, in advance on the period's invoice, and credits bought for a
credit-based one, at once on their own invoice.

Issues are derived from the contract, like every charge: the schedule of the period
(core.contracts.issue_schedule, the free issues last) less the issues on or after the
contract's end date (a cancellation sets it), so a period is billed for the issues it delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import PriceSheet, ProductContract
from catalog.selectors import unit_price_text
from core.contracts import issue_schedule
from core.periods import Interval, period_at, period_index
from core.pricing import price_for_quantity
from subscriptions.charges.inputs import HeldContract, SubscriptionContext

ISSUES = "issues"
TOPUP = "topup"


@dataclass(frozen=True)
class IssueLine:
    held: HeldContract
    contract: ProductContract
    period: Interval
    numbers: tuple[int, ...]  # the chargeable issues delivered in the period
    free: tuple[int, ...]
    amount: Decimal
    rule: str


def _unit_price(sheet: PriceSheet | None) -> Decimal:
    if sheet is None or sheet.amount is None:
        return Decimal(0)
    return sheet.amount.amount


def contract_period(held: HeldContract, contract: ProductContract, day: date) -> Interval | None:
    interval = contract.interval
    if interval is None or day < held.start_date:
        return None
    return period_at(held.start_date, interval, period_index(held.start_date, interval, day))


def issue_lines(context: SubscriptionContext, period_start: date) -> list[IssueLine]:
    """The chargeable issues of each issue-based contract in its period starting on
    `period_start` (the plan's billing period: the catalog keeps them equal)."""
    lines = []
    for held in context.contracts:
        contract = context.book.contract(held.contract_id)
        if contract.kind != ProductContract.Kind.ISSUE:
            continue
        period = contract_period(held, contract, period_start)
        if period is None or period.start != period_start:
            continue
        if not contract.repeat_until_cancelled and period.start > held.start_date:
            continue  # a single run of issues
        assert contract.issues_per_period is not None and contract.chargeable_issues is not None
        issues = [
            issue
            for issue in issue_schedule(
                period, issues=contract.issues_per_period, chargeable=contract.chargeable_issues
            )
            if held.end_date is None or issue.day < held.end_date
        ]
        charged = tuple(i.number for i in issues if i.chargeable)
        free = tuple(i.number for i in issues if not i.chargeable)
        if not charged:
            continue
        unit = _unit_price(contract.price_sheet)
        units = len(charged) * held.quantity
        amount = price_for_quantity("per_unit", units, amount=unit)
        currency = contract.price_sheet.currency if contract.price_sheet else context.currency
        rule = f"{units} × {unit_price_text(unit, currency, with_currency=False)}"
        if free:
            rule += " " + ngettext("(issue %(free)s free)", "(issues %(free)s free)", len(free)) % {
                "free": ", ".join(map(str, free))
            }
        lines.append(IssueLine(held, contract, period, charged, free, amount, rule))
    return lines


def issue_description(line: IssueLine) -> str:
    return _("%(product)s: issues %(first)s–%(last)s, %(start)s to %(end)s") % {
        "product": line.contract.display_name,
        "first": line.numbers[0],
        "last": line.numbers[-1],
        "start": line.period.start.isoformat(),
        "end": line.period.end.isoformat(),
    }


@dataclass(frozen=True)
class TopupLine:
    held: HeldContract
    contract: ProductContract
    credits: Decimal
    amount: Decimal
    rule: str


def topup_line(context: SubscriptionContext, event) -> TopupLine | None:
    """Credits bought (a `credits_topped_up` timeline entry): credits × the contract's price."""
    held = next(
        (h for h in context.contracts if h.id == int(event.data["subscription_contract"])), None
    )
    if held is None:
        return None
    contract = context.book.contract(held.contract_id)
    credits = Decimal(event.data["credits"])
    unit = _unit_price(contract.price_sheet)
    currency = contract.price_sheet.currency if contract.price_sheet else context.currency
    return TopupLine(
        held,
        contract,
        credits,
        credits * unit,
        f"{credits.normalize():f} × {unit_price_text(unit, currency, with_currency=False)}",
    )


def topup_description(line: TopupLine) -> str:
    return _("%(contract)s: %(credits)s credits bought") % {
        "contract": line.contract.display_name,
        "credits": f"{line.credits.normalize():f}",
    }
