"""The admin of usage and contracts: billable metrics, usage charges of a plan, features counted
against a metric, add-on features of a bundle, package prices and the offer's product contract.
Every page loads, and every bad input is refused on the form, next to the field, saving
nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    Feature,
    Plan,
    PriceSheet,
    ProductContract,
    UsageCharge,
)
from tests.catalog.factories import PriceSheetFactory, ProductContractFactory


def _url(model, view, *args):
    return reverse(f"admin:catalog_{model._meta.model_name}_{view}", args=args)


def _errors(response) -> dict[str, str]:
    """The form's errors by field, and the inlines' ("<prefix>" for a formset's own errors)."""
    assert response.status_code == 200, "refused: the form is shown again"
    errors = {k: " ".join(v) for k, v in response.context["adminform"].form.errors.items()}
    for formset in response.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        if formset.formset.non_form_errors():
            errors[prefix] = " ".join(formset.formset.non_form_errors())
        for form in formset.formset.forms:
            for field, messages in form.errors.items():
                errors[f"{prefix}.{field}"] = " ".join(messages)
    return errors


def _inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def _metric_data(**overrides) -> dict:
    return {
        "code": "storage_gb",
        "name": "Storage",
        "name_fr": "Stockage",
        "unit": "GB",
        "event_code": "storage",
        "aggregation": "max",
        "field": "gb",
        "filters": "{}",
    } | overrides


# Pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "code"),
    [
        (BillableMetric, "api_calls"),
        (Plan, "api-metered-monthly"),
        (Plan, "quotidien-tech-monthly"),
        (Feature, "api_calls_limit"),
        (Bundle, "api-metered"),
        (PriceSheet, "api-calls-graduated-eur"),
    ],
)
def test_the_pages_of_the_new_offers_load(operator_client, demo_catalog, model, code):
    obj = model.objects.get(code=code)
    for url in (
        _url(model, "changelist"),
        _url(model, "add"),
        _url(model, "change", obj.pk),
        _url(model, "history", obj.pk),
    ):
        assert operator_client.get(url).status_code == 200, url


def test_the_plan_page_shows_its_usage_charge_and_contract(operator_client, demo_catalog):
    plan = Plan.objects.get(code="api-metered-monthly")
    html = operator_client.get(_url(Plan, "change", plan.pk)).content.decode()
    assert 'name="usage_charges-0-metric"' in html
    assert "usage of api_calls, billed in arrears" in html
    assert "10001+ @ 0.002" in html
    paper = Plan.objects.get(code="quotidien-tech-monthly")
    html = operator_client.get(_url(Plan, "change", paper.pk)).content.decode()
    assert "product contract quotidien-tech-issues (issue-based): 2.00 EUR per unit" in html


def test_a_metric_saves_and_its_change_is_in_the_history(operator_client, operator, db):
    response = operator_client.post(
        _url(BillableMetric, "add"), _metric_data(filters='{"region": ["eu", "us"]}')
    )
    assert response.status_code == 302, _errors(response)
    metric = BillableMetric.objects.get(code="storage_gb")
    assert metric.filters == {"region": ["eu", "us"]}
    assert metric.history.latest("history_date").history_user == operator


# Billable metrics: bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("{not json", "Enter a valid JSON."),
        ("null", "Filters are an object"),
        ('["eu"]', "Filters are an object"),
        ('{"region": "eu"}', 'The filter on "region" needs a list of at least one value.'),
        ('{"region": []}', 'The filter on "region" needs a list of at least one value.'),
        ('{"region": [{"a": 1}]}', 'The values of the filter on "region" are texts or numbers.'),
    ],
)
def test_bad_metric_filters_are_a_field_error(operator_client, db, filters, message):
    response = operator_client.post(_url(BillableMetric, "add"), _metric_data(filters=filters))
    assert message in _errors(response)["filters"]
    assert not BillableMetric.objects.exists()


