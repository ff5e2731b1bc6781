"""Catalog rules: validations that read more than one row, status changes, code generation.

Validators take the object as it would be saved (unsaved is fine) and raise ApplicationError with
a message a person can act on; the admin forms, the API and the services call the same ones.
Database constraints back the invariants that need no other row (catalog/models.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from django.db import transaction
from django.db.models import Field, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    BundleItem,
    CouponCampaign,
    CouponCode,
    Discount,
    Feature,
    OffersGrid,
    OffersGridPlan,
    PaymentType,
    Plan,
    PlanFeature,
    PriceSheet,
    PricingModel,
    ProductContract,
    Term,
    UsageCharge,
)
from core.codes import (
    CodeTemplate,
    check_alphanumeric_capacity,
    numeric_codes,
    random_codes,
)
from core.errors import ApplicationError
from core.periods import Period, Unit, check_whole_multiple
from core.pricing import Tier, validate_tiers

# Price sheets -----------------------------------------------------------------------------------


def price_sheet_row_validate(*, sheet: PriceSheet) -> None:
    """The sheet's own fields: a package price has its size, and only a package price has one.
    (The check constraint pricesheet_package_size lets an empty size pass: SQL's CHECK accepts
    what is NULL.)"""
    if sheet.pricing_model == PricingModel.PACKAGE and not sheet.package_size:
        raise ApplicationError(
            _("A package price needs its number of units per package (at least 1)."),
            field="package_size",
        )
    if sheet.pricing_model != PricingModel.PACKAGE and sheet.package_size is not None:
        raise ApplicationError(
            _("Only a package price has units per package: clear it or choose the package model."),
            field="package_size",
        )


def price_sheet_validate(
    *, sheet: PriceSheet, tiers: Sequence[Tier], tier_currencies: set[str]
) -> None:
    """A tiered sheet has contiguous tiers from unit 1 in its own currency; others have none.
    (The sheet's own fields: price_sheet_row_validate.)"""
    if sheet.is_tiered:
        validate_tiers(tiers)
        foreign = tier_currencies - {sheet.currency}
        if foreign:
            raise ApplicationError(
                _("Tier prices must be in the price sheet's currency ({currency}), not {other}.")
                % {"currency": sheet.currency, "other": ", ".join(sorted(foreign))},
                field="tiers",
            )
    elif tiers:
        raise ApplicationError(
            _("Only graduated and volume prices have tiers: remove the tiers or change the model."),
            field="tiers",
        )


# Discounts and bundles --------------------------------------------------------------------------


def discount_validate(*, discount: Discount) -> None:
    if (
        discount.amount is not None
        and discount.kind == Discount.Kind.AMOUNT
        and discount.target == Discount.Target.PRODUCT
        and discount.target_product_id
    ):
        product = discount.target_product
        assert product is not None  # target_product_id is set
        product_currencies = set(product.price_sheets.values_list("currency", flat=True))
        if product_currencies and str(discount.amount.currency) not in product_currencies:
            raise ApplicationError(
                _(
                    "The product %(product)s has no price in %(currency)s: a fixed discount on it "
                    "must be in one of its currencies (%(currencies)s)."
                )
                % {
                    "product": product.code,
                    "currency": discount.amount.currency,
                    "currencies": ", ".join(sorted(product_currencies)),
                },
                field="amount",
            )


def bundle_item_validate(*, item: BundleItem) -> None:
    if (
        item.kind == BundleItem.Kind.PRODUCT
        and item.product_id
        and item.price_sheet is not None  # None, without a query, when price_sheet_id is None
        and item.price_sheet.product_id != item.product_id
    ):
        product = item.product
        assert product is not None  # product_id is set
        raise ApplicationError(
            _("The price sheet %(sheet)s prices %(other)s, not %(product)s.")
            % {
                "sheet": item.price_sheet.code,
                "other": item.price_sheet.product.code,
                "product": product.code,
            },
            field="price_sheet",
        )
    if (
        item.kind == BundleItem.Kind.PRODUCT
        and item.product is not None  # None, without a query, when product_id is None
        and item.product.seat_type_id
        and item.quantity != 1
    ):
        raise ApplicationError(
            _("%(product)s is sold per seat: the buyer chooses the seats, leave the quantity at 1.")
            % {"product": item.product.code},
            field="quantity",
        )


def bundle_items_validate(*, bundle: Bundle, items: Sequence[BundleItem]) -> None:
    seen_products: set[int] = set()
    seen_discounts: set[int] = set()
    for item in items:
        bundle_item_validate(item=item)
        if item.product_id:
            if item.product_id in seen_products:
                product = item.product
                assert product is not None  # product_id is set
                raise ApplicationError(
                    _("%(product)s appears twice in the bundle: use the quantity instead.")
                    % {"product": product.code},
                    field="items",
                )
            seen_products.add(item.product_id)
        if item.discount_id:
            if item.discount_id in seen_discounts:
                discount = item.discount
                assert discount is not None  # discount_id is set
                raise ApplicationError(
                    _("The discount %(discount)s appears twice in the bundle.")
                    % {"discount": discount.code},
                    field="items",
                )
            seen_discounts.add(item.discount_id)


def bundle_validate(*, bundle: Bundle) -> None:
    """A bundle's product contract is billed with the periods of each plan that sells it."""
    contract = bundle.contract  # None, without a query, when contract_id is None
    if contract is None or bundle.pk is None:
        return
    plans = Plan.objects.filter(Q(bundles=bundle) | Q(addon_bundles=bundle)).distinct()
    for plan in plans.order_by("code"):
        try:
            plan_contract_validate(plan=plan, contract=contract)
        except ApplicationError as error:
            raise ApplicationError(
                _("Sold with the plan %(plan)s: %(problem)s")
                % {"plan": plan.code, "problem": error.message},
                field="contract",
            ) from None


# Terms ------------------------------------------------------------------------------------------


def term_validate(*, term: Term) -> None:
    if term.early_termination != Term.EarlyTermination.ALLOWED and term.commitment_count == 0:
        raise ApplicationError(
            _(
                "Early termination can only be forbidden or penalised when there is a commitment: "
                "set the commitment, or allow early termination."
            ),
            field="early_termination",
        )
    if term.penalty_prorated and term.early_termination != Term.EarlyTermination.PENALTY:
        raise ApplicationError(
            _("A prorated penalty only applies to the penalty policy."), field="penalty_prorated"
        )
    if term.grace_count and term.commitment_count == 0:
        raise ApplicationError(
            _("A grace period only makes sense with a commitment."), field="grace_count"
        )
    # term.tax_rate is None, without a query, when tax_rate_id is None.
    if term.tax_rate is not None and not term.tax_rate.is_active:
        raise ApplicationError(
            _("The tax rate %(rate)s is not active.") % {"rate": term.tax_rate}, field="tax_rate"
        )


# Plans ------------------------------------------------------------------------------------------


def plan_validate(*, plan: Plan) -> None:
    """Rules on the plan row itself, checked on every save."""
    unknown = set(plan.payment_types or []) - set(PaymentType.values)
    if unknown:
        raise ApplicationError(
            _("Unknown payment types: %(types)s.") % {"types": ", ".join(sorted(unknown))},
            field="payment_types",
        )
    if plan.upgrade_group_id is None and plan.upgrade_rank:
        raise ApplicationError(
            _(
                "A rank only means something inside an upgrade group: choose the group or leave "
                "the rank at 0."
            ),
            field="upgrade_rank",
        )
    if (
        plan.term is not None  # None, without a query, when term_id is None
        and plan.term.commitment_basis == Term.CommitmentBasis.CALENDAR
        and plan.term.commitment_period
    ):
        commitment = plan.term.commitment_period
        billing = plan.billing_period
        if (commitment.months is None) != (billing.months is None):
            raise ApplicationError(
                _(
                    "The term's commitment (%(commitment)s) and the billing period (%(billing)s) "
                    "use incompatible units: combine years with months, or weeks with days."
                )
                % {"commitment": commitment, "billing": billing},
                field="term",
            )
    if plan.contract is not None:  # None, without a query, when contract_id is None
        plan_contract_validate(plan=plan, contract=plan.contract)


def _same_length(a: Period, b: Period) -> bool:
    # 12 months are 1 year, 7 days 1 week: compare lengths, not how they are written.
    return (a.months, a.days) == (b.months, b.days)


def plan_contract_validate(
    *, plan: Plan, contract: ProductContract, field: str = "contract"
) -> None:
    """billing-rules §8 within an offer: the billing engine bills a contract with the plan's
    billing periods, so a time-based contract's accounting period, and an issue-based
    contract's billing period, are the plan's; its price is in the plan's currency, and the
    price of an issue or of a credit is a price per unit."""
    billing = plan.billing_period
    if contract.kind == ProductContract.Kind.TIME:
        accounting = contract.accounting_period
        if accounting is not None and not _same_length(accounting, billing):
            raise ApplicationError(
                _(
                    "The contract %(contract)s has an accounting period of %(period)s and the "
                    "plan is billed every %(billing)s: they must be equal, choose a contract "
                    "with an accounting period of %(billing)s or change the billing period."
                )
                % {"contract": contract.code, "period": accounting, "billing": billing},
                field=field,
            )
    elif contract.kind == ProductContract.Kind.ISSUE:
        interval = contract.interval
        if interval is not None and not _same_length(interval, billing):
            raise ApplicationError(
                _(
                    "The issue-based contract %(contract)s delivers its issues per %(period)s "
                    "and the plan is billed every %(billing)s: the issues are billed with the "
                    "plan's periods, so they must be equal."
                )
                % {"contract": contract.code, "period": interval, "billing": billing},
                field=field,
            )
        if contract.price_sheet_id is None:
            raise ApplicationError(
                _(
                    "The issue-based contract %(contract)s has no price sheet: its issues are "
                    "charged at the price of one unit of it, set one on the contract."
                )
                % {"contract": contract.code},
                field=field,
            )
    sheet = contract.price_sheet  # None, without a query, when price_sheet_id is None
    if sheet is None:
        return
    if sheet.currency != plan.currency:
        raise ApplicationError(
            _(
                "The price sheet %(sheet)s of the contract %(contract)s is in %(sheet_currency)s "
                "and the plan in %(currency)s: the contract must be priced in the plan's currency."
            )
            % {
                "sheet": sheet.code,
                "contract": contract.code,
                "sheet_currency": sheet.currency,
                "currency": plan.currency,
            },
            field=field,
        )
    if (
        contract.kind in (ProductContract.Kind.ISSUE, ProductContract.Kind.CREDIT)
        and sheet.pricing_model != PricingModel.PER_UNIT
    ):
        raise ApplicationError(
            _(
                "The price sheet %(sheet)s of the contract %(contract)s is priced %(model)s: an "
                "issue or a credit is charged at a price per unit."
            )
            % {
                "sheet": sheet.code,
                "contract": contract.code,
                "model": sheet.get_pricing_model_display(),
            },
            field=field,
        )


# Usage charges and billable metrics (billing-rules §12) -------------------------------------------

USAGE_PRICING_MODELS = (
    PricingModel.PER_UNIT,
    PricingModel.GRADUATED,
    PricingModel.VOLUME,
    PricingModel.PACKAGE,
)


def usage_charge_validate(*, plan: Plan, charge: UsageCharge) -> None:
    """A usage charge prices a period's quantity: per unit, graduated, volume or package (a
    flat price ignores the quantity), in the plan's currency."""
    sheet = charge.price_sheet
    if sheet.pricing_model not in USAGE_PRICING_MODELS:
        raise ApplicationError(
            _(
                "The price sheet %(sheet)s is priced %(model)s: a usage charge needs a price per "
                "unit, graduated or volume tiers, or a package price."
            )
            % {"sheet": sheet.code, "model": sheet.get_pricing_model_display()},
            field="price_sheet",
        )
    if sheet.currency != plan.currency:
        raise ApplicationError(
            _(
                "The price sheet %(sheet)s is in %(sheet_currency)s and the plan in "
                "%(currency)s: choose a price sheet in %(currency)s."
            )
            % {"sheet": sheet.code, "sheet_currency": sheet.currency, "currency": plan.currency},
            field="price_sheet",
        )


def usage_charges_validate(*, plan: Plan, charges: Sequence[UsageCharge]) -> None:
    """A plan's usage charges together: each valid, each metric charged once."""
    seen: set[int] = set()
    for charge in charges:
        usage_charge_validate(plan=plan, charge=charge)
        if charge.metric_id in seen:
            raise ApplicationError(
                _("The metric %(metric)s is charged twice: keep one usage charge for it.")
                % {"metric": charge.metric.code},
                field="usage_charges",
            )
        seen.add(charge.metric_id)


def feature_validate(*, feature: Feature) -> None:
    """A usage metric measures what is used of a limit, and only a limit counted against a
    metric can be enforced."""
    if feature.kind != Feature.Kind.LIMIT and feature.metric_id is not None:
        raise ApplicationError(
            _("Only a limit is counted against usage: clear the metric or make it a limit."),
            field="metric",
        )
    if feature.enforcement != Feature.Enforcement.NONE and (
        feature.kind != Feature.Kind.LIMIT or feature.metric_id is None
    ):
        raise ApplicationError(
            _(
                "Only a limit counted against a usage metric can be enforced: choose its metric, "
                "or leave the enforcement at none."
            ),
            field="enforcement",
        )


def billable_metric_validate(*, metric: BillableMetric) -> None:
    """The metric's own rules (BillableMetric.clean), as an ApplicationError for the doors
    that are not model forms."""
    problem = metric.aggregation_problem() or metric.filters_problem()
    if problem:
        raise ApplicationError(problem[1], field=problem[0])


def plan_features_validate(*, features: Sequence[PlanFeature]) -> None:
    _feature_values_validate(features, field="plan_features")


def bundle_features_validate(*, features: Sequence[BundleFeature]) -> None:
    """An add-on's feature values: the same rule as a plan's (its limits add to the plan's)."""
    _feature_values_validate(features, field="bundle_features")


def _feature_values_validate(values: Sequence[PlanFeature | BundleFeature], *, field: str) -> None:
    for value in values:
        if value.feature.kind == Feature.Kind.ON_OFF and value.limit is not None:
            raise ApplicationError(
                _("%(feature)s is an on/off feature: it takes no limit.")
                % {"feature": value.feature.code},
                field=field,
            )


def plan_sellability_problems(*, plan: Plan) -> list[str]:
    """What keeps a plan from being sold; empty when it can be activated."""
    problems = []
    bundles = list(
        plan.bundles.select_related("contract").prefetch_related(
            "items__product", "items__price_sheet"
        )
    )
    if not bundles:
        problems.append(_("it has no bundle"))
    charged = False
    for bundle in bundles:
        for item in bundle.items.all():
            if item.kind != BundleItem.Kind.PRODUCT or item.price_sheet is None:
                continue
            charged = True
            if item.price_sheet.currency != plan.currency:
                problems.append(
                    _(
                        "the price sheet %(sheet)s of bundle %(bundle)s is in %(sheet_currency)s, "
                        "the plan in %(currency)s"
                    )
                    % {
                        "sheet": item.price_sheet.code,
                        "bundle": bundle.code,
                        "sheet_currency": item.price_sheet.currency,
                        "currency": plan.currency,
                    }
                )
            if item.price_sheet.is_tiered and not item.price_sheet.tiers.exists():
                problems.append(
                    _("the price sheet %(sheet)s has no tiers") % {"sheet": item.price_sheet.code}
                )
    charges = list(plan.usage_charges.select_related("metric", "price_sheet")) if plan.pk else []
    for charge in charges:
        try:
            usage_charge_validate(plan=plan, charge=charge)
        except ApplicationError as error:
            problems.append(
                _("the usage charge of %(metric)s: %(problem)s")
                % {"metric": charge.metric.code, "problem": error.message}
            )
        if charge.price_sheet.is_tiered and not charge.price_sheet.tiers.exists():
            problems.append(
                _("the price sheet %(sheet)s has no tiers") % {"sheet": charge.price_sheet.code}
            )
    # The offer's product contract, its own or an add-on's, is billed with the plan's periods.
    contracts: list[tuple[ProductContract, str]] = (
        [(plan.contract, "")] if plan.contract is not None else []
    )
    if plan.pk:
        contracts += [
            (bundle.contract, bundle.code)
            for bundle in [*bundles, *plan.addon_bundles.select_related("contract")]
            if bundle.contract is not None
        ]
    for contract, bundle_code in contracts:
        try:
            plan_contract_validate(plan=plan, contract=contract)
        except ApplicationError as error:
            problems.append(
                _("bundle %(bundle)s: %(problem)s")
                % {"bundle": bundle_code, "problem": error.message}
                if bundle_code
                else error.message
            )
    # A plan may charge only its usage, or only its contract's issues or credits.
    charged = charged or bool(charges) or any(c.price_sheet_id for c, _code in contracts)
    if bundles and not charged:
        problems.append(_("none of its bundles has a priced product"))
    if not plan.payment_types:
        problems.append(_("it supports no payment type"))
    problems.extend(_tax_rate_problems(plan, bundles))
    return problems


def _tax_rate_problems(plan: Plan, bundles: list[Bundle]) -> list[str]:
    """billing-rules §10: never a silent 0 %. Until tax determination exists, a line's rate is its
    product's, else the plan's term's; the penalty line's is the term's. A plan whose lines
    would carry no rate cannot be sold, and each line without one is named."""
    term = plan.term if plan.term_id else None
    term_rate = term.tax_rate_id if term is not None else None
    problems = []
    addons = list(plan.addon_bundles.prefetch_related("items__product")) if plan.pk else []
    seen: set[int] = set()
    for bundle in [*bundles, *addons]:
        for item in bundle.items.all():
            if item.kind != BundleItem.Kind.PRODUCT or item.price_sheet_id is None:
                continue
            product = item.product
            # A product item names its product (check constraint bundleitem_product_xor_discount).
            assert product is not None
            if product.tax_rate_id or term_rate or product.pk in seen:
                continue
            seen.add(product.pk)
            if term is None:
                problems.append(
                    _(
                        "the product %(product)s (bundle %(bundle)s) has no tax rate, and the "
                        "plan has no term to give one: set the product's tax rate"
                    )
                    % {"product": product.code, "bundle": bundle.code}
                )
            else:
                problems.append(
                    _(
                        "the product %(product)s (bundle %(bundle)s) has no tax rate, nor has "
                        "the term %(term)s: set the product's or the term's tax rate"
                    )
                    % {"product": product.code, "bundle": bundle.code, "term": term.code}
                )
    # The lines of usage charges and of the plan's contract are taxed like its products'.
    sheets = (
        [c.price_sheet for c in plan.usage_charges.select_related("price_sheet__product")]
        if plan.pk
        else []
    )
    if plan.contract is not None and plan.contract.price_sheet is not None:
        sheets.append(plan.contract.price_sheet)
    if not term_rate:
        for sheet in sheets:
            if sheet.product.tax_rate_id or sheet.product_id in seen:
                continue
            seen.add(sheet.product_id)
            problems.append(
                _(
                    "the product %(product)s (price sheet %(sheet)s) has no tax rate, nor has "
                    "the plan's term: set the product's tax rate"
                )
                % {"product": sheet.product.code, "sheet": sheet.code}
            )
    if (
        term is not None
        and not term_rate
        and term.early_termination == Term.EarlyTermination.PENALTY
    ):
        problems.append(
            _("the penalty line of the term %(term)s has no tax rate: set the term's tax rate")
            % {"term": term.code}
        )
    return problems


def plan_activate(*, plan: Plan, today: date) -> Plan:
    """Draft → active (and retired → active, which is the reactivation)."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status == Plan.Status.ACTIVE:
            raise ApplicationError(_("The plan %(plan)s is already active.") % {"plan": plan.code})
        problems = plan_sellability_problems(plan=plan)
        if problems:
            raise ApplicationError(
                _("The plan %(plan)s cannot be activated: %(problems)s.")
                % {"plan": plan.code, "problems": "; ".join(problems)}
            )
        if plan.valid_until and plan.valid_until < today:
            raise ApplicationError(
                _("The plan %(plan)s was valid until %(date)s: extend its validity first.")
                % {"plan": plan.code, "date": plan.valid_until.isoformat()},
                field="valid_until",
            )
        plan.status = Plan.Status.ACTIVE
        plan.save(update_fields=["status"])
    return plan


def plan_retire(*, plan: Plan) -> Plan:
    """Active → retired: no new subscriptions; existing ones go on."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != Plan.Status.ACTIVE:
            raise ApplicationError(
                _("Only an active plan can be retired; %(plan)s is %(status)s.")
                % {"plan": plan.code, "status": plan.get_status_display()}
            )
        plan.status = Plan.Status.RETIRED
        plan.save(update_fields=["status"])
    return plan


def plan_reactivate(*, plan: Plan, today: date) -> Plan:
    if plan.status != Plan.Status.RETIRED:
        raise ApplicationError(
            _("Only a retired plan can be reactivated; %(plan)s is %(status)s.")
            % {"plan": plan.code, "status": plan.get_status_display()}
        )
    return plan_activate(plan=plan, today=today)


# Product contracts ------------------------------------------------------------------------------


def _period(count: int | None, unit: str) -> Period | None:
    return Period(count, Unit(unit)) if count and unit else None


def product_contract_validate(*, contract: ProductContract) -> None:
    """billing-rules §8: the fields each kind needs, compatible units, whole multiples."""
    if (
        contract.product_id
        and contract.price_sheet is not None  # None, without a query, when price_sheet_id is None
        and contract.price_sheet.product_id != contract.product_id
    ):
        raise ApplicationError(
            _("The price sheet %(sheet)s prices another product than %(product)s.")
            % {"sheet": contract.price_sheet.code, "product": contract.product.code},
            field="price_sheet",
        )
    kind = contract.kind
    if kind == ProductContract.Kind.TIME:
        accounting = _period(contract.accounting_period_count, contract.accounting_period_unit)
        interval = _period(contract.interval_count, contract.interval_unit)
        if not contract.runtime:
            raise ApplicationError(
                _("Choose the runtime: until cancellation, or fixed."), field="runtime"
            )
        if accounting is None:
            raise ApplicationError(
                _("A time-based contract needs its accounting period."),
                field="accounting_period_count",
            )
        if interval is None:
            raise ApplicationError(
                _("A time-based contract needs its subscription interval."), field="interval_count"
            )
        check_whole_multiple(
            accounting,
            interval,
            outer_label=_("accounting period"),
            inner_label=_("subscription interval"),
            field="accounting_period_count",
        )
        if contract.runtime == ProductContract.Runtime.FIXED:
            runtime = _period(contract.runtime_count, contract.runtime_unit)
            if runtime is None:
                raise ApplicationError(
                    _("A fixed runtime needs its length and unit."), field="runtime_count"
                )
            check_whole_multiple(
                runtime,
                interval,
                outer_label=_("runtime"),
                inner_label=_("subscription interval"),
                field="runtime_count",
            )
        elif contract.runtime_count or contract.runtime_unit:
            raise ApplicationError(
                _("A contract running until cancellation has no runtime length: clear it."),
                field="runtime_count",
            )
        _check_cancellation_within(contract, interval, _("subscription interval"))
        _refuse_fields(contract, ["issues_per_period", "chargeable_issues", "credit_amount"], kind)
    elif kind == ProductContract.Kind.ISSUE:
        if not contract.issues_per_period:
            raise ApplicationError(
                _("An issue-based contract delivers at least one issue per billing period."),
                field="issues_per_period",
            )
        if contract.chargeable_issues is None:
            raise ApplicationError(
                _("Say how many of the issues are chargeable (the free ones come last)."),
                field="chargeable_issues",
            )
        if contract.chargeable_issues > contract.issues_per_period:
            raise ApplicationError(
                _(
                    "%(chargeable)s chargeable issues out of %(issues)s per period: there cannot be "
                    "more chargeable issues than issues."
                )
                % {"chargeable": contract.chargeable_issues, "issues": contract.issues_per_period},
                field="chargeable_issues",
            )
        interval = _period(contract.interval_count, contract.interval_unit)
        if interval is None:
            raise ApplicationError(
                _("An issue-based contract needs its billing period."), field="interval_count"
            )
        _refuse_fields(contract, ["credit_amount", "runtime_count"], kind)
    elif kind == ProductContract.Kind.CREDIT:
        if not contract.credit_amount or contract.credit_amount <= 0:
            raise ApplicationError(
                _("A credit-based contract grants a credit amount above 0."), field="credit_amount"
            )
        accounting = _period(contract.accounting_period_count, contract.accounting_period_unit)
        if contract.credit_intervals and accounting is None:
            raise ApplicationError(
                _("Credits granted per interval need the accounting period they are granted for."),
                field="accounting_period_count",
            )
        if not contract.credit_intervals and accounting is not None:
            raise ApplicationError(
                _(
                    "Without time intervals, credits never expire: leave the accounting period empty "
                    "or tick 'with time intervals'."
                ),
                field="accounting_period_count",
            )
        _refuse_fields(contract, ["issues_per_period", "chargeable_issues", "runtime_count"], kind)
    else:
        raise ApplicationError(_("Choose the kind of contract."), field="kind")


def _check_cancellation_within(contract: ProductContract, interval: Period, label: str) -> None:
    if not contract.cancellation_count:
        return
    cancellation = Period(contract.cancellation_count, Unit(contract.cancellation_unit))
    if cancellation.months is not None and interval.months is not None:
        too_long = cancellation.months >= interval.months
    elif cancellation.days is not None and interval.days is not None:
        too_long = cancellation.days >= interval.days
    else:
        # Different unit families cannot be compared exactly; compare on a long month's days.
        too_long = _days(cancellation, month=28) >= _days(interval, month=31)
    if too_long:
        raise ApplicationError(
            _(
                "The cancellation period (%(cancellation)s) must be shorter than the %(label)s "
                "(%(interval)s)."
            )
            % {"cancellation": cancellation, "label": label, "interval": interval},
            field="cancellation_count",
        )


def _days(period: Period, *, month: int) -> int:
    """The period in days, a month counted as `month` days."""
    if period.days is not None:
        return period.days
    assert period.months is not None  # a period is counted in days or in months
    return period.months * month


def _refuse_fields(contract: ProductContract, fields: list[str], kind: str) -> None:
    for name in fields:
        if getattr(contract, name):
            field = ProductContract._meta.get_field(name)
            assert isinstance(field, Field)  # the names are the contract's own columns
            raise ApplicationError(
                _("%(field)s does not apply to a %(kind)s contract: clear it.")
                % {
                    "field": str(field.verbose_name).capitalize(),
                    "kind": contract.get_kind_display(),
                },
                field=name,
            )


# Coupon campaigns -------------------------------------------------------------------------------


def coupon_campaign_validate(*, campaign: CouponCampaign) -> None:
    CodeTemplate.parse(campaign.code_template)
    if campaign.charset == CouponCampaign.Charset.NUMERIC:
        if campaign.range_start is None:
            raise ApplicationError(_("Numeric codes need the range start."), field="range_start")
        numeric_codes(
            campaign.code_template, range_start=campaign.range_start, quantity=campaign.quantity
        )
    else:
        if campaign.range_start is not None:
            raise ApplicationError(
                _("Random alphanumeric codes have no range start: clear it."), field="range_start"
            )
        check_alphanumeric_capacity(campaign.code_template, campaign.quantity)
    if campaign.pk:
        generated = campaign.codes.count()
        if campaign.quantity < generated:
            raise ApplicationError(
                _("%(count)s codes were already generated: the quantity cannot go below that.")
                % {"count": generated},
                field="quantity",
            )
        previous = (
            CouponCampaign.objects.filter(pk=campaign.pk)
            .values("code_template", "charset", "range_start")
            .first()
        )
        if (
            generated
            and previous
            and (
                previous["code_template"],
                previous["charset"],
                previous["range_start"],
            )
            != (campaign.code_template, campaign.charset, campaign.range_start)
        ):
            raise ApplicationError(
                _(
                    "Codes were already generated from this template: the template, characters and "
                    "range start can no longer change."
                ),
                field="code_template",
            )
    if campaign.charset == CouponCampaign.Charset.NUMERIC:
        assert campaign.range_start is not None  # refused above when missing
        # Checked here too, so that the form refuses a campaign whose codes (generated on
        # save) another campaign already has, before anything is saved.
        _refuse_clashes(
            codes_taken(
                codes=numeric_codes(
                    campaign.code_template,
                    range_start=campaign.range_start,
                    quantity=campaign.quantity,
                ),
                exclude_campaign=campaign.pk,
            )
        )
    if (
        campaign.bundle_id
        and not campaign.bundle.items.filter(kind=BundleItem.Kind.DISCOUNT).exists()
    ):
        raise ApplicationError(
            _("The bundle %(bundle)s holds no discount: a coupon campaign needs one to give.")
            % {"bundle": campaign.bundle.code},
            field="bundle",
        )


def codes_taken(*, codes: Iterable[str], exclude_campaign: int | None = None) -> list[str]:
    """The codes of `codes` that already exist, whatever their case (billing-rules §7: codes match
    whatever their case, so `COUPON_90` and `coupon_90` are one code)."""
    lowered = {code.lower() for code in codes}
    if not lowered:
        return []
    rows = CouponCode.objects.annotate(lowered=Lower("code")).filter(lowered__in=lowered)
    if exclude_campaign is not None:
        rows = rows.exclude(campaign_id=exclude_campaign)
    return sorted(rows.values_list("code", flat=True))


def coupon_codes_generate(*, campaign: CouponCampaign) -> list[CouponCode]:
    """Create the campaign's missing codes, up to its quantity. Safe to run twice.

    Everything is checked before anything is written: a code that does not fit its template,
    or that another campaign already uses, refuses the whole run.
    """
    with transaction.atomic():
        # The lock makes two simultaneous runs generate the codes once.
        campaign = CouponCampaign.objects.select_for_update().get(pk=campaign.pk)
        coupon_campaign_validate(campaign=campaign)
        existing = set(campaign.codes.values_list("code", flat=True))
        missing = campaign.quantity - len(existing)
        if missing <= 0:
            return []
        if campaign.charset == CouponCampaign.Charset.NUMERIC:
            # coupon_campaign_validate above refuses numeric codes without their range start.
            assert campaign.range_start is not None
            wanted = [
                code
                for code in numeric_codes(
                    campaign.code_template,
                    range_start=campaign.range_start,
                    quantity=campaign.quantity,
                )
                if code not in existing
            ]
            _refuse_clashes(codes_taken(codes=wanted))
        else:
            wanted = []
            while len(wanted) < missing:
                candidates = random_codes(campaign.code_template, missing - len(wanted)) - existing
                candidates -= set(wanted)
                taken = {code.lower() for code in codes_taken(codes=candidates)}
                wanted.extend(sorted(c for c in candidates if c.lower() not in taken))
            wanted = wanted[:missing]
        return bulk_create_with_history(
            [
                CouponCode(
                    campaign=campaign, code=code, max_redemptions=campaign.redemption_quantity
                )
                for code in wanted
            ],
            CouponCode,
            batch_size=1000,
        )


def _refuse_clashes(clashes: list[str]) -> None:
    if clashes:
        raise ApplicationError(
            _(
                "Codes %(codes)s already exist in another campaign: change the template or "
                "the range start."
            )
            % {"codes": ", ".join(clashes[:5])},
            field="code_template",
        )


def coupon_campaign_save(*, campaign: CouponCampaign) -> list[CouponCode]:
    """Save a campaign (new or changed) and generate its missing codes at once, so that a
    campaign never sits without its codes; the admin's save goes through here."""
    with transaction.atomic():
        coupon_campaign_validate(campaign=campaign)
        campaign.save()
        return coupon_codes_generate(campaign=campaign)


def coupon_campaigns_expire(*, today: date) -> int:
    """Expire the campaigns (and their unused codes) whose validity ended before `today`.

    Idempotent: a second run finds nothing left to expire.
    """
    with transaction.atomic():
        campaigns = list(
            CouponCampaign.objects.select_for_update(skip_locked=True).filter(
                status=CouponCampaign.Status.ACTIVE, valid_until__lt=today
            )
        )
        for campaign in campaigns:
            codes = list(campaign.codes.filter(status=CouponCode.Status.ACTIVE))
            for code in codes:
                code.status = CouponCode.Status.EXPIRED
            # Through the history helpers: expiry is a change like any other in the audit log.
            bulk_update_with_history(codes, CouponCode, ["status"], batch_size=1000)
            campaign.status = CouponCampaign.Status.EXPIRED
            campaign._change_reason = gettext_noop("expired")  # stored in English, shown translated
            campaign.save(update_fields=["status"])
        return len(campaigns)


def coupon_code_set_disabled(*, code: CouponCode, disabled: bool) -> CouponCode:
    """Disable a code (it can no longer be redeemed) or enable it again."""
    with transaction.atomic():
        code = CouponCode.objects.select_for_update().get(pk=code.pk)
        if disabled:
            if code.status == CouponCode.Status.DISABLED:
                return code
            if code.status != CouponCode.Status.ACTIVE:
                raise ApplicationError(
                    _("The code %(code)s is %(status)s: only an active code can be disabled.")
                    % {"code": code.code, "status": code.get_status_display()}
                )
            code.status = CouponCode.Status.DISABLED
        else:
            if code.status != CouponCode.Status.DISABLED:
                raise ApplicationError(
                    _("The code %(code)s is not disabled.") % {"code": code.code}
                )
            if code.campaign.status == CouponCampaign.Status.EXPIRED:
                raise ApplicationError(
                    _("The campaign of %(code)s has expired: its codes cannot be enabled again.")
                    % {"code": code.code}
                )
            code.status = (
                CouponCode.Status.EXHAUSTED
                if code.times_redeemed >= code.max_redemptions
                else CouponCode.Status.ACTIVE
            )
        code.save(update_fields=["status"])
        return code


# Offers grids (storefront) ----------------------------------------------------------------------

# An origin a browser sends as a frame's ancestor: https, a host name, an optional port; no path.
_ORIGIN = re.compile(
    r"^https://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$"
)


def frame_ancestor_sources(*, value: str) -> list[str]:
    """The origins of a `frame_ancestors` field, as CSP sources ('self' kept as is)."""
    return [source for source in value.split() if source]


def offers_grid_validate(*, grid: OffersGrid) -> None:
    """Rules on the grid row: its campaign, and the origins allowed to frame it."""
    if grid.segment == OffersGrid.Segment.CAMPAIGN and grid.campaign_id is None:
        raise ApplicationError(
            _("A campaign grid names its coupon campaign: choose it, or pick another segment."),
            field="campaign",
        )
    if grid.segment != OffersGrid.Segment.CAMPAIGN and grid.campaign_id is not None:
        raise ApplicationError(
            _(
                "Only a campaign grid has a coupon campaign: clear it, or choose the campaign segment."
            ),
            field="campaign",
        )
    for source in frame_ancestor_sources(value=grid.frame_ancestors):
        if source != "'self'" and not _ORIGIN.match(source.lower()):
            raise ApplicationError(
                _(
                    "“%(source)s” is not an origin: write https://host or https://host:port "
                    "(no path, no trailing slash), or 'self', separated by spaces."
                )
                % {"source": source},
                field="frame_ancestors",
            )


def _offerable(plan: Plan, grid: OffersGrid, field: str) -> None:
    """A plan a grid may show (as its plan or its yearly twin): in the grid's currency, active."""
    if plan.currency != grid.currency:
        raise ApplicationError(
            _(
                "%(plan)s is sold in %(plan_currency)s and the grid shows %(currency)s: choose a "
                "plan in %(currency)s, or change the grid's currency."
            )
            % {"plan": plan.code, "plan_currency": plan.currency, "currency": grid.currency},
            field=field,
        )
    if plan.status != Plan.Status.ACTIVE:
        raise ApplicationError(
            _("%(plan)s is not active: activate it (Catalog › Plans) before offering it.")
            % {"plan": plan.code},
            field=field,
        )


def offers_grid_entry_validate(*, grid: OffersGrid, entry: OffersGridPlan) -> None:
    """One plan of a grid: sold in the grid's currency, and its yearly twin billed by the year
    while the plan itself is billed more often (the toggle switches between the two)."""
    plan = entry.plan
    _offerable(plan, grid, "plan")
    yearly = entry.yearly_plan if entry.yearly_plan_id else None
    if yearly is None:
        return
    if yearly.pk == plan.pk:
        raise ApplicationError(
            _(
                "The yearly plan is the plan itself: choose its twin billed by the year, or leave it empty."
            ),
            field="yearly_plan",
        )
    if yearly.billing_period.months != 12:
        raise ApplicationError(
            _(
                "%(plan)s has a billing period of %(period)s: the yearly plan must be billed every year."
            )
            % {"plan": yearly.code, "period": yearly.billing_period},
            field="yearly_plan",
        )
    if plan.billing_period.months is not None and plan.billing_period.months >= 12:
        raise ApplicationError(
            _(
                "%(plan)s already has a billing period of %(period)s: a yearly twin goes with a "
                "plan billed by the month, the quarter or the half-year."
            )
            % {"plan": plan.code, "period": plan.billing_period},
            field="plan",
        )
    _offerable(yearly, grid, "yearly_plan")


def offers_grid_entries_validate(*, grid: OffersGrid, entries: Sequence[OffersGridPlan]) -> None:
    """The plans of a grid together (each one, then the rules between them)."""
    for entry in entries:
        offers_grid_entry_validate(grid=grid, entry=entry)
    if sum(1 for entry in entries if entry.highlighted) > 1:
        raise ApplicationError(
            _("A grid highlights one plan at most: untick all but one."), field="highlighted"
        )
    seen: set[int] = set()
    for entry in entries:
        for plan in (entry.plan, entry.yearly_plan if entry.yearly_plan_id else None):
            if plan is None:
                continue
            if plan.pk in seen:
                raise ApplicationError(
                    _("%(plan)s appears twice in the grid: each plan is offered once.")
                    % {"plan": plan.code},
                    field="plan",
                )
            seen.add(plan.pk)
