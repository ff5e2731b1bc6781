"""Charges derived from a subscription's timeline (DESIGN.md, "Billing as a function of the
timeline").

`due_charges(context, up_to=D)` lists every charge due up to D: the recurring charge of each
billing period (in advance, on its start), and the one-off charges of the changes (seats added,
upgrades, add-ons: prorated; penalties: at once). Each charge carries a key, unique within its
subscription, that billing stores on the invoice line under a unique constraint: what is due
minus what was invoiced is what to invoice, so invoicing twice bills nothing twice.

Each charge also says why it costs what it costs (`rule`): the quantity, the price and its
period, the proration fraction, the penalty formula, each discount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db.models import Prefetch
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from catalog.models import Bundle, BundleItem, Plan, PriceSheet, Product, TaxRate, Term
from core.money import money_text
from core.periods import (
    Interval,
    Period,
    boundary,
    period_at,
    period_index,
    proration_fraction,
)
from core.pricing import (
    ZERO,
    AppliedDiscount,
    DiscountStep,
    PricedAmount,
    allocate_discounts,
    period_ratio,
    price_for_quantity,
    round_money,
    times,
)
from subscriptions import timeline
from subscriptions.models import SubscriptionDiscount, SubscriptionEvent
from subscriptions.timeline import State

RECURRING = "recurring"
PRORATION = "proration"
PENALTY = "penalty"
ONE_OFF = "one_off"


@dataclass(frozen=True)
class Charge:
    key: str
    kind: str
    charge_date: date
    period: Interval
    description: str
    quantity: Decimal
    unit_amount: Decimal  # per billing period and unit, before proration and discounts
    fraction: Fraction
    priced: PricedAmount
    currency: str
    rule: str
    product_id: int | None = None
    bundle_id: int | None = None
    event_id: int | None = None
    tax_rate: Decimal = ZERO
    tax_rate_id: int | None = None
    ledger_account: str = ""
    invoice_item_type: str = ""

    @property
    def gross(self) -> Decimal:
        return self.priced.gross

    @property
    def discounts(self) -> tuple[AppliedDiscount, ...]:
        return self.priced.discounts

    @property
    def net(self) -> Decimal:
        return self.priced.net


# Reads of many subscriptions at once (the billing run compiles them once: chunk_io).


def discounts_query(ids):
    # No ordering (the default one joins the subscriptions): rules are sorted where applied.
    return (
        SubscriptionDiscount.objects.filter(subscription_id__any=ids)
        .order_by()
        .values_list(
            "subscription_id",
            "id",
            "label",
            "label_fr",
            "percentage",
            "amount",
            "target_product_id",
            "target_bundle_id",
            "sequence",
            "first_period_start",
            "periods",
            "last_period_start",
            "event_id",
            "plan_bound",
            "recurring_only",
        )
    )


def timelines_query(ids):
    return (
        SubscriptionEvent.objects.filter(subscription_id__any=ids)
        .order_by("effective_date", "id")
        .values_list("subscription_id", "id", "kind", "effective_date", "data", "revoked_by_id")
    )


# Catalog lookups ----------------------------------------------------------------------------------


class PriceBook:
    """The catalog rows that pricing needs, loaded once (for a page, a service or a billing
    chunk) in a fixed number of queries, whatever the number of subscriptions priced."""

    def __init__(self, plans: Iterable[Plan] | None = None) -> None:
        self._plans: dict[int, Plan] = {}
        self._bundles: dict[int, Bundle] = {}
        self._terms: dict[int, Term] = {}
        # Lines priced for a state and period: thousands of subscriptions share a few states.
        self.memo: dict[tuple, list] = {}
        if plans is not None:
            for plan in plans:
                self._remember(plan)

    @staticmethod
    def _items() -> Prefetch:
        return Prefetch(
            "items",
            queryset=BundleItem.objects.select_related(
                "product__seat_type", "product__tax_rate", "price_sheet", "discount"
            ).prefetch_related("price_sheet__tiers"),
        )

    @classmethod
    def load_all(cls) -> PriceBook:
        book = cls(
            Plan.objects.select_related("term__tax_rate").prefetch_related(
                Prefetch("bundles", queryset=Bundle.objects.prefetch_related(cls._items())),
                Prefetch("addon_bundles", queryset=Bundle.objects.prefetch_related(cls._items())),
            )
        )
        for term in Term.objects.select_related("tax_rate"):
            book._terms[term.pk] = term
        return book

    def _remember(self, plan: Plan) -> None:
        self._plans[plan.pk] = plan
        for bundle in list(plan.bundles.all()) + list(plan.addon_bundles.all()):
            self._bundles[bundle.pk] = bundle
        if plan.term_id:
            self._terms[plan.term_id] = plan.term

    def plan(self, plan_id: int) -> Plan:
        if plan_id not in self._plans:
            plan = (
                Plan.objects.select_related("term__tax_rate")
                .prefetch_related(
                    Prefetch("bundles", queryset=Bundle.objects.prefetch_related(self._items())),
                    Prefetch(
                        "addon_bundles", queryset=Bundle.objects.prefetch_related(self._items())
                    ),
                )
                .get(pk=plan_id)
            )
            self._remember(plan)
        return self._plans[plan_id]

    def bundle(self, bundle_id: int) -> Bundle:
        if bundle_id not in self._bundles:
            self._bundles[bundle_id] = Bundle.objects.prefetch_related(self._items()).get(
                pk=bundle_id
            )
        return self._bundles[bundle_id]

    def term(self, term_id: int | None) -> Term | None:
        if term_id is None:
            return None
        if term_id not in self._terms:
            self._terms[term_id] = Term.objects.select_related("tax_rate").get(pk=term_id)
        return self._terms[term_id]


# Lines of a state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """What one priced product costs for one billing period in a state (unrounded)."""

    code: str
    product: Product
    bundle: Bundle
    sheet: PriceSheet
    quantity: int
    amount: Decimal
    rule: str

    @property
    def unit_amount(self) -> Decimal:
        return self.amount / self.quantity if self.quantity else ZERO


def _fmt(amount: Decimal, currency: str) -> str:
    """An amount in a formula, its currency said elsewhere: "240.00", "240,00" in French."""
    return money_text(amount, currency, with_currency=False)


def _days_left(change: date, period: Interval) -> str:
    """The proration fraction as people check it: days left / days of the period (45/90)."""
    return f"{(period.end - change).days}/{period.days}"


def _ratio_text(price_period: Period, billing_period: Period, start: date) -> str:
    """The price-period conversion as people check it: 3/12 (months) or 14/28 (days)."""
    if price_period.months is not None and billing_period.months is not None:
        return f"{billing_period.months}/{price_period.months}"
    if price_period.days is not None and billing_period.days is not None:
        return f"{billing_period.days}/{price_period.days}"
    return f"{(start + billing_period.delta() - start).days}/{(start + price_period.delta() - start).days}"


def sheet_amount(
    sheet: PriceSheet, quantity: int, billing_period: Period, period_start: date
) -> tuple[Decimal, str]:
    """Price of `quantity` for one billing period, and how it was computed."""
    base = price_for_quantity(
        sheet.pricing_model,
        quantity,
        amount=sheet.amount.amount if sheet.amount is not None else None,
        tiers=sheet.core_tiers() if sheet.is_tiered else (),
    )
    ratio = period_ratio(sheet.period, billing_period, period_start)
    currency = sheet.currency
    if sheet.pricing_model == "per_unit":
        rule = f"{quantity} × {money_text(sheet.amount.amount, currency)} / {sheet.period}"
    elif sheet.pricing_model == "flat":
        rule = f"{money_text(sheet.amount.amount, currency)} / {sheet.period}"
    else:
        rule = _("%(model)s for %(quantity)s: %(amount)s / %(period)s") % {
            "model": sheet.get_pricing_model_display(),
            "quantity": quantity,
            "amount": money_text(base, currency),
            "period": sheet.period,
        }
    if ratio != 1:
        rule += f" × {_ratio_text(sheet.period, billing_period, period_start)}"
    return times(base, ratio), rule


# Memo keys (PriceBook.memo) derive from the values they stand for: every field of a State or a
# DiscountRule is in the key unless listed here as settled before pricing (a field added later is
# in the key by default: at worst less sharing, never a wrong price). Tested against pricing one
# subscription at a time (tests/subscriptions/test_memo_keys.py).
# What decides whether a period is billed at all (checked before the memo is read).
_NOT_PRICED = frozenset(
    {"commitment_start", "commitment_end", "ends_on", "started", "pending_fulfilment"}
)
# state_lines: its plan is given apart (the state's may be overridden), the term taxes later.
_NOT_IN_LINES = _NOT_PRICED | {"plan_id", "term_id"}


def state_key(state: State, *, ignore: frozenset[str] = frozenset()) -> tuple:
    """A State's values as a hashable key (its dicts as sorted items), less `ignore`."""
    return tuple(
        (name, tuple(sorted(value.items())) if isinstance(value, dict) else value)
        for name, value in sorted(state.__dict__.items())
        if name not in ignore
    )


