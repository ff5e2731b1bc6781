"""The catalog's rules for usage and contracts (billing-rules §8 and billing-rules §12), one per door-independent
validator of catalog/services.py: usage charges, a plan's product contract, features counted
against a metric, billable metrics, package prices, and what makes such a plan sellable."""

from decimal import Decimal

import pytest
from django.utils import translation

from catalog import selectors, services
from catalog.models import (
    BillableMetric,
    BundleFeature,
    Feature,
    PlanFeature,
    PriceSheet,
    PriceTier,
    UsageCharge,
)
from core.errors import ApplicationError
from tests.catalog.factories import (
    BundleFactory,
    BundleItemFactory,
    PlanFactory,
    PriceSheetFactory,
    ProductContractFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


def _metric(code="api_calls") -> BillableMetric:
    return BillableMetric.objects.create(code=code, name="API calls", event_code="api_call")


def _charge(plan, sheet, metric=None) -> UsageCharge:
    return UsageCharge(plan=plan, metric=metric or _metric(), price_sheet=sheet)


# Usage charges --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["per_unit", "graduated", "volume", "package"])
def test_a_usage_charge_is_priced_by_quantity(model):
    plan = PlanFactory()
    sheet = PriceSheetFactory.build(
        pricing_model=model,
        amount=None if model in ("graduated", "volume") else Decimal("1"),
        package_size=100 if model == "package" else None,
    )
    services.usage_charge_validate(plan=plan, charge=_charge(plan, sheet))


def test_a_flat_usage_charge_is_refused():
    plan = PlanFactory()
    sheet = PriceSheetFactory(code="flat-fee", pricing_model="flat")
    with pytest.raises(ApplicationError, match="flat-fee is priced flat per period") as refused:
        services.usage_charge_validate(plan=plan, charge=_charge(plan, sheet))
    assert refused.value.field == "price_sheet"


def test_a_usage_charge_in_another_currency_is_refused():
    plan = PlanFactory(currency="EUR")
    sheet = PriceSheetFactory(pricing_model="per_unit", currency="CAD")
    with pytest.raises(ApplicationError, match="in CAD and the plan in EUR"):
        services.usage_charge_validate(plan=plan, charge=_charge(plan, sheet))


def test_a_metric_is_charged_once_per_plan():
    plan = PlanFactory()
    metric = _metric()
    sheet = PriceSheetFactory(pricing_model="per_unit")
    with pytest.raises(ApplicationError, match="api_calls is charged twice"):
        services.usage_charges_validate(
            plan=plan, charges=[_charge(plan, sheet, metric), _charge(plan, sheet, metric)]
        )


# A plan's product contract --------------------------------------------------------------------


def _time_contract(accounting=(1, "month"), **extra):
    return ProductContractFactory(
        kind="time",
        runtime="until_cancelled",
        accounting_period_count=accounting[0],
        accounting_period_unit=accounting[1],
        interval_count=1,
        interval_unit="month",
        **extra,
    )


def _issue_contract(interval=(1, "month"), **extra):
    extra.setdefault(
        "price_sheet", PriceSheetFactory(pricing_model="per_unit", amount=Decimal("2"))
    )
    return ProductContractFactory(
        kind="issue",
        interval_count=interval[0],
        interval_unit=interval[1],
        issues_per_period=6,
        chargeable_issues=5,
        **extra,
    )


@pytest.mark.parametrize(
    ("billing", "accounting", "refused"),
    [
        ((1, "month"), (1, "month"), False),
        ((12, "month"), (1, "year"), False),
        ((1, "year"), (12, "month"), False),
        ((1, "month"), (12, "month"), True),
        ((3, "month"), (1, "month"), True),
    ],
)
def test_a_time_contracts_accounting_period_is_the_plans_billing_period(
    billing, accounting, refused
):
    plan = PlanFactory(billing_period_count=billing[0], billing_period_unit=billing[1])
    plan.contract = _time_contract(accounting)
    if refused:
        with pytest.raises(ApplicationError, match="must be equal") as error:
            services.plan_validate(plan=plan)
        assert error.value.field == "contract"
    else:
        services.plan_validate(plan=plan)


@pytest.mark.parametrize(
    ("interval", "refused"), [((1, "month"), False), ((6, "month"), True), ((4, "week"), True)]
)
def test_an_issue_contracts_billing_period_is_the_plans(interval, refused):
    plan = PlanFactory()
    plan.contract = _issue_contract(interval)
    if refused:
        with pytest.raises(ApplicationError, match="the issues are billed with the plan's periods"):
            services.plan_validate(plan=plan)
    else:
        services.plan_validate(plan=plan)


def test_an_issue_contract_sold_in_a_plan_needs_its_price_per_issue():
    plan = PlanFactory()
    plan.contract = _issue_contract(price_sheet=None)
    with pytest.raises(ApplicationError, match="has no price sheet"):
        services.plan_validate(plan=plan)
    plan.contract = _issue_contract(price_sheet=PriceSheetFactory(pricing_model="flat"))
    with pytest.raises(
        ApplicationError, match="an issue or a credit is charged at a price per unit"
    ):
        services.plan_validate(plan=plan)


def test_a_contract_is_priced_in_the_plans_currency():
    plan = PlanFactory(currency="EUR")
    plan.contract = ProductContractFactory(
        kind="credit",
        credit_amount=Decimal("100"),
        price_sheet=PriceSheetFactory(pricing_model="per_unit", currency="CAD"),
    )
    with pytest.raises(ApplicationError, match="must be priced in the plan's currency"):
        services.plan_validate(plan=plan)


def test_a_bundles_contract_is_checked_against_each_plan_that_sells_it():
    bundle = BundleFactory()
    PlanFactory(code="quarterly", billing_period_count=3, bundles=[bundle])
    bundle.contract = _issue_contract()
    with pytest.raises(ApplicationError, match="Sold with the plan quarterly") as refused:
        services.bundle_validate(bundle=bundle)
    assert refused.value.field == "contract"
    bundle.contract = _issue_contract((3, "month"))
    services.bundle_validate(bundle=bundle)


# Sellability ----------------------------------------------------------------------------------


def _included_bundle():
    """A bundle delivering a product at no charge (the charges are elsewhere)."""
    return BundleItemFactory(price_sheet=None).bundle


def test_a_plan_charging_only_its_contracts_issues_can_be_activated():
    plan = PlanFactory(bundles=[_included_bundle()], term=TermFactory())
    assert services.plan_sellability_problems(plan=plan) == [
        "none of its bundles has a priced product"
    ]
    plan.contract = _issue_contract()
    plan.save()
    assert services.plan_sellability_problems(plan=plan) == []


def test_a_plan_charging_only_usage_can_be_activated_once_its_tiers_exist():
    plan = PlanFactory(bundles=[_included_bundle()], term=TermFactory())
    sheet = PriceSheetFactory(code="calls", pricing_model="graduated", amount=None)
    UsageCharge.objects.create(plan=plan, metric=_metric(), price_sheet=sheet)
    assert services.plan_sellability_problems(plan=plan) == ["the price sheet calls has no tiers"]
    PriceTier.objects.create(price_sheet=sheet, first_unit=1, unit_price=Decimal("0.002"))
    assert services.plan_sellability_problems(plan=plan) == []


def test_a_usage_charge_saved_in_another_currency_keeps_the_plan_from_sale():
    plan = PlanFactory(bundles=[BundleItemFactory().bundle], term=TermFactory())
    sheet = PriceSheetFactory(pricing_model="per_unit", currency="CAD")
    UsageCharge.objects.create(plan=plan, metric=_metric(), price_sheet=sheet)
    [problem] = services.plan_sellability_problems(plan=plan)
    assert problem.startswith("the usage charge of api_calls:") and "in CAD" in problem


def test_a_usage_charges_product_needs_a_tax_rate():
    plan = PlanFactory(bundles=[BundleItemFactory().bundle])
    sheet = PriceSheetFactory(code="calls", pricing_model="per_unit", product__tax_rate=None)
    UsageCharge.objects.create(plan=plan, metric=_metric(), price_sheet=sheet)
    [problem] = services.plan_sellability_problems(plan=plan)
    assert "(price sheet calls) has no tax rate" in problem


# Features, metrics, package prices ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "with_metric", "enforcement", "field"),
    [
        ("limit", True, "soft", None),
        ("limit", True, "none", None),
        ("limit", False, "none", None),
        ("limit", False, "hard", "enforcement"),
        ("on_off", False, "soft", "enforcement"),
        ("on_off", True, "none", "metric"),
    ],
)
def test_only_a_limit_counted_against_a_metric_is_enforced(kind, with_metric, enforcement, field):
    feature = Feature(
        code="f",
        name="F",
        kind=kind,
        metric=_metric() if with_metric else None,
        enforcement=enforcement,
    )
    if field is None:
        services.feature_validate(feature=feature)
    else:
        with pytest.raises(ApplicationError) as refused:
            services.feature_validate(feature=feature)
        assert refused.value.field == field


