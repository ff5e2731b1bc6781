"""The priced lines of a subscription's state for one billing period: which products, how
many, at what price of their sheet (converted to the billing period), memoized in the price book."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.utils import translation
from django.utils.translation import gettext as _

from catalog.models import Bundle, BundleItem, PriceSheet, Product
from core.money import money_text
from core.periods import Period
from core.pricing import ZERO, period_ratio, price_for_quantity, times
from subscriptions.charges.book import PriceBook
from subscriptions.charges.wording import ratio_text
from subscriptions.timeline import State


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


def sheet_terms(
    sheet: PriceSheet, billing_period: Period, period_start: date
) -> tuple[Fraction, str, str]:
    """What a sheet's rule says whatever the quantity, in the active language: the ratio of its
    period to the billing period, the price and its period ("12,00 € / 1 an"; tiered: the
    period alone), and the conversion (" × 1/12", or "")."""
    ratio = period_ratio(sheet.period, billing_period, period_start)
    if sheet.pricing_model in ("per_unit", "flat"):
        price = f"{money_text(sheet.amount.amount, sheet.currency)} / {sheet.period}"
    else:
        price = str(sheet.period)
    conversion = (
        f" × {ratio_text(sheet.period, billing_period, period_start)}" if ratio != 1 else ""
    )
    return ratio, price, conversion


def sheet_amount(
    sheet: PriceSheet,
    quantity: int,
    billing_period: Period,
    period_start: date,
    terms: tuple[Fraction, str, str] | None = None,
) -> tuple[Decimal, str]:
    """Price of `quantity` for one billing period, and how it was computed. `terms`: the
    sheet's `sheet_terms` for this period (the run memoizes them: many quantities share them)."""
    ratio, price, conversion = terms or sheet_terms(sheet, billing_period, period_start)
    base = price_for_quantity(
        sheet.pricing_model,
        quantity,
        amount=sheet.amount.amount if sheet.amount is not None else None,
        tiers=sheet.core_tiers() if sheet.is_tiered else (),
        package_size=sheet.package_size,
    )
    if sheet.pricing_model == "per_unit":
        rule = f"{quantity} × {price}"
    elif sheet.pricing_model == "flat":
        rule = price
    else:
        rule = _("%(model)s for %(quantity)s: %(amount)s / %(period)s") % {
            "model": sheet.get_pricing_model_display(),
            "quantity": quantity,
            "amount": money_text(base, sheet.currency),
            "period": price,
        }
    return times(base, ratio), rule + conversion


# Memo keys (PriceBook.memo) derive from the values they stand for: every field of a State or a
# DiscountRule is in the key unless listed here as settled before pricing (a field added later is
# in the key by default: at worst less sharing, never a wrong price). Tested against pricing one
# subscription at a time (tests/subscriptions/test_memo_keys.py).
# What decides whether a period is billed at all (checked before the memo is read).
NOT_PRICED = frozenset(
    {"commitment_start", "commitment_end", "ends_on", "started", "pending_fulfilment"}
)
# state_lines: its plan is given apart (the state's may be overridden), the term taxes later.
_NOT_IN_LINES = NOT_PRICED | {"plan_id", "term_id"}


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
    language: str | None = None,
) -> list[Line]:
    """The priced lines of a state for the billing period starting on `period_start`, in
    `language` (default: the active one; the run passes it, asking Django costs more)."""
    plan_id = plan_id or state.plan_id
    language = language or translation.get_language()
    key = (
        "lines",
        plan_id,
        state_key(state, ignore=_NOT_IN_LINES),
        billing_period,
        period_start,
        language,  # descriptions and rules are in the invoice's language
    )
    cached = book.memo.get(key)
    if cached is not None:
        return cached
    lines = []

    def add(bundle: Bundle, item: BundleItem, quantity: int, code: str) -> None:
        if quantity <= 0 or item.price_sheet is None:
            return
        # Many states share a product at a quantity (seats drawn apart, the same options):
        # its amount is priced once per sheet, quantity, period and language.
        sheet_key = ("sheet", item.price_sheet.pk, quantity, billing_period, period_start, language)
        priced = book.memo.get(sheet_key)
        if priced is None:
            # Most quantities are new (seats drawn apart); the sheet's words are not.
            terms_key = ("terms", item.price_sheet.pk, billing_period, period_start, language)
            terms = book.memo.get(terms_key)
            if terms is None:
                terms = sheet_terms(item.price_sheet, billing_period, period_start)
                book.memo[terms_key] = terms
            priced = sheet_amount(item.price_sheet, quantity, billing_period, period_start, terms)
            book.memo[sheet_key] = priced
        amount, rule = priced
        lines.append(Line(code, item.product, bundle, item.price_sheet, quantity, amount, rule))

    for bundle, item in book.plan_products(plan_id):
        if item.product.seat_type_id:
            quantity = state.seats.get(item.product.seat_type_id, 0)
        elif item.required:
            quantity = item.quantity
        else:
            quantity = state.options.get(item.product_id, 0)
        add(bundle, item, quantity, f"p{item.product_id}")
    for bundle_id, count in sorted(state.addons.items()):
        bundle = book.bundle(bundle_id)
        for item in book.bundle_products(bundle_id):
            add(bundle, item, item.quantity * count, f"a{bundle_id}.p{item.product_id}")
    book.memo[key] = lines
    return lines