def state_lines(
    book: PriceBook,
    state: State,
    billing_period: Period,
    period_start: date,
    plan_id: int | None = None,
) -> list[Line]:
    """The priced lines of a state for the billing period starting on `period_start`."""
    plan_id = plan_id or state.plan_id
    key = (
        "lines",
        plan_id,
        state_key(state, ignore=_NOT_IN_LINES),
        billing_period,
        period_start,
        translation.get_language(),  # descriptions and rules are in the invoice's language
    )
    cached = book.memo.get(key)
    if cached is not None:
        return cached
    plan = book.plan(plan_id)
    lines = []

    def add(bundle: Bundle, item: BundleItem, quantity: int, code: str) -> None:
        if quantity <= 0 or item.price_sheet is None:
            return
        amount, rule = sheet_amount(item.price_sheet, quantity, billing_period, period_start)
        lines.append(Line(code, item.product, bundle, item.price_sheet, quantity, amount, rule))

    for bundle in plan.bundles.all():
        for item in bundle.items.all():
            if item.kind != BundleItem.Kind.PRODUCT:
                continue
            if item.product.seat_type_id:
                quantity = state.seats.get(item.product.seat_type_id, 0)
            elif item.required:
                quantity = item.quantity
            else:
                quantity = state.options.get(item.product_id, 0)
            add(bundle, item, quantity, f"p{item.product_id}")
    for bundle_id, count in sorted(state.addons.items()):
        bundle = book.bundle(bundle_id)
        for item in bundle.items.all():
            if item.kind == BundleItem.Kind.PRODUCT:
                add(bundle, item, item.quantity * count, f"a{bundle_id}.p{item.product_id}")
    book.memo[key] = lines
    return lines


