"""Pricing arithmetic (billing-rules §2–3).

Amounts are `Decimal`, never floats. Intermediate results keep full precision (fractions of a
period are exact `Fraction`s); rounding happens once per amount shown on an invoice line (gross,
each discount, net), half-up to the currency's minor unit. Totals are sums of rounded amounts,
and tax is computed per rate on the sum of the rounded net amounts (EN 16931, BR-CO-17).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache

from moneyed import CurrencyDoesNotExist, get_currency

from core.errors import ApplicationError
from core.i18n import _
from core.periods import Interval, Period, proration_fraction

ZERO = Decimal("0")
HUNDRED = Decimal("100")


# Rounding ---------------------------------------------------------------------------------------


@cache
def minor_unit_exponent(currency: str) -> Decimal:
    """The quantum of a currency's minor unit: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    try:
        sub_unit = get_currency(currency).sub_unit
    except CurrencyDoesNotExist:
        raise ApplicationError(
            _("Unknown currency {currency}.").format(currency=currency), field="currency"
        ) from None
    return Decimal(1).scaleb(-(len(str(sub_unit)) - 1)) if sub_unit else Decimal(1)


def round_money(amount: Decimal | Fraction | int, currency: str) -> Decimal:
    """Round half-up (not Python's half-even) to the currency's minor unit."""
    if type(amount) is Decimal:
        # The usual case, first: isinstance(amount, Fraction) goes through the numbers ABCs,
        # and reports round every amount of 100,000 customers' rows.
        return amount.quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)
    if isinstance(amount, Fraction):
        amount = Decimal(amount.numerator) / Decimal(amount.denominator)
    return Decimal(amount).quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)


def times(amount: Decimal, fraction: Fraction | int) -> Decimal:
    """amount × fraction, exact up to Decimal's 28 significant digits, unrounded."""
    fraction = Fraction(fraction)
    return amount * Decimal(fraction.numerator) / Decimal(fraction.denominator)


# Price models -----------------------------------------------------------------------------------


class PricingModel(StrEnum):
    FLAT = "flat"
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


@dataclass(frozen=True, slots=True)
class Tier:
    """Units `first_unit`..`last_unit` (inclusive; None = no upper bound)."""

    first_unit: int
    last_unit: int | None
    unit_price: Decimal
    flat_amount: Decimal = ZERO

    def units_within(self, quantity: int | Decimal) -> int | Decimal:
        top = quantity if self.last_unit is None else min(quantity, self.last_unit)
        return max(0, top - self.first_unit + 1)


def validate_tiers(tiers: Sequence[Tier]) -> None:
    """Tiers must start at unit 1, follow each other without gap or overlap, end open-ended."""
    if not tiers:
        raise ApplicationError(_("Tiered prices need at least one tier."), field="tiers")
    ordered = sorted(tiers, key=lambda tier: tier.first_unit)
    expected_first = 1
    for index, tier in enumerate(ordered):
        if tier.unit_price < 0 or tier.flat_amount < 0:
            raise ApplicationError(_("Tier prices cannot be negative."), field="tiers")
        if tier.first_unit != expected_first:
            raise ApplicationError(
                _(
                    "Tier {n} should start at unit {expected}, not {actual}: tiers follow each "
                    "other without gap or overlap, from unit 1."
                ).format(n=index + 1, expected=expected_first, actual=tier.first_unit),
                field="tiers",
            )
        is_last = index == len(ordered) - 1
        if tier.last_unit is None:
            if not is_last:
                raise ApplicationError(
                    _("Only the last tier can be open-ended (no last unit)."), field="tiers"
                )
        else:
            if tier.last_unit < tier.first_unit:
                raise ApplicationError(
                    _("Tier {n} ends (unit {last}) before it starts (unit {first}).").format(
                        n=index + 1, last=tier.last_unit, first=tier.first_unit
                    ),
                    field="tiers",
                )
            if is_last:
                raise ApplicationError(
                    _(
                        "The last tier must be open-ended (leave its last unit empty), so that "
                        "every quantity has a price."
                    ),
                    field="tiers",
                )
            expected_first = tier.last_unit + 1