def test_an_addons_on_off_feature_takes_no_limit():
    feature = Feature.objects.create(code="dashboard", name="Dashboard", kind="on_off")
    value = BundleFeature(bundle=BundleFactory(), feature=feature, limit=3)
    with pytest.raises(ApplicationError, match="dashboard is an on/off feature") as refused:
        services.bundle_features_validate(features=[value])
    assert refused.value.field == "bundle_features"
    services.plan_features_validate(features=[PlanFeature(feature=feature)])


@pytest.mark.parametrize(
    ("aggregation", "field", "filters", "refused_on"),
    [
        ("count", "", {}, None),
        ("sum", "bytes", {"region": ["eu", 1, True]}, None),
        ("count", "bytes", {}, "field"),
        ("max", "", {}, "field"),
        ("count", "", {"region": "eu"}, "filters"),
        ("count", "", [], "filters"),
    ],
)
def test_a_metrics_property_and_filters(aggregation, field, filters, refused_on):
    metric = BillableMetric(
        code="m", name="M", event_code="e", aggregation=aggregation, field=field, filters=filters
    )
    if refused_on is None:
        services.billable_metric_validate(metric=metric)
    else:
        with pytest.raises(ApplicationError) as refused:
            services.billable_metric_validate(metric=metric)
        assert refused.value.field == refused_on


