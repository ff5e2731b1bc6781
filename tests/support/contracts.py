"""Builders for product-contract tests: a newspaper sold by the issue, prepaid API credits."""

from __future__ import annotations

from decimal import Decimal

from catalog.models import Bundle, BundleItem, Plan, PriceSheet, Product, ProductContract
from tests.catalog.factories import ZeroRatedFactory

D = Decimal


def per_unit_sheet(code: str, price: str, product: Product, currency: str = "EUR") -> PriceSheet:
    return PriceSheet.objects.create(
        code=code,
        name=code,
        product=product,
        currency=currency,
        pricing_model="per_unit",
        amount=D(price),
    )


def newspaper_contract(*, price: str = "2.00", cancellation_days: int = 7) -> ProductContract:
    """Monthly, 6 issues of which 5 chargeable (billing-rules 8.2), repeated until cancelled."""
    product = Product.objects.create(
        code="daily-tech", name="Daily Tech", tax_rate=ZeroRatedFactory()
    )
    return ProductContract.objects.create(
        code="daily-tech-issues",
        name="Daily Tech, by the issue",
        kind="issue",
        product=product,
        price_sheet=per_unit_sheet("daily-tech-issue", price, product),
        interval_count=1,
        interval_unit="month",
        issues_per_period=6,
        chargeable_issues=5,
        repeat_until_cancelled=True,
        cancellation_count=cancellation_days,
        cancellation_unit="day",
    )


def credits_contract(*, credits: str = "1000", price: str = "0.01") -> ProductContract:
    """Credits granted each month, unused ones expiring; top-ups at `price` per credit."""
    product = Product.objects.create(
        code="api-credits", name="API credits", tax_rate=ZeroRatedFactory()
    )
    return ProductContract.objects.create(
        code="api-credits-monthly",
        name="API credits, monthly",
        kind="credit",
        product=product,
        price_sheet=per_unit_sheet("api-credit", price, product),
        credit_amount=D(credits),
        credit_intervals=True,
        accounting_period_count=1,
        accounting_period_unit="month",
    )


def offer(code: str, contract: ProductContract | None, *, fee: str | None = None) -> Plan:
    """A monthly EUR plan of the contract's product (free, or with a flat fee), carrying it."""
    product = contract.product if contract else Product.objects.create(code=f"{code}-p", name=code)
    sheet = None
    if fee is not None:
        fee_product = Product.objects.create(
            code=f"{code}-fee", name=f"{code} fee", tax_rate=ZeroRatedFactory()
        )
        sheet = PriceSheet.objects.create(
            code=f"{code}-fee", name=code, product=fee_product, currency="EUR", amount=D(fee)
        )
        product = fee_product
    bundle = Bundle.objects.create(code=code, name=code)
    BundleItem.objects.create(bundle=bundle, product=product, price_sheet=sheet)
    plan = Plan.objects.create(
        code=code,
        name=code,
        currency="EUR",
        status="active",
        payment_types=["card", "sepa_debit"],
        contract=contract,
    )
    plan.bundles.set([bundle])
    return plan