def price_for_quantity(
    model: PricingModel | str,
    quantity: int | Decimal,
    *,
    amount: Decimal | None = None,
    tiers: Sequence[Tier] = (),
    package_size: int | None = None,
) -> Decimal:
    """The price of `quantity` units for one price period, unrounded.

    flat: `amount` whatever the quantity (nothing for quantity 0); per unit: `amount` × quantity;
    graduated: each unit at the price of the tier it falls in (plus each reached tier's flat fee);
    volume: every unit at the price of the tier the quantity reaches (plus that tier's flat fee);
    package: `amount` for each started package of `package_size` units (1,001 units in packages
    of 1,000 are two packages).

    Usage quantities (billing-rules §12) may be decimal (a sum of gigabytes): every model takes
    them as they are, a tier's units included.
    """
    model = PricingModel(model)
    if quantity < 0:
        raise ApplicationError(_("A quantity cannot be negative."), field="quantity")
    if quantity == 0:
        return ZERO
    match model:
        case PricingModel.FLAT:
            return _required_amount(amount)
        case PricingModel.PER_UNIT:
            return _required_amount(amount) * quantity
        case PricingModel.GRADUATED:
            validate_tiers(tiers)
            total = ZERO
            for tier in tiers:
                units = tier.units_within(quantity)
                if units:
                    total += tier.unit_price * units + tier.flat_amount
            return total
        case PricingModel.PACKAGE:
            if not package_size or package_size < 1:
                raise ApplicationError(
                    _("A package price needs the number of units in a package."),
                    field="package_size",
                )
            packages = -(-Decimal(quantity) // package_size)  # started packages: ceiling
            return _required_amount(amount) * packages
        case PricingModel.VOLUME:
            validate_tiers(tiers)
            for tier in tiers:
                if tier.first_unit <= quantity and (
                    tier.last_unit is None or quantity <= tier.last_unit
                ):
                    return tier.unit_price * quantity + tier.flat_amount
            raise AssertionError("validated tiers cover every quantity")  # pragma: no cover


def _required_amount(amount: Decimal | None) -> Decimal:
    if amount is None:
        raise ApplicationError(_("This price needs an amount."), field="amount")
    if amount < 0:
        raise ApplicationError(_("A price cannot be negative."), field="amount")
    return amount


def period_ratio(price_period: Period, billing_period: Period, billing_start: date) -> Fraction:
    """How many price periods one billing period is worth (billing-rules §2).

    Month/year with month/year: billing months ÷ price months (a quarter of a yearly price is
    exactly 3/12, whatever the days). Day/week with day/week: exact days. Mixed: the actual days
    of the billing period starting on `billing_start` ÷ the actual days of the price period
    starting on the same day.
    """
    if price_period.months is not None and billing_period.months is not None:
        return Fraction(billing_period.months, price_period.months)
    if price_period.days is not None and billing_period.days is not None:
        return Fraction(billing_period.days, price_period.days)
    billing_days = (billing_start + billing_period.delta() - billing_start).days
    price_days = (billing_start + price_period.delta() - billing_start).days
    return Fraction(billing_days, price_days)


# Discounts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscountStep:
    """One discount applied to a running amount: a percentage of it, or a fixed amount."""

    label: str
    percentage: Decimal | None = None
    amount: Decimal | None = None
    rule: str = ""

    def __post_init__(self) -> None:
        if (self.percentage is None) == (self.amount is None):
            raise ApplicationError(_("A discount is either a percentage or an amount."))
        if self.percentage is not None and not ZERO <= self.percentage <= HUNDRED:
            raise ApplicationError(
                _("A discount percentage lies between 0 and 100."), field="percentage"
            )
        if self.amount is not None and self.amount < 0:
            raise ApplicationError(_("A discount amount cannot be negative."), field="amount")


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    label: str
    amount: Decimal  # rounded, positive: what the line shows as taken off
    rule: str


@dataclass(frozen=True, slots=True)
class PricedAmount:
    """An invoice line's money: rounded gross, each rounded discount, and the net."""

    gross: Decimal
    discounts: tuple[AppliedDiscount, ...] = field(default=())

    @property
    def discount_total(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.discount_total


def apply_discounts(
    gross: Decimal | Fraction,
    steps: Iterable[DiscountStep],
    currency: str,
    *,
    scale: Fraction | int = 1,
) -> PricedAmount:
    """Apply `steps` in order, each on the running amount; never below zero.

    `scale` prorates fixed-amount discounts along with the gross (a 5.00 monthly discount is
    2.50 on half a month); percentages need no scaling.
    """
    gross_rounded = round_money(gross, currency)
    running = gross_rounded
    applied = []
    for step in steps:
        if step.percentage is not None:
            taken = round_money(running * step.percentage / HUNDRED, currency)
        else:
            assert step.amount is not None  # a step takes a percentage or an amount
            taken = round_money(times(step.amount, scale), currency)
        taken = min(taken, running)
        running -= taken
        applied.append(AppliedDiscount(step.label, taken, step.rule))
    return PricedAmount(gross_rounded, tuple(applied))


def allocate_discounts(
    grosses: Sequence[Decimal | Fraction],
    steps: Sequence[DiscountStep],
    applies: Sequence[Sequence[int]],
    currency: str,
    *,
    scales: Sequence[Fraction | int] | None = None,
) -> list[PricedAmount]:
    """Discounts over several lines: `applies[i]` lists the indexes of the steps that apply to
    line i. Steps run in their order; a percentage takes its share of each line it applies to,
    a fixed amount is one budget spent over its lines in order (a 5.00 subscription discount
    takes 5.00 in all, not 5.00 per line). No line goes below zero.
    """
    if scales is None:
        scales = [1] * len(grosses)
    running = [round_money(g, currency) for g in grosses]
    gross_rounded = list(running)
    applied: list[list[AppliedDiscount]] = [[] for _ in grosses]
    for index, step in enumerate(steps):
        lines = [i for i in range(len(grosses)) if index in applies[i]]
        if not lines:
            continue
        if step.percentage is not None:
            for i in lines:
                taken = round_money(running[i] * step.percentage / HUNDRED, currency)
                taken = min(taken, running[i])
                running[i] -= taken
                applied[i].append(AppliedDiscount(step.label, taken, step.rule))
        else:
            # One budget, prorated like the lines it applies to (they share a period).
            assert step.amount is not None  # a step takes a percentage or an amount
            budget = round_money(times(step.amount, scales[lines[0]]), currency)
            for i in lines:
                taken = min(budget, running[i])
                budget -= taken
                running[i] -= taken
                applied[i].append(AppliedDiscount(step.label, taken, step.rule))
    return [PricedAmount(gross_rounded[i], tuple(applied[i])) for i in range(len(grosses))]


# Tax --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    rate: Decimal  # percent, e.g. Decimal("20.00")
    base: Decimal
    tax: Decimal
    category: str = (
        "S"  # EN 16931 VAT category (S, AE, O, E…): a breakdown is per category and rate
    )


@dataclass(frozen=True, slots=True)
class Totals:
    net: Decimal
    taxes: tuple[TaxBreakdown, ...]

    @property
    def tax(self) -> Decimal:
        return sum((t.tax for t in self.taxes), ZERO)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def invoice_totals(lines: Iterable[tuple], currency: str) -> Totals:
    """Totals of (tax rate %, rounded net amount[, VAT category]) lines, tax per category and
    rate (EN 16931 BR-CO-17): the sum of the net amounts at a rate × the rate, rounded half-up
    once. A line without a category is standard-rated (S)."""
    bases: dict[tuple[Decimal, str], Decimal] = {}
    for rate, net, *category in lines:
        if net != round_money(net, currency):
            raise ValueError(f"line amount {net} is not rounded to {currency}")
        key = (rate, category[0] if category else "S")
        bases[key] = bases.get(key, ZERO) + net
    taxes = tuple(
        TaxBreakdown(rate, base, round_money(base * rate / HUNDRED, currency), category)
        for (rate, category), base in sorted(bases.items())
    )
    return Totals(sum(bases.values(), ZERO), taxes)


def split_in_proportion(
    amount: Decimal, weights: Sequence[Decimal], currency: str
) -> list[Decimal]:
    """`amount` shared in proportion to `weights`, to the minor unit, summing to `amount`
    exactly: each share rounded down, the units left over to the largest remainders (first
    ones first on a tie)."""
    total = sum(weights, ZERO)
    if total <= 0:
        raise ValueError("weights must sum to more than zero")
    unit = minor_unit_exponent(currency)
    exact = [amount * w / total for w in weights]
    shares = [(e / unit).to_integral_value(rounding=ROUND_FLOOR) * unit for e in exact]
    left = int(((amount - sum(shares, ZERO)) / unit).to_integral_value())
    by_remainder = sorted(range(len(exact)), key=lambda i: -(exact[i] - shares[i]))
    for i in by_remainder[:left]:
        shares[i] += unit
    return shares


def net_of_gross(gross: Decimal, rate: Decimal, currency: str) -> Decimal | None:
    """The net amount whose tax at `rate` (rounded half-up, as `invoice_totals` does) makes
    exactly `gross`, or None when no amount to the minor unit does (at 20 %, 9.99: 8.32 makes
    9.98 and 8.33 makes 10.00)."""
    unit = minor_unit_exponent(currency)
    guess = round_money(gross * HUNDRED / (HUNDRED + rate), currency)
    for net in (guess, guess - unit, guess + unit):
        if net + round_money(net * rate / HUNDRED, currency) == gross:
            return net
    return None


def prorate(amount: Decimal, change: date, interval: Interval) -> Decimal:
    """`amount` for the rest of `interval` from `change`, unrounded."""
    return times(amount, proration_fraction(change, interval))