# Discounts ---------------------------------------------------------------------------------------


# DiscountRule fields that choose and order the rules of a period (SubscriptionContext.rules_*),
# read before pricing: not in memo keys.
_RULE_CHOICE_FIELDS = frozenset(
    {
        "id",
        "sequence",
        "first_period_start",
        "periods",
        "last_period_start",
        "event_id",
        "plan_bound",
        "recurring_only",
    }
)


@dataclass(frozen=True)
class DiscountRule:
    """A subscription discount as plain values (from SubscriptionDiscount rows).

    Which charges it discounts (billing-rules §7): those of its periods (`applies_to_period`); only
    their recurring charges when `recurring_only` (a coupon: one purchase); and when
    `plan_bound`, only while the plan that brought it lasts (SubscriptionContext.rules_for_*).
    """

    id: int
    label: str  # English (and the fallback)
    label_fr: str
    percentage: Decimal | None
    amount: Decimal | None
    target_product_id: int | None
    target_bundle_id: int | None
    sequence: int
    first_period_start: date
    periods: int | None
    last_period_start: date | None
    event_id: int | None = None
    plan_bound: bool = False
    recurring_only: bool = False

    @classmethod
    def load(cls, subscription_ids) -> dict[int, list[DiscountRule]]:
        """The discount rules of many subscriptions in one query, by subscription id."""
        return cls.from_rows(discounts_query(subscription_ids))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple]) -> dict[int, list[DiscountRule]]:
        """The rules of `discounts_query` rows, by subscription id."""
        rules: dict[int, list[DiscountRule]] = {}
        for row in rows:
            rules.setdefault(row[0], []).append(cls(*row[1:]))
        return rules

    @classmethod
    def from_row(cls, row) -> DiscountRule:
        return cls(
            id=row.pk,
            label=row.label,
            label_fr=row.label_fr,
            percentage=row.percentage,
            amount=row.amount.amount if row.amount is not None else None,
            target_product_id=row.target_product_id,
            target_bundle_id=row.target_bundle_id,
            sequence=row.sequence,
            first_period_start=row.first_period_start,
            periods=row.periods,
            last_period_start=row.last_period_start,
            event_id=row.event_id,
            plan_bound=row.plan_bound,
            recurring_only=row.recurring_only,
        )

    def applies_to_period(self, period_start: date, anchor: date, billing_period: Period) -> bool:
        if period_start < self.first_period_start:
            return False
        if self.last_period_start is not None and period_start >= self.last_period_start:
            return False
        if self.periods is not None:
            elapsed = period_index(anchor, billing_period, period_start) - period_index(
                anchor, billing_period, self.first_period_start
            )
            return elapsed < self.periods
        return True

    def pricing_key(self) -> tuple:
        """What pricing reads of the rule once it is chosen for a period (memo keys): every
        field but those that only choose it (which rows, which periods) and order it (the
        key lists rules in their order)."""
        return tuple(
            getattr(self, f.name) for f in fields(self) if f.name not in _RULE_CHOICE_FIELDS
        )

    def targets(self, product_id: int | None, bundle_id: int | None) -> bool:
        if self.target_product_id is not None:
            return product_id == self.target_product_id
        if self.target_bundle_id is not None:
            return bundle_id == self.target_bundle_id
        return True

    def label_in(self, language: str | None) -> str:
        """The label in the language of the page or invoice (English when it has none)."""
        if (language or "en")[:2] == "fr" and self.label_fr:
            return self.label_fr
        return self.label

    def step(self, language: str | None) -> DiscountStep:
        label = self.label_in(language)
        if self.percentage is not None:
            label = f"{label} (−{number_format(self.percentage.normalize())} %)"
            return DiscountStep(label, percentage=self.percentage, rule=label)
        return DiscountStep(label, amount=self.amount, rule=label)


