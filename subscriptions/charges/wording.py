"""How the engine explains a price, in the active language: the figures of its formulas
("45/90", "3/12", "240,00") and the early-termination formula."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from core.money import money_text
from core.periods import Interval, Period


def amount_in_formula(amount: Decimal, currency: str) -> str:
    """An amount in a formula, its currency said elsewhere: "240.00", "240,00" in French."""
    return money_text(amount, currency, with_currency=False)


def days_left_text(change: date, period: Interval) -> str:
    """The proration fraction as people check it: days left / days of the period (45/90)."""
    return f"{(period.end - change).days}/{period.days}"


def ratio_text(price_period: Period, billing_period: Period, start: date) -> str:
    """The price-period conversion as people check it: 3/12 (months) or 14/28 (days)."""
    if price_period.months is not None and billing_period.months is not None:
        return f"{billing_period.months}/{price_period.months}"
    if price_period.days is not None and billing_period.days is not None:
        return f"{billing_period.days}/{price_period.days}"
    return f"{(start + billing_period.delta() - start).days}/{(start + price_period.delta() - start).days}"


def penalty_rule(
    *,
    penalty: Decimal,
    currency: str,
    cap: Decimal | None = None,
    days_left: int | None = None,
    days_whole: int | None = None,
) -> str:
    """The penalty's formula in the active language: the quote says it, and its invoice line
    prints it again in the customer's language ("240,00 × 426 ÷ 730 = 140,05 €")."""
    if cap is not None and days_left is not None and days_whole is not None:
        return _(
            "Early termination penalty: %(cap)s × %(left)s ÷ %(whole)s = %(amount)s (days from the effective date to the commitment end ÷ days of the whole commitment)."
        ) % {
            "cap": amount_in_formula(cap, currency),
            "left": days_left,
            "whole": days_whole,
            "amount": money_text(penalty, currency),
        }
    return _("Early termination penalty: %(amount)s.") % {"amount": money_text(penalty, currency)}


def penalty_rule_of(event, amount: Decimal, currency: str) -> str:
    """The formula of a cancellation's penalty, written now in the active language from the
    figures the cancellation recorded. Cancellations recorded before the figures were (their
    formula stored as text, in the language of the request) keep that text."""
    data = event.data
    if "penalty_cap" not in data:
        return data.get("penalty_rule") or data.get("rule", "")
    prorated = data.get("penalty_days_left") is not None
    return penalty_rule(
        penalty=amount,
        currency=currency,
        cap=Decimal(data["penalty_cap"]) if prorated else None,
        days_left=data.get("penalty_days_left"),
        days_whole=data.get("penalty_days_whole"),
    )
