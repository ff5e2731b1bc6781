"""factory_boy factories for the catalog."""

from decimal import Decimal

import factory

from catalog.models import (
    Bundle,
    BundleItem,
    CouponCampaign,
    Discount,
    Plan,
    PriceSheet,
    Product,
    ProductContract,
    TaxRate,
    Term,
)


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ["code"]

    code = "VAT-20"
    name = "VAT 20 %"
    rate = Decimal("20.00")


class ZeroRatedFactory(TaxRateFactory):
    """The rate of products whose test is not about tax: explicit 0 % (Z), never a silent
    one (billing-rules §10 refuses a line without a rate)."""

    code = "VAT-Z"
    name = "Zero-rated (tests)"
    rate = Decimal("0")
    category = "Z"
    exemption_code = "VATEX-EU-Z"
    exemption_reason = "Zero-rated"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    tax_rate = factory.SubFactory(ZeroRatedFactory)


class PriceSheetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceSheet

    code = factory.Sequence(lambda n: f"sheet-{n}")
    name = "Price"
    product = factory.SubFactory(ProductFactory)
    currency = "EUR"
    pricing_model = "flat"
    amount = Decimal("30.00")
    period_count = 1
    period_unit = "month"


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term

    code = factory.Sequence(lambda n: f"term-{n}")
    name = "Term"
    commitment_basis = "calendar"
    commitment_count = 0
    commitment_unit = ""
    early_termination = "allowed"
    tax_rate = factory.SubFactory(ZeroRatedFactory)  # its penalty line needs one


class BundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bundle

    code = factory.Sequence(lambda n: f"bundle-{n}")
    name = "Bundle"


class BundleItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleItem

    bundle = factory.SubFactory(BundleFactory)
    kind = "product"
    product = factory.SubFactory(ProductFactory)
    price_sheet = factory.SubFactory(PriceSheetFactory, product=factory.SelfAttribute("..product"))


class DiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Discount

    code = factory.Sequence(lambda n: f"discount-{n}")
    name = "Discount"
    kind = "percentage"
    percentage = Decimal("10.00")
    target = "subscription"
    duration = "forever"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    currency = "EUR"
    billing_period_count = 1
    billing_period_unit = "month"
    payment_types = ["card"]

    @factory.post_generation
    def bundles(self, create, extracted, **kwargs):
        if create and extracted:
            self.bundles.set(extracted)


class CouponCampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponCampaign

    code = factory.Sequence(lambda n: f"campaign-{n}")
    name = "Campaign"
    bundle = factory.LazyFunction(
        lambda: (
            BundleItemFactory(
                kind="discount", product=None, price_sheet=None, discount=DiscountFactory()
            ).bundle
        )
    )
    code_template = "coupon_##"
    charset = "numeric"
    quantity = 5
    range_start = 87


class ProductContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductContract

    code = factory.Sequence(lambda n: f"contract-{n}")
    name = "Contract"
    product = factory.SubFactory(ProductFactory)