def _price(
    specs: Sequence[tuple[Decimal, int | None, int | None]],
    rules: Sequence[DiscountRule],
    currency: str,
    scale: Fraction | int = 1,
    language: str | None = None,
) -> list[PricedAmount]:
    """Round and discount lines given as (gross, product id, bundle id), with the rules that
    apply to their charge, in their order (SubscriptionContext.rules_for_*); the discounts are
    labelled in `language` (default: the active one)."""
    applies = [
        [i for i, d in enumerate(rules) if d.targets(product, bundle)]
        for _g, product, bundle in specs
    ]
    return allocate_discounts(
        [gross for gross, _p, _b in specs],
        [d.step(language or translation.get_language()) for d in rules],
        applies,
        currency,
        scales=[scale] * len(specs),
    )


# The context of one subscription ------------------------------------------------------------------


def load_timelines(subscription_ids) -> dict[int, list[timeline.Entry]]:
    """The timelines of many subscriptions in one query, as plain entries, by subscription id."""
    return timelines_from_rows(timelines_query(subscription_ids))


def timelines_from_rows(rows: Iterable[tuple]) -> dict[int, list[timeline.Entry]]:
    """The entries of `timelines_query` rows, by subscription id."""
    entries: dict[int, list[timeline.Entry]] = {}
    for subscription_id, *values in rows:
        entries.setdefault(subscription_id, []).append(timeline.Entry(*values))
    return entries