@pytest.mark.parametrize(
    ("aggregation", "field", "message"),
    [
        ("count", "gb", "Count counts the events: it aggregates no property"),
        ("sum", "", "Sum aggregates a property of the events: name the property."),
        ("count_unique", "", "Count unique aggregates a property"),
    ],
)
def test_a_property_that_does_not_match_the_aggregation_is_a_field_error(
    operator_client, db, aggregation, field, message
):
    response = operator_client.post(
        _url(BillableMetric, "add"), _metric_data(aggregation=aggregation, field=field)
    )
    errors = _errors(response)
    assert message in errors["field"]
    assert "__all__" not in errors, "said once, on the property"
    assert not BillableMetric.objects.exists()


# Features -------------------------------------------------------------------------------------


def _feature_data(**overrides) -> dict:
    return {
        "code": "seats-used",
        "name": "Seats used",
        "kind": "limit",
        "unit": "",
        "metric": "",
        "enforcement": "none",
    } | overrides


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"enforcement": "hard"}, "enforcement", "Only a limit counted against a usage metric"),
        ({"kind": "on_off", "enforcement": "soft"}, "enforcement", "can be enforced"),
        ({"kind": "on_off", "metric": "METRIC"}, "metric", "Only a limit is counted against"),
    ],
)
def test_a_feature_enforced_without_a_metric_or_not_a_limit_is_refused(
    operator_client, demo_catalog, values, field, message
):
    metric = BillableMetric.objects.get(code="api_calls")
    values = {k: metric.pk if v == "METRIC" else v for k, v in values.items()}
    response = operator_client.post(_url(Feature, "add"), _feature_data(**values))
    assert message in _errors(response)[field]
    assert not Feature.objects.filter(code="seats-used").exists()


def test_a_limit_counted_against_a_metric_can_be_enforced(operator_client, demo_catalog):
    metric = BillableMetric.objects.get(code="api_calls")
    response = operator_client.post(
        _url(Feature, "add"), _feature_data(metric=metric.pk, enforcement="hard")
    )
    assert response.status_code == 302, _errors(response)
    assert Feature.objects.get(code="seats-used").enforcement == "hard"


# Price sheets: package ------------------------------------------------------------------------


def _sheet_data(product, **overrides) -> dict:
    return (
        {
            "code": "calls-package",
            "name": "Calls by the thousand",
            "product": product.pk,
            "currency": "EUR",
            "period_count": "1",
            "period_unit": "month",
            "pricing_model": "package",
            "amount": "5.00",
            "package_size": "1000",
        }
        | overrides
        | _inline("tiers", [])
    )


def test_a_package_price_saves_with_its_size(operator_client, demo_catalog):
    product = PriceSheet.objects.get(code="api-calls-graduated-eur").product
    response = operator_client.post(_url(PriceSheet, "add"), _sheet_data(product))
    assert response.status_code == 302, _errors(response)
    assert PriceSheet.objects.get(code="calls-package").package_size == 1000


@pytest.mark.parametrize(
    "overrides",
    [{"package_size": ""}, {"pricing_model": "per_unit"}],
    ids=["package-without-size", "size-without-package"],
)
def test_a_package_size_goes_with_a_package_price(operator_client, demo_catalog, overrides):
    product = PriceSheet.objects.get(code="api-calls-graduated-eur").product
    response = operator_client.post(_url(PriceSheet, "add"), _sheet_data(product, **overrides))
    assert "A package price needs its number of units per package" in " ".join(
        _errors(response).values()
    )
    assert not PriceSheet.objects.filter(code="calls-package").exists()


# Plans: usage charges and contract ------------------------------------------------------------


