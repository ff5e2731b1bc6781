"""What the engine prices, as plain values: a subscription's context (its anchor, currency and
timeline, its discount rules and the price book) and its discount rules.

Contexts are built by `loading.contexts_for`, the one way to load them; the engine reads them
and never the database (but for the price book's catalog rows, loaded once).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from catalog.models import Product, TaxRate
from catalog.selectors import line_tax_rate
from catalog.tax import Buyer, Treatment
from core.periods import Interval, Period, period_at, period_index
from core.pricing import DiscountStep
from subscriptions import timeline
from subscriptions.charges.book import PriceBook
from subscriptions.charges.lines import Line, state_lines
from subscriptions.timeline import State
from subscriptions.usage import UsageReader

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


@dataclass(frozen=True)
class HeldContract:
    """A product contract a subscription holds (a SubscriptionContract row), as plain values."""

    id: int
    contract_id: int
    start_date: date
    end_date: date | None
    status: str
    quantity: int


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
    # The party invoiced, as tax sees it: the tax of every line follows it (billing-rules §10).
    buyer: Buyer | None = None
    # Its product contracts (issues and bought credits are charged from them).
    contracts: list[HeldContract] = field(default_factory=list)
    # Where usage quantities are read (one query per metric and window for a whole chunk);
    # None: the subscription's own, read when asked.
    usage: UsageReader | None = None
    # Set by the engine when a period's usage is due but its window is still open: the run
    # leaves the subscription for its next pass, so that usage and the period's charge share
    # one invoice (subscriptions/usage.py).
    usage_waiting: bool = False
    _billing_period: Period | None = field(default=None, repr=False)
    # The timeline entries that start and end each plan-bound discount (not copied by
    # dataclasses.replace, whose contexts have other entries).
    _plan_windows: dict | None = field(default=None, init=False, repr=False)
    # The timeline folded once (timeline.Fold), for the `events` list it was built from.
    _fold: tuple[list, int, timeline.Fold] | None = field(default=None, init=False, repr=False)

    @property
    def fold(self) -> timeline.Fold:
        """The timeline sorted and folded once for every state asked of it; rebuilt when
        `events` is replaced or grows (the run's advance appends renewals)."""
        # The list itself is kept (not its id, which a new list could reuse) and compared by
        # identity.
        if (
            self._fold is None
            or self._fold[0] is not self.events
            or self._fold[1] != len(self.events)
        ):
            self._fold = (self.events, len(self.events), timeline.Fold(self.events))
        return self._fold[2]

    @property
    def billing_period(self) -> Period:
        if self._billing_period is None:
            created = next(e for e in self.events if e.kind == timeline.CREATED)
            self._billing_period = self.book.plan(created.data["plan"]).billing_period
        return self._billing_period

    def lines(self, state: State, period_start: date) -> list[Line]:
        """The priced lines of `state` for the billing period starting on `period_start`, in
        the context's language (`state_lines`, memoized in the price book)."""
        return state_lines(
            self.book, state, self.billing_period, period_start, language=self.language
        )

    def ever_metered(self) -> bool:
        """Whether a plan of the timeline charges usage (most never do: the nightly run then
        skips the windows' arithmetic, and reads no usage for them)."""
        plan_ids = {
            e.data.get("plan") if e.kind == timeline.CREATED else e.data.get("to")
            for e in self.events
            if e.kind in (timeline.CREATED, timeline.PLAN_CHANGED)
        }
        return any(self.book.usage_charges(plan_id) for plan_id in plan_ids if plan_id)

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
        entries = self.fold.entries
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

    def tax_for(self, product: Product | None, state: State) -> tuple[Treatment, str, str]:
        """How a product's line is taxed, its ledger account and invoice item type.

        The tax follows the parties (catalog/tax.py): the buyer, and the product's own rate,
        else the term's. The ledger account and item type are the product's only: the term's
        belong to its penalty line (`penalty_tax`), not to every line of the plan.
        """
        language = self.language or translation.get_language()
        # The same for every line of a product sold under a term to a buyer (thousands in a
        # run): worked out once per price book. A refusal (TaxUndetermined) is not kept.
        product_id = product.pk if product is not None else None
        key = ("tax", product_id, state.term_id, self.buyer, language)
        cached = self.book.memo.get(key)
        if cached is not None:
            return cached
        term = self.book.term(state.term_id)
        rate = line_tax_rate(product, term)
        what = (
            _("The product %(code)s") % {"code": product.code}
            if product is not None
            else _("The plan's term")
        )
        ledger = product.ledger_account if product is not None else ""
        item_type = product.invoice_item_type if product is not None else ""
        taxed = self._treatment(rate, what), ledger, item_type
        self.book.memo[key] = taxed
        return taxed

    def penalty_tax(self, state: State) -> tuple[Treatment, str, str]:
        """How the term's penalty line is taxed, its ledger account and invoice item type."""
        term = self.book.term(state.term_id)
        rate: TaxRate | None = term.tax_rate if term is not None else None
        what = _("The term %(code)s") % {"code": term.code} if term else _("The plan's term")
        return (
            self._treatment(rate, what),
            term.ledger_account if term else "",
            term.invoice_item_type if term else "",
        )

    def _treatment(self, rate: TaxRate | None, what: str) -> Treatment:
        tax = self.book.tax
        # Priced for no one in particular (a catalog quote): as at home.
        buyer = self.buyer or Buyer(tax.seller_country, has_vat_number=True)
        # The mention is written in the language the lines are (the invoice's).
        language = self.language or translation.get_language()
        return tax.treatment(rate=rate, buyer=buyer, what=what, language=language)