@dataclass
class SubscriptionContext:
    """Everything needed to price one subscription, as plain values and preloaded rows."""

    subscription_id: int
    anchor: date | None
    currency: str
    events: list
    discounts: list[DiscountRule]
    book: PriceBook
    # The active language (descriptions and rules are written in it), when the caller knows it:
    # asking Django for it costs more than pricing a memoized period.
    language: str | None = None
    _billing_period: Period | None = field(default=None, repr=False)
    # The timeline entries that start and end each plan-bound discount (not copied by
    # dataclasses.replace, whose contexts have other entries).
    _plan_windows: dict | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(
        cls, subscription, *, book: PriceBook | None = None, events=None, discounts=None
    ) -> SubscriptionContext:
        return cls(
            subscription_id=subscription.pk,
            anchor=subscription.anchor_date,
            currency=subscription.currency,
            events=list(events if events is not None else subscription.events.all()),
            discounts=[
                DiscountRule.from_row(d)
                for d in (discounts if discounts is not None else subscription.discounts.all())
            ],
            book=book or PriceBook(),
        )

    @property
    def billing_period(self) -> Period:
        if self._billing_period is None:
            created = next(e for e in self.events if e.kind == timeline.CREATED)
            self._billing_period = self.book.plan(created.data["plan"]).billing_period
        return self._billing_period

    def period_of(self, day: date) -> Interval:
        return period_at(
            self.anchor, self.billing_period, period_index(self.anchor, self.billing_period, day)
        )

    # Which discounts apply to a charge (billing-rules §7) -----------------------------------------

    def rules_for_period(self, period: Interval) -> tuple[DiscountRule, ...]:
        """The discounts of the recurring charges of `period`, in their order of application.

        A plan-bound discount applies while the entry that brought it is in the state the period
        is billed with and the plan change that ends it is not (timeline.state_for_period): a
        downgrade ends it from the period it takes effect, an upgrade from the next one (the
        period of the upgrade was billed on the old plan)."""
        return self._sorted(
            d
            for d in self.discounts
            if d.applies_to_period(period.start, self.anchor, self.billing_period)
            and self._in_force_for_period(d, period.start)
        )

    def rules_for_change(self, period: Interval, event) -> tuple[DiscountRule, ...]:
        """The discounts of the one-off charges of `event` (seats, add-ons, an upgrade), dated
        in `period`: never a coupon's (it discounts one purchase, the recurring invoice it was
        redeemed for), and a plan-bound discount only if brought by `event` or before it and
        not ended by `event` or before it (an upgrade's difference is priced with the new
        plan's discounts, not the old one's)."""
        return self._sorted(
            d
            for d in self.discounts
            if not d.recurring_only
            and d.applies_to_period(period.start, self.anchor, self.billing_period)
            and self._in_force_for_change(d, event)
        )

    @staticmethod
    def _sorted(rules) -> tuple[DiscountRule, ...]:
        return tuple(sorted(rules, key=lambda d: (d.sequence, d.id)))

    _NEVER = "never"

    def _window(self, rule: DiscountRule):
        """(entry that brought it, plan change that ends it or None) of a plan-bound rule; None
        when unbounded; _NEVER when the entry that brought it was revoked (a withdrawn change)."""
        if not rule.plan_bound or rule.event_id is None:
            return None
        if self._plan_windows is None:
            self._plan_windows = self._windows()
        return self._plan_windows.get(rule.id)

    def _windows(self) -> dict:
        if not any(d.plan_bound for d in self.discounts):
            return {}
        entries = timeline.ordered(self.events)
        position = {e.id: i for i, e in enumerate(entries) if e.id is not None}
        revoked = {e.id for e in self.events if e.revoked_by_id is not None}
        windows = {}
        for rule in self.discounts:
            if not rule.plan_bound or rule.event_id is None:
                continue
            if rule.event_id in revoked:
                windows[rule.id] = self._NEVER
                continue
            i = position.get(rule.event_id)
            if i is None:
                continue
            end = next((e for e in entries[i + 1 :] if e.kind == timeline.PLAN_CHANGED), None)
            windows[rule.id] = (entries[i], end)
        return windows

    def _in_force_for_period(self, rule: DiscountRule, period_start: date) -> bool:
        window = self._window(rule)
        if window is None:
            return True
        if window == self._NEVER:
            return False
        start, end = window
        return timeline.billed_with(start, period_start) and (
            end is None or not timeline.billed_with(end, period_start)
        )

    def _in_force_for_change(self, rule: DiscountRule, event) -> bool:
        window = self._window(rule)
        if window is None:
            return True
        if window == self._NEVER:
            return False
        start, end = window
        at = timeline.position(event)
        return timeline.position(start) <= at and (end is None or timeline.position(end) > at)

    def tax_for(
        self, product: Product | None, state: State
    ) -> tuple[Decimal, int | None, str, str]:
        """Tax rate, ledger account and invoice item type of a product's line.

        The rate is the product's, else the term's (until tax determination exists). The ledger
        account and item type are the product's only: the term's belong to its penalty line
        (`penalty_tax`), not to every line of the plan.
        """
        term = self.book.term(state.term_id)
        rate: TaxRate | None = (
            product.tax_rate if product is not None and product.tax_rate_id else None
        ) or (term.tax_rate if term is not None else None)
        ledger = product.ledger_account if product is not None else ""
        item_type = product.invoice_item_type if product is not None else ""
        return (rate.rate if rate else ZERO, rate.pk if rate else None, ledger, item_type)

    def penalty_tax(self, state: State) -> tuple[Decimal, int | None, str, str]:
        """Tax rate, ledger account and invoice item type of the term's penalty line."""
        term = self.book.term(state.term_id)
        rate: TaxRate | None = term.tax_rate if term is not None else None
        return (
            rate.rate if rate else ZERO,
            rate.pk if rate else None,
            term.ledger_account if term else "",
            term.invoice_item_type if term else "",
        )


