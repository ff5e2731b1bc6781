"""Factories and builders for subscription tests."""

from decimal import Decimal

import factory

from catalog.models import Plan
from subscriptions.models import Customer
from tests.catalog.factories import BundleItemFactory, PlanFactory, TermFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"billing{n}@customer.example")
    address_line1 = "1 rue de la Paix"
    postal_code = "75002"
    city = "Paris"
    country = "FR"
    currency = "EUR"


def monthly_plan(
    price: str = "30.00", *, currency: str = "EUR", term=None, period=(1, "month"), **plan_fields
) -> Plan:
    """An active plan with one flat-priced product (taxed at its term's rate when the term has
    one, else zero-rated)."""
    own_rate = {"product__tax_rate": None} if term is not None and term.tax_rate_id else {}
    item = BundleItemFactory(
        **own_rate,
        price_sheet__amount=Decimal(price),
        price_sheet__currency=currency,
        price_sheet__period_count=period[0],
        price_sheet__period_unit=period[1],
    )
    plan = PlanFactory(
        bundles=[item.bundle],
        currency=currency,
        term=term,
        billing_period_count=period[0],
        billing_period_unit=period[1],
        status=Plan.Status.ACTIVE,
        **plan_fields,
    )
    return plan


def term(**fields):
    return TermFactory(**fields)