@pytest.mark.parametrize(
    ("model", "size", "refused"),
    [
        ("package", 1000, False),
        ("package", None, True),
        ("per_unit", None, False),
        ("per_unit", 5, True),
    ],
)
def test_a_package_price_has_its_size_and_only_it(model, size, refused):
    sheet = PriceSheet(pricing_model=model, package_size=size, amount=Decimal("5"))
    if refused:
        with pytest.raises(ApplicationError) as error:
            services.price_sheet_row_validate(sheet=sheet)
        assert error.value.field == "package_size"
    else:
        services.price_sheet_row_validate(sheet=sheet)


def test_a_unit_price_finer_than_a_cent_is_written_with_its_decimals():
    sheet = PriceSheetFactory(pricing_model="graduated", amount=None)
    PriceTier.objects.create(
        price_sheet=sheet, first_unit=1, last_unit=10000, unit_price=Decimal("0")
    )
    PriceTier.objects.create(price_sheet=sheet, first_unit=10001, unit_price=Decimal("0.002"))
    assert selectors.price_sheet_summary(sheet).endswith("1–10000 @ 0.00, 10001+ @ 0.002")
    with translation.override("fr"):
        assert selectors.price_sheet_summary(sheet).endswith("10001+ @ 0,002")
        assert selectors.unit_price_text(Decimal("0.0020"), "EUR") == "0,002\u00a0€"
    package = PriceSheetFactory(pricing_model="package", amount=Decimal("5"), package_size=1000)
    assert (
        selectors.price_sheet_summary(package) == "5.00 EUR per package of 1,000 units per 1 month"
    )