# Recurring charges --------------------------------------------------------------------------------


def recurring_charges(context: SubscriptionContext, period: Interval) -> list[Charge]:
    """The charges of one billing period, billed in advance on its start."""
    state = timeline.state_for_period(context.events, period.start)
    if not state.is_running_on(period.start):
        return []
    rules = context.rules_for_period(period)
    # Subscriptions in the same state, period, currency, language and discounts owe the same
    # charges (their keys do not name the subscription): priced once per price book.
    key = (
        "recurring",
        state_key(state, ignore=_NOT_PRICED),
        period,
        context.currency,
        context.language or translation.get_language(),
        tuple(rule.pricing_key() for rule in rules),  # in their order of application
    )
    cached = context.book.memo.get(key)
    if cached is not None:
        return cached
    lines = state_lines(context.book, state, context.billing_period, period.start)
    priced = _price(
        [(line.amount, line.product.pk, line.bundle.pk) for line in lines],
        rules,
        context.currency,
        language=context.language,
    )
    charges = []
    for line, amount in zip(lines, priced, strict=True):
        rate, rate_id, ledger, item_type = context.tax_for(line.product, state)
        charges.append(
            Charge(
                key=f"rec:{period.start.isoformat()}:{line.code}",
                kind=RECURRING,
                charge_date=period.start,
                period=period,
                description=line.product.display_name,
                quantity=Decimal(line.quantity),
                unit_amount=line.unit_amount,
                fraction=Fraction(1),
                priced=amount,
                currency=context.currency,
                rule=line.rule,
                product_id=line.product.pk,
                bundle_id=line.bundle.pk,
                tax_rate=rate,
                tax_rate_id=rate_id,
                ledger_account=ledger,
                invoice_item_type=item_type,
            )
        )
    context.book.memo[key] = charges
    return charges


# Charges of a change -------------------------------------------------------------------------------