def _plan_post(client, plan: Plan, *, charges: list[dict] | None = None, **fields):
    response = client.get(_url(Plan, "change", plan.pk))
    form = response.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data |= {
        "bundles": [b.pk for b in plan.bundles.all()],
        "payment_types": plan.payment_types,
        "term": plan.term_id or "",
        "contract": plan.contract_id or "",
        "upgrade_group": plan.upgrade_group_id or "",
    }
    data |= fields
    existing = list(plan.usage_charges.all())
    if charges is None:
        charges = [
            {
                "id": c.pk,
                "plan": plan.pk,
                "position": c.position,
                "metric": c.metric_id,
                "price_sheet": c.price_sheet_id,
            }
            for c in existing
        ]
    data |= _inline("usage_charges", charges, initial=len(existing))
    for prefix, rows in (("plan_features", plan.plan_features.all()),):
        data |= _inline(
            prefix,
            [
                {"id": r.pk, "plan": plan.pk, "feature": r.feature_id, "enabled": "on"}
                | ({"limit": r.limit} if r.limit is not None else {})
                for r in rows
            ],
            initial=len(rows),
        )
    data |= _inline("service_periods", [])
    return client.post(_url(Plan, "change", plan.pk), data)


def test_the_plan_form_saves_unchanged(operator_client, demo_catalog):
    plan = Plan.objects.get(code="api-metered-monthly")
    response = _plan_post(operator_client, plan)
    assert response.status_code == 302, _errors(response)


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        (
            {"pricing_model": "flat", "amount": Decimal("5")},
            "a usage charge needs a price per unit",
        ),
        (
            {"pricing_model": "per_unit", "amount": Decimal("1"), "currency": "CAD"},
            "is in CAD and the plan in EUR: choose a price sheet in EUR",
        ),
    ],
    ids=["flat", "other-currency"],
)
def test_a_usage_charge_priced_flat_or_in_another_currency_is_refused(
    operator_client, demo_catalog, sheet, message
):
    plan = Plan.objects.get(code="api-metered-monthly")
    charge = plan.usage_charges.get()
    bad = PriceSheetFactory(**sheet)
    response = _plan_post(
        operator_client,
        plan,
        charges=[
            {
                "id": charge.pk,
                "plan": plan.pk,
                "position": 0,
                "metric": charge.metric_id,
                "price_sheet": bad.pk,
            }
        ],
    )
    assert message in _errors(response)["usage_charges"]
    charge.refresh_from_db()
    assert charge.price_sheet.code == "api-calls-graduated-eur"


def test_a_metric_charged_twice_is_refused(operator_client, demo_catalog):
    plan = Plan.objects.get(code="api-metered-monthly")
    charge = plan.usage_charges.get()
    row = {
        "plan": plan.pk,
        "position": 1,
        "metric": charge.metric_id,
        "price_sheet": charge.price_sheet_id,
    }
    response = _plan_post(operator_client, plan, charges=[{"id": charge.pk, **row}, row])
    assert "duplicate data for metric" in _errors(response)["usage_charges"]
    assert UsageCharge.objects.filter(plan=plan).count() == 1


def test_changing_the_plans_currency_checks_its_usage_charges(operator_client, demo_catalog):
    plan = Plan.objects.get(code="api-metered-monthly")
    response = _plan_post(operator_client, plan, currency="CAD")
    assert "is in EUR and the plan in CAD" in " ".join(_errors(response).values())
    plan.refresh_from_db()
    assert plan.currency == "EUR"


@pytest.mark.parametrize(
    ("contract", "message"),
    [
        (
            {
                "kind": "time",
                "runtime": "until_cancelled",
                "accounting_period_count": 12,
                "accounting_period_unit": "month",
                "interval_count": 1,
                "interval_unit": "month",
            },
            "has an accounting period of 12 months and the plan is billed every 1 month",
        ),
        (
            {
                "kind": "issue",
                "interval_count": 6,
                "interval_unit": "month",
                "issues_per_period": 6,
                "chargeable_issues": 5,
            },
            "delivers its issues per 6 months and the plan is billed every 1 month",
        ),
    ],
    ids=["time", "issue"],
)
def test_a_contract_whose_periods_are_not_the_plans_is_refused(
    operator_client, demo_catalog, contract, message
):
    plan = Plan.objects.get(code="quotidien-tech-monthly")
    bad = ProductContractFactory(**contract)
    response = _plan_post(operator_client, plan, contract=bad.pk)
    assert message in _errors(response)["contract"]
    plan.refresh_from_db()
    assert plan.contract.code == "quotidien-tech-issues"


