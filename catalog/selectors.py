"""Reads of the catalog shared by the admin, the portals and the API, with their joins built in."""

from __future__ import annotations

from babel.numbers import format_currency, format_decimal
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Plan, PriceSheet, Product, TaxRate, Term, UsageCharge
from core.money import money_text
from core.pricing import round_money


def unit_price_text(amount, currency: str, *, with_currency: bool = True) -> str:
    """A price of one unit, which may be finer than the currency's minor unit (0.002 EUR per
    API call): written with the decimals it has; an amount of whole minor units is written like
    any amount (money_text)."""
    amount = getattr(amount, "amount", amount)  # a django-money Money
    if round_money(amount, str(currency)) == amount:
        return money_text(amount, currency, with_currency=with_currency)
    value = amount.normalize()
    language = (translation.get_language() or "en").replace("-", "_")
    if language.startswith("en"):  # the house format, as money_text writes English
        return f"{value:f} {currency}" if with_currency else f"{value:f}"
    if with_currency:
        return format_currency(
            value, str(currency), locale=language, currency_digits=False, decimal_quantization=False
        )
    return format_decimal(value, locale=language, decimal_quantization=False)


def price_sheet_summary(sheet: PriceSheet) -> str:
    """ "60.00 EUR per unit per 1 year", "graduated per 1 month: 1–10 at 10.00, 11+ at 8.00"."""
    period = str(sheet.period)
    currency = sheet.currency
    if sheet.pricing_model == "flat":
        return _("%(amount)s per %(period)s") % {
            "amount": money_text(sheet.amount, currency),
            "period": period,
        }
    if sheet.pricing_model == "per_unit":
        return _("%(amount)s per unit per %(period)s") % {
            "amount": unit_price_text(sheet.amount, currency),
            "period": period,
        }
    if sheet.pricing_model == "package":
        return _("%(amount)s per package of %(size)s units per %(period)s") % {
            "amount": unit_price_text(sheet.amount, currency),
            "size": number_format(sheet.package_size or 0, force_grouping=True),
            "period": period,
        }
    tiers = ", ".join(
        f"{t.first_unit}–{t.last_unit}"
        + f" @ {unit_price_text(t.unit_price, currency, with_currency=False)}"
        if t.last_unit is not None
        else f"{t.first_unit}+ @ {unit_price_text(t.unit_price, currency, with_currency=False)}"
        for t in sheet.core_tiers()
    )
    return _("%(model)s, %(currency)s per %(period)s: %(tiers)s") % {
        "model": sheet.get_pricing_model_display(),
        "currency": sheet.currency,
        "period": period,
        "tiers": tiers or _("no tiers yet"),
    }


def plans_with_contents() -> QuerySet[Plan]:
    """Plans with their bundles, items, price sheets and tiers in a fixed number of queries."""
    items = BundleItem.objects.select_related(
        "product__seat_type", "price_sheet", "discount"
    ).prefetch_related("price_sheet__tiers")
    return Plan.objects.select_related(
        "term", "upgrade_group", "contract__price_sheet"
    ).prefetch_related(
        Prefetch("bundles__items", queryset=items),
        Prefetch("addon_bundles__items", queryset=items),
        "service_periods",
        "plan_features__feature",
        Prefetch(
            "usage_charges",
            queryset=UsageCharge.objects.select_related("metric", "price_sheet").prefetch_related(
                "price_sheet__tiers"
            ),
        ),
    )


def plan_price_lines(plan: Plan) -> list[str]:
    """One line per priced item of the plan's bundles, as an operator reads them."""
    lines = []
    for bundle in plan.bundles.all():
        for item in bundle.items.all():
            if item.kind == BundleItem.Kind.DISCOUNT:
                lines.append(
                    f"{bundle.code}: {item.discount.display_name} ({item.discount.describe_value()})"
                )
                continue
            what = item.product.display_name
            if item.product.seat_type_id:
                what += " " + _("(per seat)")
            if not item.required:
                what += " " + _("(optional)")
            price = price_sheet_summary(item.price_sheet) if item.price_sheet else _("included")
            lines.append(f"{bundle.code}: {what}: {price}")
    for charge in plan.usage_charges.all():
        lines.append(
            _("usage of %(metric)s, billed in arrears: %(price)s")
            % {"metric": charge.metric.code, "price": price_sheet_summary(charge.price_sheet)}
        )
    contract = plan.contract
    if contract is not None:
        price = price_sheet_summary(contract.price_sheet) if contract.price_sheet else _("included")
        lines.append(
            _("product contract %(contract)s (%(kind)s): %(price)s")
            % {"contract": contract.code, "kind": contract.get_kind_display(), "price": price}
        )
    return lines


def plan_options(plan: Plan) -> list[Product]:
    """The products a plan sells as options: the optional (not required) product items of its
    bundles, seats aside (seats are bought by type), each once, in bundle order. Reads
    `plan.bundles` and their items (prefetch them for several plans)."""
    options: list[Product] = []
    for bundle in plan.bundles.all():
        for item in bundle.items.all():
            if (
                item.kind == BundleItem.Kind.PRODUCT
                and not item.required
                # Always true of a product item (check constraint bundleitem_product_xor_discount).
                and item.product is not None
                and not item.product.seat_type_id
                and item.product not in options
            ):
                options.append(item.product)
    return options


def line_tax_rate(product: Product | None, term: Term | None) -> TaxRate | None:
    """The rate a product's line starts from (billing-rules §10): the product's own, else its
    plan's term's; catalog.tax then decides what the buyer is charged."""
    own = product.tax_rate if product is not None and product.tax_rate_id else None
    return own or (term.tax_rate if term is not None else None)