def event_charges(context: SubscriptionContext, event) -> list[Charge]:
    """The one-off charges a timeline entry causes (none for most kinds)."""
    if event.revoked_by_id is not None:
        return []
    if event.kind == timeline.CANCELLATION:
        return _penalty(context, event)
    if not timeline.is_immediate(event) or context.anchor is None:
        return []
    after = timeline.apply(timeline.state_before(context.events, event), event)
    if event.effective_date < context.anchor or not after.is_running_on(event.effective_date):
        return []  # before the first period (scheduled start, trial): nothing to prorate
    before = timeline.state_before(context.events, event)
    period = context.period_of(event.effective_date)
    fraction = proration_fraction(event.effective_date, period)
    if event.kind == timeline.PLAN_CHANGED:
        return [_upgrade(context, event, before, after, period, fraction)]
    old = {
        line.code: line
        for line in state_lines(context.book, before, context.billing_period, period.start)
    }
    new = state_lines(context.book, after, context.billing_period, period.start)
    changed = [
        (line, line.amount - (old[line.code].amount if line.code in old else ZERO)) for line in new
    ]
    changed = [(line, delta) for line, delta in changed if delta > 0]
    priced = _price(
        [(times(delta, fraction), line.product.pk, line.bundle.pk) for line, delta in changed],
        context.rules_for_change(period, event),
        context.currency,
        scale=fraction,
        language=context.language,
    )
    charges = []
    for (line, delta), amount in zip(changed, priced, strict=True):
        before_quantity = old[line.code].quantity if line.code in old else 0
        added = line.quantity - before_quantity
        rate, rate_id, ledger, item_type = context.tax_for(line.product, after)
        if line.code not in old:
            base = line.rule
        elif line.sheet.pricing_model == "per_unit":
            base = sheet_amount(line.sheet, added, context.billing_period, period.start)[1]
        else:
            base = f"{line.rule} − {old[line.code].rule}"
        charges.append(
            Charge(
                key=f"pro:{event.id}:{line.code}",
                kind=PRORATION,
                charge_date=event.effective_date,
                period=Interval(event.effective_date, period.end),
                description=_("%(product)s: %(added)s added, %(start)s to %(end)s")
                % {
                    "product": line.product.display_name,
                    "added": added,
                    "start": event.effective_date.isoformat(),
                    "end": period.end.isoformat(),
                },
                quantity=Decimal(added),
                unit_amount=delta / added if added else delta,
                fraction=fraction,
                priced=amount,
                currency=context.currency,
                rule=f"({base}) × {_days_left(event.effective_date, period)}",
                product_id=line.product.pk,
                bundle_id=line.bundle.pk,
                event_id=event.id,
                tax_rate=rate,
                tax_rate_id=rate_id,
                ledger_account=ledger,
                invoice_item_type=item_type,
            )
        )
    return charges


def _upgrade(
    context: SubscriptionContext,
    event,
    before: State,
    after: State,
    period: Interval,
    fraction: Fraction,
) -> Charge:
    """billing-rules §6: (new − old) × proration fraction, one line.

    Both sides at their plan's list price, and the difference discounted by the discounts in
    force on the new plan from the change (billing-rules §7: the old plan's discounts end with it;
    the new plan's own, the service period, the partner's and the customer's vouchers apply). The
    period's invoice on the old plan is not revised: what its discount took off stays off, and the
    upgrade does not claw it back (docs/billing-rules.md, "Discounts follow the plan")."""
    old_plan = context.book.plan(before.plan_id)
    new_plan = context.book.plan(after.plan_id)
    old_total = sum(
        (
            line.amount
            for line in state_lines(context.book, before, context.billing_period, period.start)
        ),
        ZERO,
    )
    new_lines = state_lines(context.book, after, context.billing_period, period.start)
    new_total = sum((line.amount for line in new_lines), ZERO)
    difference = max(new_total - old_total, ZERO)
    priced = _price(
        [(times(difference, fraction), None, None)],
        context.rules_for_change(period, event),
        context.currency,
        scale=fraction,
        language=context.language,
    )[0]
    # The difference is the new plan's: its products' account and item type when they agree
    # (never the term's, which belong to its penalty line).
    products = {line.product.pk: line.product for line in new_lines}
    only = next(iter(products.values())) if len(products) == 1 else None
    rate, rate_id, ledger, item_type = context.tax_for(only, after)
    if only is None:
        accounts = {(p.ledger_account, p.invoice_item_type) for p in products.values()}
        if len(accounts) == 1:
            ledger, item_type = next(iter(accounts))
    return Charge(
        key=f"pro:{event.id}:plan",
        kind=PRORATION,
        charge_date=event.effective_date,
        period=Interval(event.effective_date, period.end),
        description=_("Upgrade from %(old)s to %(new)s, %(start)s to %(end)s")
        % {
            "old": old_plan.display_name,
            "new": new_plan.display_name,
            "start": event.effective_date.isoformat(),
            "end": period.end.isoformat(),
        },
        quantity=Decimal(1),
        unit_amount=difference,
        fraction=fraction,
        priced=priced,
        currency=context.currency,
        rule=f"({_fmt(new_total, context.currency)} − {_fmt(old_total, context.currency)}) × {_days_left(event.effective_date, period)}",
        event_id=event.id,
        tax_rate=rate,
        tax_rate_id=rate_id,
        ledger_account=ledger,
        invoice_item_type=item_type,
    )


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
            "cap": _fmt(cap, currency),
            "left": days_left,
            "whole": days_whole,
            "amount": money_text(penalty, currency),
        }
    return _("Early termination penalty: %(amount)s.") % {"amount": money_text(penalty, currency)}