def test_a_time_contract_of_the_plans_period_is_accepted(operator_client, demo_catalog):
    plan = Plan.objects.get(code="quotidien-tech-monthly")
    yearly = ProductContractFactory(
        kind="time",
        runtime="until_cancelled",
        accounting_period_count=1,
        accounting_period_unit="month",
        interval_count=1,
        interval_unit="month",
    )
    response = _plan_post(operator_client, plan, contract=yearly.pk)
    assert response.status_code == 302, _errors(response)
    plan.refresh_from_db()
    assert plan.contract == yearly


# Bundles: add-on features and contract --------------------------------------------------------


def _bundle_post(client, bundle: Bundle, features: list[dict], **fields):
    data = {
        "code": bundle.code,
        "name": bundle.name,
        "name_fr": bundle.name_fr,
        "contract": bundle.contract_id or "",
    } | fields
    items = list(bundle.items.all())
    data |= _inline(
        "items",
        [
            {
                "id": i.pk,
                "bundle": bundle.pk,
                "position": i.position,
                "kind": i.kind,
                "product": i.product_id or "",
                "price_sheet": i.price_sheet_id or "",
                "discount": i.discount_id or "",
                "required": "on" if i.required else "",
                "quantity": i.quantity,
            }
            for i in items
        ],
        initial=len(items),
    )
    data |= _inline("bundle_features", features)
    return client.post(_url(Bundle, "change", bundle.pk), data)


def test_an_addon_gives_features_and_an_on_off_one_takes_no_limit(operator_client, demo_catalog):
    bundle = Bundle.objects.get(code="service-plus-eur")
    limit = Feature.objects.get(code="api_calls_limit")
    dashboard = Feature.objects.get(code="usage-dashboard")
    response = _bundle_post(
        operator_client,
        bundle,
        [{"feature": dashboard.pk, "enabled": "on", "limit": "10"}],
    )
    assert (
        "usage-dashboard is an on/off feature: it takes no limit."
        in (_errors(response)["bundle_features"])
    )
    assert not BundleFeature.objects.exists()
    response = _bundle_post(
        operator_client,
        bundle,
        [
            {"feature": limit.pk, "enabled": "on", "limit": "50000"},
            {"feature": dashboard.pk, "enabled": "on"},
        ],
    )
    assert response.status_code == 302, _errors(response)
    assert {(f.feature.code, f.limit) for f in bundle.bundle_features.all()} == {
        ("api_calls_limit", 50000),
        ("usage-dashboard", None),
    }


def test_a_bundles_contract_is_checked_against_the_plans_that_sell_it(
    operator_client, demo_catalog
):
    bundle = Bundle.objects.get(code="cloud-backup")  # in the monthly cloud-backup plan
    quarterly = ProductContract.objects.get(code="magazine-6-issues")  # 6-month issues
    response = _bundle_post(operator_client, bundle, [], contract=quarterly.pk)
    assert "Sold with the plan cloud-backup-monthly" in _errors(response)["contract"]
    bundle.refresh_from_db()
    assert bundle.contract is None


def test_a_usage_charges_change_is_in_its_plans_history(operator_client, demo_catalog):
    plan = Plan.objects.get(code="api-metered-monthly")
    charge = plan.usage_charges.get()
    charge.position = 4
    charge.save()
    html = operator_client.get(_url(Plan, "history", plan.pk)).content.decode()
    assert "Usage charges" in html
    assert "<strong>Position:</strong> 0&nbsp;&rarr;&nbsp;4" in html
