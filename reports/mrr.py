"""Monthly recurring revenue, derived from the timeline (docs/billing-rules.md, "Revenue figures").

A subscription's MRR on a day is what its recurring charge would be for the billing period
containing that day, priced by the billing engine itself (the same price book, sheets, tiers and
discounts, the partner's last), for the state the timeline gives at the end of that day,
normalized to one month and rounded once to the currency's minor unit. No tax, no one-off charge
(prorations, penalties), nothing in a trial or before the first billed period, nothing from the
day the subscription ends.

MRR only changes on the dates where something can change it: the anchor, a timeline entry's
effective date and, for a subscription whose discounts run for a number of periods or from a
later period, each period start. So a subscription's MRR history is a short list of *segments*
(from, to, amount), stored by `reports.services.mrr_refresh` and summed by the selectors: MRR on
any day is one indexed SUM, whatever the number of days asked for.

Movements (ChartMogul's definitions) are per customer — the end customer, whoever is invoiced —
and per currency, between two days: from nothing to something is *new* if the customer never had
MRR before, *reactivation* otherwise; from something to nothing is *churn*; up is *expansion*,
down *contraction*. An upgrade moves one customer's MRR up: expansion, never churn + new. Because
each customer's change lands in exactly one movement, MRR(end) = MRR(start) + new + expansion +
reactivation − contraction − churn, to the cent, by construction (tests check it on random
timelines).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from core.periods import Period, Unit, period_at, period_index
from core.pricing import ZERO, allocate_discounts, round_money
from subscriptions.charges import SubscriptionContext
from subscriptions.charges.lines import NOT_PRICED, state_key

# Weeks and days are normalized on the calendar year: 52 weeks and 365 days make 12 months.
_PER_MONTH = {Unit.WEEK: Fraction(52, 12), Unit.DAY: Fraction(365, 12)}


def monthly(amount: Decimal, period: Period, currency: str) -> Decimal:
    """An amount charged every `period`, as one month's worth, rounded half-up once.

    A yearly 1,200.00 is 100.00; a quarterly 90.00 is 30.00; a weekly 10.00 is 43.33."""
    if period.months is not None:
        return round_money(Fraction(amount) / period.months, currency)
    assert period.days is not None  # day and week periods
    per_unit = _PER_MONTH[period.unit] / period.count
    return round_money(Fraction(amount) * per_unit, currency)


def subscription_mrr(context: SubscriptionContext, day: date) -> Decimal:
    """The subscription's MRR on `day` (unrounded inputs, one rounding), 0 when nothing recurs."""
    if context.anchor is None or day < context.anchor or not context.events:
        return ZERO
    state = context.fold.state_on(day)
    if not state.is_running_on(day) or state.plan_id is None:
        return ZERO
    period = context.period_of(day)
    rules = context.rules_for_period(period)
    key = (
        "mrr",
        state_key(state, ignore=NOT_PRICED),
        context.billing_period,
        period.start if _depends_on_start(context.billing_period) else None,
        context.currency,
        tuple(rule.pricing_key() for rule in rules),
    )
    memo = context.book.memo  # the price book's memo keeps lists
    cached = memo.get(key)
    if cached is not None:
        return cached[0]
    lines = context.lines(state, period.start)
    priced = allocate_discounts(
        [line.amount for line in lines],
        [rule.step("en") for rule in rules],
        [
            [i for i, rule in enumerate(rules) if rule.targets(line.product.pk, line.bundle.pk)]
            for line in lines
        ],
        context.currency,
    )
    amount = monthly(sum((p.net for p in priced), ZERO), context.billing_period, context.currency)
    memo[key] = [amount]
    return amount


def _depends_on_start(period: Period) -> bool:
    # A month or year period's price does not depend on the day it starts; a price sheet of
    # another length is converted by exact days for day and week periods (billing-rules §2).
    return period.months is None


@dataclass(frozen=True)
class Segment:
    start: date
    end: date | None  # excluded; None: until something changes it
    amount: Decimal
    plan_id: int


def segments(context: SubscriptionContext, *, horizon: date) -> list[Segment]:
    """The subscription's MRR as segments of constant amount, up to `horizon` (after which the
    last one stays open unless the subscription has ended). Zero amounts are left out."""
    if context.anchor is None or not context.events:
        return []
    days = {context.anchor}
    entries = context.fold.entries
    for entry in entries:
        if entry.effective_date > context.anchor:
            days.add(entry.effective_date)
    if any(_varies_by_period(rule, context) for rule in context.discounts):
        k = period_index(context.anchor, context.billing_period, context.anchor)
        while (start := period_at(context.anchor, context.billing_period, k).start) <= horizon:
            days.add(start)
            k += 1
    result: list[Segment] = []
    open_: tuple[date, Decimal, int] | None = None
    for day in sorted(d for d in days if d <= horizon):
        amount = subscription_mrr(context, day)
        plan_id = context.fold.state_on(day).plan_id if amount else None
        if open_ is not None and (amount, plan_id) == (open_[1], open_[2]):
            continue
        if open_ is not None:
            result.append(Segment(open_[0], day, open_[1], open_[2]))
            open_ = None
        if amount and plan_id is not None:
            open_ = (day, amount, plan_id)
    if open_ is not None:
        ends_on = context.fold.state_on(date.max).ends_on
        result.append(Segment(open_[0], ends_on, open_[1], open_[2]))
    return result