def _penalty_rule_of(event, amount: Decimal, currency: str) -> str:
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


def _penalty(context: SubscriptionContext, event) -> list[Charge]:
    penalty = event.data.get("penalty")
    if not penalty:
        return []
    amount = Decimal(penalty)
    requested_on = date.fromisoformat(event.data["requested_on"])
    state = timeline.state_before(context.events, event)
    rate, rate_id, ledger, item_type = context.penalty_tax(state)
    return [
        Charge(
            key=f"pen:{event.id}",
            kind=PENALTY,
            charge_date=requested_on,
            period=Interval(event.effective_date, date.fromisoformat(event.data["commitment_end"])),
            description=_("Early termination penalty (effective %(date)s)")
            % {"date": event.effective_date.isoformat()},
            quantity=Decimal(1),
            unit_amount=amount,
            fraction=Fraction(1),
            priced=PricedAmount(round_money(amount, context.currency)),
            currency=context.currency,
            rule=_penalty_rule_of(event, amount, context.currency),
            event_id=event.id,
            tax_rate=rate,
            tax_rate_id=rate_id,
            ledger_account=ledger,
            invoice_item_type=item_type,
        )
    ]


# Everything due -------------------------------------------------------------------------------------


def billing_periods(
    context: SubscriptionContext, *, up_to: date, since: date | None = None
) -> list[Interval]:
    """The billing periods starting in [since or anchor, up_to], while the subscription runs."""
    if context.anchor is None:
        return []
    start = max(since or context.anchor, context.anchor)
    k = period_index(context.anchor, context.billing_period, start)
    if boundary(context.anchor, context.billing_period, k) < start:
        k += 1
    periods = []
    while (period := period_at(context.anchor, context.billing_period, k)).start <= up_to:
        periods.append(period)
        k += 1
    return periods


def due_charges(
    context: SubscriptionContext, *, up_to: date, since: date | None = None
) -> list[Charge]:
    """Every charge due in [since, up_to] (since defaults to the anchor): the recurring charges
    of the periods starting then, and the one-off charges of the changes dated then."""
    charges: list[Charge] = []
    for period in billing_periods(context, up_to=up_to, since=since):
        charges.extend(recurring_charges(context, period))
    for event in context.events:
        if since is not None and _charge_date(event) < since:
            continue  # charged before `since`: billing has it already (it keeps that promise)
        charges.extend(c for c in event_charges(context, event) if c.charge_date <= up_to)
    return charges


def _charge_date(event) -> date:
    """When a change's one-off charge falls due: a penalty when asked for, others when effective."""
    if event.kind == timeline.CANCELLATION and event.data.get("requested_on"):
        return date.fromisoformat(event.data["requested_on"])
    return event.effective_date
