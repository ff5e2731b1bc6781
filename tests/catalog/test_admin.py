"""Every catalog admin page loads for an operator, and refusals show on the form."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from catalog.models import CouponCampaign, CouponCode, Plan, PriceSheet, PriceTier, Term

CATALOG_MODELS = [model for model in admin.site._registry if model._meta.app_label == "catalog"]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_catalog_model_is_in_the_admin():
    from django.apps import apps

    registered = set(CATALOG_MODELS)
    concrete = {
        m
        for m in apps.get_app_config("catalog").get_models()
        if not m.__name__.startswith("Historical")
    }
    # Inline-only models are edited from their parent's form.
    inline_only = {"PriceTier", "BundleItem", "PlanFeature", "ServicePeriodOption"}
    assert {m.__name__ for m in concrete - registered} == inline_only


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.__name__)
def test_changelist_search_add_change_and_history_load_for_an_operator(
    operator_client, demo_catalog, model
):
    assert operator_client.get(_url(model, "changelist")).status_code == 200
    assert operator_client.get(_url(model, "changelist"), {"q": "a"}).status_code == 200
    obj = model.objects.first()
    assert obj is not None, f"the demo catalog has no {model.__name__}"
    assert operator_client.get(_url(model, "change", obj.pk)).status_code == 200
    assert operator_client.get(_url(model, "history", obj.pk)).status_code == 200
    expected_add = 403 if model is CouponCode else 200
    assert operator_client.get(_url(model, "add")).status_code == expected_add


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.__name__)
def test_every_list_filter_choice_loads(operator_client, demo_catalog, model):
    response = operator_client.get(_url(model, "changelist"))
    filter_specs = response.context["cl"].filter_specs
    for spec in filter_specs:
        for choice in spec.choices(response.context["cl"]):
            query = choice["query_string"]
            assert operator_client.get(_url(model, "changelist") + query).status_code == 200, query


def _form_errors(response) -> str:
    """All error messages of the admin page, form and formsets."""
    texts = []
    form = response.context["adminform"].form
    texts += [str(e) for errors in form.errors.values() for e in errors]
    for formset in response.context["inline_admin_formsets"]:
        texts += [str(e) for e in formset.formset.non_form_errors()]
        texts += [str(e) for f in formset.formset.errors for errors in f.values() for e in errors]
    return " | ".join(texts)


def test_a_campaign_whose_codes_do_not_fit_is_refused_on_the_form(operator_client, demo_catalog):
    bundle = demo_catalog["campaign"].bundle
    response = operator_client.post(
        _url(CouponCampaign, "add"),
        {
            "code": "coupon-98",
            "name": "Too wide",
            "kind": "coupon",
            "bundle": bundle.pk,
            "code_template": "coupon_##",
            "charset": "numeric",
            "range_start": "98",
            "quantity": "5",
            "redemption_quantity": "1",
        },
    )
    assert response.status_code == 200
    assert "100 does not fit" in _form_errors(response)
    assert not CouponCampaign.objects.filter(code="coupon-98").exists()


def _tier_formset(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def test_tiers_with_a_gap_are_refused_and_nothing_is_saved(operator_client, demo_catalog):
    product = demo_catalog["plans"][0].bundles.first().items.first().product
    data = {
        "code": "gappy",
        "name": "Gappy tiers",
        "product": product.pk,
        "currency": "EUR",
        "period_count": "1",
        "period_unit": "month",
        "pricing_model": "graduated",
        "amount": "",
    }
    data |= _tier_formset(
        "tiers",
        [
            {"first_unit": "1", "last_unit": "10", "unit_price": "10.00"},
            {"first_unit": "12", "last_unit": "", "unit_price": "8.00"},
        ],
    )
    response = operator_client.post(_url(PriceSheet, "add"), data)
    assert response.status_code == 200
    assert "should start at unit 11" in _form_errors(response)
    assert not PriceSheet.objects.filter(code="gappy").exists()
    assert not PriceTier.objects.filter(price_sheet__code="gappy").exists()


def test_contiguous_tiers_save_in_the_sheets_currency(operator_client, demo_catalog):
    product = demo_catalog["plans"][0].bundles.first().items.first().product
    data = {
        "code": "tiers-cad",
        "name": "Tiers in CAD",
        "product": product.pk,
        "currency": "CAD",
        "period_count": "1",
        "period_unit": "month",
        "pricing_model": "volume",
        "amount": "",
    } | _tier_formset(
        "tiers",
        [
            {"first_unit": "1", "last_unit": "10", "unit_price": "10.00"},
            {"first_unit": "11", "last_unit": "", "unit_price": "8.00", "flat_amount": "5"},
        ],
    )
    response = operator_client.post(_url(PriceSheet, "add"), data)
    assert response.status_code == 302, _form_errors(response)
    sheet = PriceSheet.objects.get(code="tiers-cad")
    assert [
        (t.first_unit, t.unit_price.amount, str(t.unit_price.currency)) for t in sheet.tiers.all()
    ] == [
        (1, Decimal("10.0000"), "CAD"),
        (11, Decimal("8.0000"), "CAD"),
    ]


def test_a_penalty_term_without_a_cap_is_refused_with_the_constraint_message(operator_client, db):
    response = operator_client.post(
        _url(Term, "add"),
        {
            "code": "no-cap",
            "name": "No cap",
            "commitment_basis": "calendar",
            "commitment_count": "12",
            "commitment_unit": "month",
            "early_termination": "penalty",
            "grace_count": "0",
            "grace_unit": "day",
            "currency": "EUR",
            "notice_count": "0",
            "notice_unit": "day",
            "freeze_count": "0",
            "freeze_unit": "month",
        },
    )
    assert response.status_code == 200
    assert "A penalty policy needs a penalty fee cap." in _form_errors(response)
    assert not Term.objects.filter(code="no-cap").exists()


def test_a_rank_without_an_upgrade_group_is_refused(operator_client, demo_catalog):
    plan = Plan.objects.get(code="cloud-backup-monthly")
    response = operator_client.get(_url(Plan, "change", plan.pk))
    form = response.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data |= {
        "upgrade_group": "",
        "upgrade_rank": "3",
        "bundles": [b.pk for b in plan.bundles.all()],
        "payment_types": plan.payment_types,
        "term": plan.term_id,
    }
    for prefix in ("plan_features", "service_periods"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = operator_client.post(_url(Plan, "change", plan.pk), data)
    assert response.status_code == 200
    assert "A rank only means something inside an upgrade group" in _form_errors(response)
    plan.refresh_from_db()
    assert plan.upgrade_rank == 0


def test_the_generate_codes_action_generates_and_reports_refusals(operator_client, demo_catalog):
    campaign = demo_catalog["campaign"]
    CouponCampaign.objects.filter(pk=campaign.pk).update(quantity=6)
    # A second campaign on the same template and range would make codes that already exist.
    clash = CouponCampaign.objects.create(
        code="clash",
        name="Clash",
        bundle=campaign.bundle,
        code_template="coupon_##",
        charset="numeric",
        range_start=90,
        quantity=3,
    )
    response = operator_client.post(
        _url(CouponCampaign, "changelist"),
        {"action": "generate_codes", "_selected_action": [campaign.pk, clash.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert CouponCode.objects.filter(campaign=campaign).count() == 6
    assert "coupon_92" in set(CouponCode.objects.values_list("code", flat=True))
    shown = [str(m) for m in response.context["messages"]]
    assert any("coupon_90, coupon_91 already exist in another campaign" in m for m in shown), shown
    assert not clash.codes.exists()


def test_money_amounts_show_in_the_forms_and_inlines(operator_client, demo_catalog):
    sheet = PriceSheet.objects.get(code="storage-graduated-eur")
    response = operator_client.get(_url(PriceSheet, "change", sheet.pk))
    html = response.content.decode()
    assert 'name="tiers-0-unit_price" value="10.0000"' in html
    flat = PriceSheet.objects.get(code="hosting-a-cad")
    assert (
        'name="amount" value="150.0000"'
        in operator_client.get(_url(PriceSheet, "change", flat.pk)).content.decode()
    )


def test_inline_changes_appear_in_the_parents_history(operator_client, demo_catalog):
    sheet = PriceSheet.objects.get(code="storage-graduated-eur")
    tier = sheet.tiers.get(first_unit=51)
    tier.unit_price = Decimal("5.50")
    tier.save()
    html = operator_client.get(_url(PriceSheet, "history", sheet.pk)).content.decode()
    assert "Price tiers" in html
    assert "<strong>Unit price:</strong> €6.00&nbsp;&rarr;&nbsp;€5.50" in html


def test_the_demo_seed_is_idempotent_and_leaves_no_empty_history(db):
    from demo.catalog import seed_catalog

    seed_catalog()
    counts = {m: m.history.count() for m in (Plan, PriceSheet, PriceTier, Term, CouponCode)}
    seed_catalog()
    assert {m: m.history.count() for m in counts} == counts


def test_an_admin_change_is_recorded_with_who_when_and_old_and_new_values(
    operator_client, operator, demo_catalog
):
    from catalog.models import TaxRate

    rate = TaxRate.objects.get(code="FR-VAT-20")
    response = operator_client.post(
        _url(TaxRate, "change", rate.pk),
        {
            "code": rate.code,
            "name": "TVA normale",
            "rate": "20.00",
            "is_active": "on",
            "country": "FR",
            "is_standard": "on",
            "category": "S",
        },
    )
    assert response.status_code == 302
    latest = rate.history.latest("history_date")
    assert latest.history_user == operator
    assert latest.history_type == "~"
    changes = latest.diff_against(latest.prev_record).changes
    assert [(c.field, c.old, c.new) for c in changes] == [("name", "TVA 20 %", "TVA normale")]
    html = operator_client.get(_url(TaxRate, "history", rate.pk)).content.decode()
    assert "TVA 20 %" in html and "TVA normale" in html and "operator" in html