def _varies_by_period(rule, context: SubscriptionContext) -> bool:
    return (
        rule.periods is not None
        or rule.last_period_start is not None
        or rule.first_period_start > context.anchor
    )


# Movements -----------------------------------------------------------------------------------------

NEW = "new"
EXPANSION = "expansion"
CONTRACTION = "contraction"
CHURN = "churn"
REACTIVATION = "reactivation"
KINDS = (NEW, EXPANSION, REACTIVATION, CONTRACTION, CHURN)
DOWN = frozenset({CONTRACTION, CHURN})


@dataclass(frozen=True)
class Change:
    """One customer's MRR change between two days, and the movement it is."""

    customer_id: int
    currency: str
    before: Decimal
    after: Decimal
    kind: str

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


@dataclass
class Movements:
    """MRR between two days in one currency, and why it moved (all amounts positive)."""

    currency: str
    start: Decimal = ZERO
    end: Decimal = ZERO
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(KINDS, ZERO))
    customers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    customers_start: int = 0  # paying customers on the first day
    customers_end: int = 0  # ...and on the last

    @property
    def net(self) -> Decimal:
        return sum(
            (-a if kind in DOWN else a for kind, a in self.amounts.items()),
            ZERO,
        )

    def balances(self) -> bool:
        return self.end == self.start + self.net


def classify(before: Decimal, after: Decimal, *, seen_before: bool) -> str | None:
    """Which movement a customer's MRR change is (None: it did not change)."""
    if before == after:
        return None
    if not before:
        return REACTIVATION if seen_before else NEW
    if not after:
        return CHURN
    return EXPANSION if after > before else CONTRACTION


def movements(
    rows: Iterable[tuple[int, str, Decimal, Decimal, bool]],
) -> tuple[dict[str, Movements], list[Change]]:
    """Per currency movements from per-customer rows (customer, currency, MRR before, MRR
    after, whether the customer had MRR before the start), and the changes they are made of."""
    result: dict[str, Movements] = {}
    changes: list[Change] = []
    for customer_id, currency, before, after, seen_before in rows:
        total = result.setdefault(currency, Movements(currency))
        total.start += before
        total.end += after
        kind = classify(before, after, seen_before=seen_before)
        if kind is None:
            continue
        total.amounts[kind] += abs(after - before)
        total.customers[kind] += 1
        changes.append(Change(customer_id, currency, before, after, kind))
    return result, changes


# Rates ------------------------------------------------------------------------------------------

RATE = Decimal("0.0001")  # rates are kept as ratios to four places: 0.0123 is 1.23 %


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part ÷ whole to four places, half-up; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP)


def annual(monthly_amount: Decimal) -> Decimal:
    """ARR: an MRR as a year's worth (MRR × 12)."""
    return monthly_amount * 12


@dataclass(frozen=True)
class Metrics:
    """A period's SaaS figures in one currency (docs/billing-rules.md, "Revenue figures")."""

    currency: str
    mrr: Decimal  # at the end of the period
    arr: Decimal  # MRR × 12
    subscriptions: int  # paying at the end
    customers: int  # paying at the end
    arpu: Decimal | None  # MRR ÷ paying customers
    logo_churn: Decimal | None  # customers lost ÷ paying customers at the start
    revenue_churn: Decimal | None  # (churn + contraction) ÷ MRR at the start
    net_retention: Decimal | None  # (start + expansion − contraction − churn) ÷ start
    trial_conversion: Decimal | None  # trials ended and billed ÷ trials ended


def metrics(
    moved: Movements,
    *,
    subscriptions: int,
    customers: int,
    customers_start: int,
    trials: tuple[int, int] = (0, 0),
) -> Metrics:
    """The figures of a period from its movements and its counts; `trials` is (ended, converted)."""
    kept = (
        moved.start + moved.amounts[EXPANSION] - moved.amounts[CONTRACTION] - moved.amounts[CHURN]
    )
    return Metrics(
        currency=moved.currency,
        mrr=moved.end,
        arr=annual(moved.end),
        subscriptions=subscriptions,
        customers=customers,
        arpu=round_money(moved.end / customers, moved.currency) if customers else None,
        logo_churn=ratio(moved.customers[CHURN], customers_start),
        revenue_churn=ratio(moved.amounts[CHURN] + moved.amounts[CONTRACTION], moved.start),
        net_retention=ratio(kept, moved.start),
        trial_conversion=ratio(trials[1], trials[0]),
    )
