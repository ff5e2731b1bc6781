"""Catalog services: validations that read other rows, status changes, code generation."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog import services
from catalog.models import CouponCampaign, CouponCode, Plan, ProductContract
from core.errors import ApplicationError
from tests.catalog.factories import (
    BundleFactory,
    BundleItemFactory,
    CouponCampaignFactory,
    PlanFactory,
    PriceSheetFactory,
    ProductContractFactory,
    ProductFactory,
    TaxRateFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


# Product contracts, billing-rules §8 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("accounting", "interval", "refusal"),
    [
        ((12, "month"), (1, "month"), None),
        ((1, "year"), (1, "month"), None),
        ((2, "week"), (7, "day"), None),
        ((3, "month"), (2, "month"), "must be a whole multiple"),
        ((1, "month"), (1, "week"), "incompatible units"),
        ((1, "month"), (1, "year"), "must be a whole multiple"),
    ],
)
def test_example_8_1_time_based_contract_validation(accounting, interval, refusal):
    contract = ProductContractFactory.build(
        product=ProductFactory(),
        kind="time",
        runtime="until_cancelled",
        accounting_period_count=accounting[0],
        accounting_period_unit=accounting[1],
        interval_count=interval[0],
        interval_unit=interval[1],
    )
    if refusal is None:
        services.product_contract_validate(contract=contract)
    else:
        with pytest.raises(ApplicationError, match=refusal) as refused:
            services.product_contract_validate(contract=contract)
        assert refused.value.field == "accounting_period_count"


def test_example_8_2_issue_contract_with_more_chargeable_than_issues_is_refused():
    contract = ProductContractFactory.build(
        product=ProductFactory(),
        kind="issue",
        issues_per_period=6,
        chargeable_issues=7,
        interval_count=6,
        interval_unit="month",
    )
    with pytest.raises(ApplicationError, match="7 chargeable issues out of 6"):
        services.product_contract_validate(contract=contract)
    contract.chargeable_issues = 5
    services.product_contract_validate(contract=contract)


def test_a_fixed_runtime_must_hold_whole_intervals():
    contract = ProductContractFactory.build(
        product=ProductFactory(),
        kind="time",
        runtime="fixed",
        runtime_count=10,
        runtime_unit="week",
        accounting_period_count=12,
        accounting_period_unit="month",
        interval_count=1,
        interval_unit="month",
    )
    with pytest.raises(ApplicationError, match="incompatible units"):
        services.product_contract_validate(contract=contract)


def test_a_cancellation_period_must_be_shorter_than_the_interval():
    contract = ProductContractFactory.build(
        product=ProductFactory(),
        kind="time",
        runtime="until_cancelled",
        accounting_period_count=12,
        accounting_period_unit="month",
        interval_count=1,
        interval_unit="month",
        cancellation_count=45,
        cancellation_unit="day",
    )
    with pytest.raises(ApplicationError, match="must be shorter than the subscription interval"):
        services.product_contract_validate(contract=contract)


def test_credit_contracts_with_intervals_need_the_accounting_period():
    contract = ProductContractFactory.build(
        product=ProductFactory(), kind="credit", credit_amount=Decimal("20"), credit_intervals=True
    )
    with pytest.raises(ApplicationError, match="accounting period"):
        services.product_contract_validate(contract=contract)
    contract.accounting_period_count, contract.accounting_period_unit = 1, "month"
    services.product_contract_validate(contract=contract)


def test_fields_of_another_kind_are_refused():
    contract = ProductContractFactory.build(
        product=ProductFactory(), kind="credit", credit_amount=Decimal("5"), issues_per_period=3
    )
    with pytest.raises(ApplicationError, match="does not apply to a credit-based contract"):
        services.product_contract_validate(contract=contract)


def test_the_database_refuses_an_issue_contract_without_issues():
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductContract.objects.create(
            code="bad", name="Bad", product=ProductFactory(), kind="issue"
        )


# Price sheets, bundles, terms, plans ----------------------------------------------------------


def test_a_bundle_item_price_sheet_must_price_its_product():
    item = BundleItemFactory.build(
        bundle=BundleFactory(), product=ProductFactory(), price_sheet=PriceSheetFactory()
    )
    with pytest.raises(ApplicationError, match=r"prices .*, not"):
        services.bundle_item_validate(item=item)


def test_the_same_product_twice_in_a_bundle_is_refused():
    product = ProductFactory()
    bundle = BundleFactory()
    items = [
        BundleItemFactory.build(bundle=bundle, product=product, price_sheet=None) for _ in range(2)
    ]
    with pytest.raises(ApplicationError, match="appears twice"):
        services.bundle_items_validate(bundle=bundle, items=items)


@pytest.mark.parametrize("policy", ["forbidden", "penalty"])
def test_a_term_without_commitment_cannot_forbid_or_penalise_early_termination(policy):
    term = TermFactory.build(early_termination=policy, penalty_cap=Decimal("10"))
    with pytest.raises(
        ApplicationError, match="only be forbidden or penalised when there is a commitment"
    ):
        services.term_validate(term=term)


def test_activation_lists_what_keeps_a_plan_from_being_sold():
    plan = PlanFactory(payment_types=[])
    with pytest.raises(ApplicationError) as refused:
        services.plan_activate(plan=plan, today=date(2026, 1, 1))
    assert "it has no bundle" in refused.value.message
    assert "it supports no payment type" in refused.value.message
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_activation_refuses_a_price_in_another_currency():
    item = BundleItemFactory(price_sheet__currency="CAD")
    plan = PlanFactory(bundles=[item.bundle], currency="EUR")
    with pytest.raises(ApplicationError, match="is in CAD, the plan in EUR"):
        services.plan_activate(plan=plan, today=date(2026, 1, 1))


def test_activate_retire_reactivate():
    plan = PlanFactory(bundles=[BundleItemFactory(product__tax_rate=TaxRateFactory()).bundle])
    plan = services.plan_activate(plan=plan, today=date(2026, 1, 1))
    with pytest.raises(ApplicationError, match="already active"):
        services.plan_activate(plan=plan, today=date(2026, 1, 1))
    with pytest.raises(ApplicationError, match="Only a retired plan"):
        services.plan_reactivate(plan=plan, today=date(2026, 1, 1))
    plan = services.plan_retire(plan=plan)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.RETIRED
    plan = services.plan_reactivate(plan=plan, today=date(2026, 1, 1))
    assert plan.status == Plan.Status.ACTIVE
    # Each status change is in the audit history.
    assert [h.status for h in plan.history.order_by("history_date")][-3:] == [
        "active",
        "retired",
        "active",
    ]


def test_a_plan_past_its_validity_cannot_be_reactivated():
    plan = PlanFactory(
        bundles=[BundleItemFactory(product__tax_rate=TaxRateFactory()).bundle],
        valid_until=date(2025, 12, 31),
        status="retired",
    )
    with pytest.raises(ApplicationError, match="valid until 2025-12-31"):
        services.plan_reactivate(plan=plan, today=date(2026, 1, 1))


# Coupons, billing-rules §7 ------------------------------------------------------------------------


def test_example_7_1_generation_is_a_service_and_safe_to_run_twice():
    campaign = CouponCampaignFactory(
        code_template="coupon_##", range_start=87, quantity=5, redemption_quantity=1
    )
    created = services.coupon_codes_generate(campaign=campaign)
    assert [c.code for c in created] == [
        "coupon_87",
        "coupon_88",
        "coupon_89",
        "coupon_90",
        "coupon_91",
    ]
    assert services.coupon_codes_generate(campaign=campaign) == []
    assert campaign.codes.count() == 5
    assert {c.remaining_redemptions for c in campaign.codes.all()} == {1}


def test_example_7_1_range_start_98_is_refused_and_nothing_is_written():
    campaign = CouponCampaignFactory(code_template="coupon_##", range_start=98, quantity=5)
    with pytest.raises(ApplicationError, match="100 does not fit"):
        services.coupon_codes_generate(campaign=campaign)
    assert not CouponCode.objects.exists()


def test_alphanumeric_generation_fills_up_to_the_quantity():
    campaign = CouponCampaignFactory(
        code_template="GIFT-#####", charset="alphanumeric", range_start=None, quantity=300
    )
    codes = services.coupon_codes_generate(campaign=campaign)
    assert len({c.code for c in codes}) == 300
    assert services.coupon_codes_generate(campaign=campaign) == []


def test_the_template_cannot_change_once_codes_exist():
    campaign = CouponCampaignFactory()
    services.coupon_codes_generate(campaign=campaign)
    campaign.code_template = "promo_##"
    with pytest.raises(ApplicationError, match="can no longer change"):
        services.coupon_campaign_validate(campaign=campaign)


def test_a_campaign_bundle_must_hold_a_discount():
    campaign = CouponCampaignFactory.build(bundle=BundleItemFactory().bundle)
    with pytest.raises(ApplicationError, match="holds no discount"):
        services.coupon_campaign_validate(campaign=campaign)


def test_expiry_is_idempotent_and_leaves_used_codes_alone():
    campaign = CouponCampaignFactory(valid_until=date(2026, 3, 31))
    services.coupon_codes_generate(campaign=campaign)
    CouponCode.objects.filter(code="coupon_87").update(times_redeemed=1, status="exhausted")
    assert services.coupon_campaigns_expire(today=date(2026, 3, 31)) == 0
    assert services.coupon_campaigns_expire(today=date(2026, 4, 1)) == 1
    assert services.coupon_campaigns_expire(today=date(2026, 4, 2)) == 0
    statuses = dict(CouponCode.objects.values_list("code", "status"))
    assert statuses["coupon_87"] == "exhausted"
    assert {statuses[c] for c in ["coupon_88", "coupon_89", "coupon_90", "coupon_91"]} == {
        "expired"
    }
    assert CouponCampaign.objects.get(pk=campaign.pk).status == "expired"


def test_disable_and_enable_a_code():
    campaign = CouponCampaignFactory()
    code = services.coupon_codes_generate(campaign=campaign)[0]
    code = services.coupon_code_set_disabled(code=code, disabled=True)
    assert code.status == "disabled"
    code = services.coupon_code_set_disabled(code=code, disabled=False)
    assert code.status == "active"
    with pytest.raises(ApplicationError, match="is not disabled"):
        services.coupon_code_set_disabled(code=code, disabled=False)


def test_the_database_refuses_over_redemption():
    campaign = CouponCampaignFactory()
    code = services.coupon_codes_generate(campaign=campaign)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        CouponCode.objects.filter(pk=code.pk).update(times_redeemed=2)
