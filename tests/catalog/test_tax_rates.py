"""No silent 0 % VAT (billing-rules §10, issue 11): a plan whose
lines would carry no tax rate cannot be activated, and the refusal names each line without one."""

from datetime import date

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Plan
from core.errors import ApplicationError
from tests.catalog.factories import (
    BundleItemFactory,
    PlanFactory,
    TaxRateFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


def _untaxed_plan(**term_fields) -> Plan:
    item = BundleItemFactory(
        product__code="office-suite-x", product__tax_rate=None, bundle__code="office-x"
    )
    term = TermFactory(code="no-rate", **{"tax_rate": None, **term_fields})
    return PlanFactory(code="office-x", bundles=[item.bundle], term=term)


def test_a_plan_whose_lines_have_no_tax_rate_is_not_activated():
    """billing-rules §10: "A line whose tax cannot be determined is refused […], never taxed at 0 %
    silently." The product has no rate and neither has the term."""
    plan = _untaxed_plan()
    with pytest.raises(ApplicationError) as refused:
        services.plan_activate(plan=plan, today=date(2026, 1, 1))
    assert refused.value.message == (
        "The plan office-x cannot be activated: the product office-suite-x (bundle office-x) has "
        "no tax rate, nor has the term no-rate: set the product's or the term's tax rate."
    )
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_a_penalty_term_without_a_rate_is_named_even_when_products_have_one():
    plan = _untaxed_plan(
        commitment_count=24,
        commitment_unit="month",
        early_termination="penalty",
        penalty_cap="240.00",
        currency="EUR",
    )
    item = plan.bundles.get().items.get()
    item.product.tax_rate = TaxRateFactory()
    item.product.save()
    with pytest.raises(ApplicationError) as refused:
        services.plan_activate(plan=plan, today=date(2026, 1, 1))
    assert "the penalty line of the term no-rate has no tax rate" in refused.value.message
    assert "office-suite-x" not in refused.value.message


def test_an_add_on_without_a_tax_rate_is_named():
    vat = TaxRateFactory()
    plan = PlanFactory(bundles=[BundleItemFactory(product__tax_rate=vat).bundle])
    addon = BundleItemFactory(
        product__code="extra-x", product__tax_rate=None, bundle__code="addon-x"
    )
    plan.addon_bundles.set([addon.bundle])
    with pytest.raises(
        ApplicationError, match=r"the product extra-x \(bundle addon-x\) has no tax"
    ):
        services.plan_activate(plan=plan, today=date(2026, 1, 1))


def test_the_terms_rate_is_enough():
    plan = _untaxed_plan()
    plan.term.tax_rate = TaxRateFactory()
    plan.term.save()
    assert services.plan_activate(plan=plan, today=date(2026, 1, 1)).status == Plan.Status.ACTIVE


def test_the_admin_refuses_the_activation_with_the_missing_rate(operator_client):
    plan = _untaxed_plan()
    changelist = reverse("admin:catalog_plan_changelist")
    response = operator_client.post(
        changelist, {"action": "activate", "_selected_action": [plan.pk]}, follow=True
    )
    assert response.status_code == 200
    shown = " | ".join(str(m) for m in response.context["messages"])
    assert "the product office-suite-x (bundle office-x) has no tax rate, nor has the term" in shown
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT
    page = operator_client.get(reverse("admin:catalog_plan_change", args=[plan.pk]))
    assert page.status_code == 200
    assert "Cannot be activated yet" in page.content.decode()
    assert "has no tax rate" in page.content.decode()
