"""Reads of the storefront: an offers grid with everything its page shows, in a fixed number of
queries whatever the number of plans, and the cards of its page in plain words.

Prices are never computed here: a card's price is the price book's lines of the plan for one
billing period (subscriptions.charges.lines.state_lines, as invoices price them), taxed by the
seller's tax rules (catalog.tax) for a consumer of the visitor's country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import (
    Bundle,
    BundleItem,
    Feature,
    OffersGrid,
    OffersGridPlan,
    Plan,
    PlanFeature,
    PriceSheet,
    PriceTier,
    ServicePeriodOption,
    UsageCharge,
)
from catalog.selectors import line_tax_rate, price_sheet_summary, unit_price_text
from catalog.tax import Buyer, TaxUndetermined, default_mention
from core.periods import Period, Unit
from core.pricing import ZERO, invoice_totals, round_money
from subscriptions.charges.book import PriceBook
from subscriptions.charges.lines import state_lines
from subscriptions.timeline import State

# Grids ----------------------------------------------------------------------------------------------


def listed_grids() -> QuerySet[OffersGrid]:
    """The grids /offers/ lists: published and public (partner and campaign grids are reached by
    their own link)."""
    return OffersGrid.objects.filter(is_active=True, segment=OffersGrid.Segment.PUBLIC)


# The prefetches order by their own columns: the models' default orderings ("plan", "bundle",
# "price_sheet" first) join the parent table again for an order the page does not need, and
# compiling them was a third of the page's time.
_TIERS = Prefetch("price_sheet__tiers", queryset=PriceTier.objects.order_by("first_unit"))


def _items() -> Prefetch:
    return Prefetch(
        "items",
        queryset=BundleItem.objects.select_related(
            "product__seat_type", "product__tax_rate", "price_sheet", "discount"
        )
        .prefetch_related(_TIERS)
        .order_by("position", "id"),
    )


def _plan_contents(plans: list[Plan]) -> None:
    """What the cards and the price book read of the plans, one query per relation for all of
    them: bundles and add-on bundles with their items, sheets and tiers; features; usage charges
    with their metrics, sheets and tiers; service periods."""
    prefetch_related_objects(
        plans,
        Prefetch("bundles", queryset=Bundle.objects.prefetch_related(_items())),
        Prefetch("addon_bundles", queryset=Bundle.objects.prefetch_related(_items())),
        Prefetch(
            "plan_features",
            queryset=PlanFeature.objects.select_related("feature").order_by("id"),
        ),
        Prefetch(
            "usage_charges",
            queryset=UsageCharge.objects.select_related("metric", "price_sheet__product__tax_rate")
            .prefetch_related(_TIERS)
            .order_by("position", "id"),
        ),
        Prefetch("service_periods", queryset=ServicePeriodOption.objects.order_by("years")),
    )


def published_grid(code: str) -> OffersGrid | None:
    """A published grid with its campaign, its plans in order and all they show (a fixed
    number of queries: tested for 2 and 6 plans)."""
    terms = ("term__tax_rate", "term__renewal_term")
    entries = OffersGridPlan.objects.select_related(
        "plan",
        "yearly_plan",
        *(f"plan__{t}" for t in terms),
        *(f"yearly_plan__{t}" for t in terms),
    ).order_by("position", "id")
    grid = (
        OffersGrid.objects.filter(code=code, is_active=True)
        .select_related("campaign")
        .prefetch_related(Prefetch("entries", queryset=entries))
        .first()
    )
    if grid is None:
        return None
    plans = {}
    for entry in grid.entries.all():
        plans[entry.plan.pk] = entry.plan
        if entry.yearly_plan is not None:
            plans[entry.yearly_plan.pk] = entry.yearly_plan
    if plans:
        _plan_contents(list(plans.values()))
    return grid


# Countries ------------------------------------------------------------------------------------------

# Babel's territories that are not countries a buyer lives in.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"}


@lru_cache(maxsize=8)
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (ValueError, LookupError):
        locale = Locale.parse("en")
    names = locale.territories
    return tuple(
        sorted(
            (
                (code, name)
                for code, name in names.items()
                if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
            ),
            key=lambda item: item[1].casefold(),
        )
    )


def countries() -> tuple[tuple[str, str], ...]:
    """(ISO code, name in the page's language) of every country, by name."""
    return _countries(translation.get_language() or "en")


def country_name(code: str) -> str:
    return dict(countries()).get(code, code)


# Cards ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceShown:
    """A plan's price for one billing period, for a consumer of one country."""

    net: Decimal
    gross: Decimal | None  # None: the tax could not be determined
    currency: str
    tax_note: str = ""  # why there is no VAT, or why it is not shown


@dataclass(frozen=True)
class FeatureShown:
    name: str
    included: bool
    value: str  # "200 GB", "unlimited", "" for an on/off feature


@dataclass
class Card:
    entry: OffersGridPlan
    plan: Plan
    name: str
    description: str
    price: PriceShown
    period_label: str
    per_seat: bool
    usage: list[str]
    trial: str
    commitment: str
    notice: str
    features: list[FeatureShown]
    checkout_url: str
    other_period_only: bool = False  # yearly asked, but this offer is billed monthly only

    @property
    def highlighted(self) -> bool:
        return self.entry.highlighted

    @property
    def badge(self) -> str:
        return self.entry.display_badge


@dataclass
class GridPage:
    grid: OffersGrid
    cards: list[Card]
    yearly: bool
    has_yearly: bool
    country: str
    country_name: str
    features: list[Feature] = field(default_factory=list)


def grid_page(grid: OffersGrid, *, country: str, yearly: bool, today: date) -> GridPage:
    """The cards of a grid (published_grid's) for a visitor of `country`, billed yearly where
    the offer has a yearly twin when `yearly`. Plans that cannot be sold today are left out."""
    entries = [
        entry
        for entry in grid.entries.all()
        if entry.plan.status == Plan.Status.ACTIVE and entry.plan.is_valid_on(today)
    ]
    has_yearly = any(_sellable_yearly(entry, today) for entry in entries)
    yearly = yearly and has_yearly
    twins = [_sellable_yearly(entry, today) for entry in entries]
    plans = [entry.plan for entry in entries] + [twin for twin in twins if twin is not None]
    book = PriceBook(plans)
    buyer = Buyer(country, has_vat_number=False)
    features = _features_of(plans)
    cards = []
    for entry in entries:
        twin = _sellable_yearly(entry, today)
        plan = twin if (yearly and twin is not None) else entry.plan
        cards.append(
            _card(
                grid,
                entry,
                plan,
                book=book,
                buyer=buyer,
                features=features,
                today=today,
                other_period_only=yearly and twin is None,
            )
        )
    return GridPage(
        grid=grid,
        cards=cards,
        yearly=yearly,
        has_yearly=has_yearly,
        country=country,
        country_name=country_name(country),
        features=features,
    )


def _sellable_yearly(entry: OffersGridPlan, today: date) -> Plan | None:
    plan = entry.yearly_plan
    if plan is None or plan.status != Plan.Status.ACTIVE or not plan.is_valid_on(today):
        return None
    return plan


def _features_of(plans: list[Plan]) -> list[Feature]:
    """Every feature one of the plans gives a value, by name: each card says each one."""
    found: dict[int, Feature] = {}
    for plan in plans:
        for value in plan.plan_features.all():
            found.setdefault(value.feature.pk, value.feature)
    return sorted(found.values(), key=lambda f: f.display_name.casefold())


def _card(
    grid: OffersGrid,
    entry: OffersGridPlan,
    plan: Plan,
    *,
    book: PriceBook,
    buyer: Buyer,
    features: list[Feature],
    today: date,
    other_period_only: bool,
) -> Card:
    seats = {
        item.product.seat_type_id: 1
        for bundle in plan.bundles.all()
        for item in bundle.items.all()
        if item.product is not None and item.product.seat_type_id
    }
    return Card(
        entry=entry,
        plan=plan,
        name=plan.display_name,
        description=plan.display_description,
        price=_price(plan, seats, book=book, buyer=buyer, today=today),
        period_label=per_period(plan.billing_period),
        per_seat=bool(seats),
        usage=[usage_text(charge) for charge in plan.usage_charges.all()],
        trial=trial_text(plan.trial_period),
        commitment=commitment_text(plan),
        notice=notice_text(plan),
        features=_feature_values(plan, features),
        # The country goes on to the checkout, where it is the billing address's first guess.
        checkout_url=reverse("storefront:checkout", args=[grid.code, plan.code])
        + f"?country={buyer.country}",
        other_period_only=other_period_only,
    )


def _price(
    plan: Plan, seats: dict[int, int], *, book: PriceBook, buyer: Buyer, today: date
) -> PriceShown:
    """The plan's recurring charges for one billing period (one seat of each type), as the
    price book prices them, and their VAT for `buyer`."""
    currency = plan.currency
    state = State(plan_id=plan.pk, term_id=plan.term_id, seats=seats, started=True)
    lines = state_lines(book, state, plan.billing_period, today)
    nets = [round_money(line.amount, currency) for line in lines]
    net = sum(nets, ZERO)
    try:
        treatments = [
            book.tax.treatment(
                rate=line_tax_rate(line.product, plan.term),
                buyer=buyer,
                what=line.product.code,
            )
            for line in lines
        ]
    except TaxUndetermined:
        return PriceShown(
            net,
            None,
            currency,
            _("The VAT for %(country)s could not be determined: prices are shown without it.")
            % {"country": country_name(buyer.country)},
        )
    totals = invoice_totals(
        [(t.rate, amount, t.category) for t, amount in zip(treatments, nets, strict=True)],
        currency,
    )
    untaxed = {t.category for t in treatments if t.category != "S"}
    note = default_mention(untaxed.pop(), translation.get_language()) if untaxed else ""
    return PriceShown(totals.net, totals.gross, currency, note)


# Wording ----------------------------------------------------------------------------------------------


def per_period(period: Period) -> str:
    """ "per month", "per year", "every 2 weeks"."""
    named = {
        (1, Unit.MONTH): _("per month"),
        (3, Unit.MONTH): _("per quarter"),
        (6, Unit.MONTH): _("per half-year"),
        (1, Unit.YEAR): _("per year"),
        (1, Unit.WEEK): _("per week"),
        (1, Unit.DAY): _("per day"),
    }
    return named.get((period.count, period.unit)) or _("every %(period)s") % {"period": period}


def trial_text(trial: Period | None) -> str:
    """ "14-day free trial"."""
    if trial is None:
        return ""
    n = trial.count
    match trial.unit:
        case Unit.DAY:
            return ngettext("%(n)s-day free trial", "%(n)s-day free trial", n) % {"n": n}
        case Unit.WEEK:
            return ngettext("%(n)s-week free trial", "%(n)s-week free trial", n) % {"n": n}
        case Unit.MONTH:
            return ngettext("%(n)s-month free trial", "%(n)s-month free trial", n) % {"n": n}
        case _:
            return ngettext("%(n)s-year free trial", "%(n)s-year free trial", n) % {"n": n}


def _times(period: Period, count: int) -> Period:
    return Period(period.count * count, period.unit)


def _longer(a: Period | None, b: Period | None) -> Period | None:
    if a is None or b is None:
        return a or b
    if a.months is not None and b.months is not None:
        return a if a.months >= b.months else b
    if a.days is not None and b.days is not None:
        return a if a.days >= b.days else b
    return a


def commitment_text(plan: Plan) -> str:
    """ "Commitment: 12 months, then month to month", "No commitment"."""
    billing = plan.billing_period
    term = plan.term
    length = (
        _times(billing, plan.minimum_commitment_occurrences)
        if plan.minimum_commitment_occurrences
        else None
    )
    if term is not None and term.commitment_count:
        if term.commitment_basis == term.CommitmentBasis.BILLING_CYCLES:
            length = _longer(length, _times(billing, term.commitment_count))
        else:
            length = _longer(length, term.commitment_period)
    if length is None:
        return _("No commitment")
    renewal = term.renewal_term if term is not None else None
    if renewal is not None and renewal.commitment_period is not None:
        then = _("then renewed for %(length)s at a time") % {"length": renewal.commitment_period}
    elif term is not None and not term.auto_renew:
        then = _("then it ends")
    elif (billing.count, billing.unit) == (1, Unit.MONTH):
        then = _("then month to month")
    elif (billing.count, billing.unit) == (1, Unit.YEAR):
        then = _("then year to year")
    else:
        then = _("then renewed every %(period)s") % {"period": billing}
    return _("Commitment: %(length)s, %(then)s") % {"length": length, "then": then}


def notice_text(plan: Plan) -> str:
    """ "Notice: 1 month" (empty without a notice period)."""
    term = plan.term
    if term is None or not term.notice_count:
        return ""
    return _("Notice: %(length)s") % {"length": Period(term.notice_count, Unit(term.notice_unit))}


def _count(n: int) -> str:
    return number_format(n, force_grouping=True)


def usage_text(charge: UsageCharge) -> str:
    """ "API calls: first 10,000 included, then 0.002 EUR each above 10,000"."""
    sheet: PriceSheet = charge.price_sheet
    metric = charge.metric.display_name
    currency = sheet.currency

    def price(amount) -> str:
        return unit_price_text(amount, currency)

    if sheet.pricing_model == "per_unit":
        detail = _("%(price)s each") % {"price": price(sheet.amount)}
    elif sheet.pricing_model == "package":
        detail = _("%(price)s per %(size)s") % {
            "price": price(sheet.amount),
            "size": _count(sheet.package_size or 0),
        }
    elif sheet.pricing_model == "graduated" and all(not t.flat_amount for t in sheet.core_tiers()):
        parts = []
        for index, tier in enumerate(sheet.core_tiers()):
            if tier.last_unit is None:
                parts.append(
                    _("%(price)s each above %(count)s")
                    % {"price": price(tier.unit_price), "count": _count(tier.first_unit - 1)}
                    if index
                    else _("%(price)s each") % {"price": price(tier.unit_price)}
                )
            elif index == 0 and tier.unit_price == 0:
                parts.append(_("first %(count)s included") % {"count": _count(tier.last_unit)})
            elif index == 0:
                parts.append(
                    _("%(price)s each up to %(count)s")
                    % {"price": price(tier.unit_price), "count": _count(tier.last_unit)}
                )
            else:
                parts.append(
                    _("%(price)s each from %(first)s to %(last)s")
                    % {
                        "price": price(tier.unit_price),
                        "first": _count(tier.first_unit),
                        "last": _count(tier.last_unit),
                    }
                )
        detail = _(", then ").join(parts)
    else:
        detail = price_sheet_summary(sheet)
    return _("%(metric)s: %(detail)s") % {"metric": metric, "detail": detail}


def _feature_values(plan: Plan, features: list[Feature]) -> list[FeatureShown]:
    values = {value.feature_id: value for value in plan.plan_features.all()}
    shown = []
    for feature in features:
        value = values.get(feature.pk)
        if value is None or not value.enabled:
            shown.append(FeatureShown(feature.display_name, False, ""))
        elif feature.kind == Feature.Kind.LIMIT:
            text = (
                _("unlimited")
                if value.limit is None
                else f"{_count(value.limit)} {feature.display_unit}".strip()
            )
            shown.append(FeatureShown(feature.display_name, True, text))
        else:
            shown.append(FeatureShown(feature.display_name, True, ""))
    return shown
