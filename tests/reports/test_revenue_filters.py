"""The revenue figures of real sales, billed by the billing run, filtered by currency, partner,
plan and customer; and their queries, as few with many documents as with one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from catalog.models import Plan
from reports.revenue import (
    RevenueFilters,
    aged_receivables,
    deferred_on,
    revenue_by_month,
)
from subscriptions import services
from tests.partners import builders
from tests.subscriptions.factories import CustomerFactory, monthly_plan

pytestmark = pytest.mark.django_db
D = Decimal
START = date(2026, 1, 1)


@pytest.fixture
def sales(acme, nordic, alpha):
    """On 1 January 2026: Acme sells billing-rules example 6.1 (10 gateways, 3 years, net 108.00
    a quarter, billed to Acme); Nordic the same at its 15 % (150 − 15 − 20.25 = 114.75); Alpha
    buys a 30.00 EUR monthly plan itself, a Canadian customer a 50.00 CAD one."""
    bakery = builders.partner_customer(acme, "Boulangerie Martin")
    builders.sell_seats(bakery)
    fjord = builders.partner_customer(nordic, "Fjord Logistics")
    builders.sell_seats(fjord)
    monthly = monthly_plan("30.00")
    services.subscription_create(customer=alpha, plan=monthly, start_date=START, today=START)
    canadian = CustomerFactory(currency="CAD")
    services.subscription_create(
        customer=canadian, plan=monthly_plan("50.00", currency="CAD"), start_date=START, today=START
    )
    builders.bill(START)
    return {"bakery": bakery, "monthly": monthly}


def january(**filters) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """{currency: (invoiced, recognized, deferred)} of January 2026."""
    return {
        row.currency: (row.invoiced, row.recognized, row.deferred)
        for row in revenue_by_month(
            start=START, end=date(2026, 1, 31), filters=RevenueFilters(**filters)
        )
    }


def test_everything(sales):
    # 108 × 31 ÷ 90 = 37.20 of the quarter recognized in January; 114.75 × 31 ÷ 90 = 39.525.
    assert january() == {
        "CAD": (D("50.00"), D("50.00"), D("0.00")),
        "EUR": (D("252.75"), D("106.73"), D("146.03")),
    }


def test_by_currency(sales):
    assert january(currency="CAD") == {"CAD": (D("50.00"), D("50.00"), D("0.00"))}
    # At the end of 15 January, 16 of January's 31 days are left: 50 × 16 ÷ 31 = 25.81.
    assert deferred_on(date(2026, 1, 15), filters=RevenueFilters(currency="CAD")) == {
        "CAD": D("25.81")
    }
    assert deferred_on(date(2026, 1, 31), filters=RevenueFilters(currency="CAD")) == {}


def test_by_partner(sales, acme, nordic):
    assert january(partner_id=acme.pk) == {"EUR": (D("108.00"), D("37.20"), D("70.80"))}
    assert january(partner_id=nordic.pk) == {"EUR": (D("114.75"), D("39.53"), D("75.23"))}


def test_by_plan(sales):
    seats = Plan.objects.get(code="device-seats")
    assert january(plan_id=seats.pk) == {"EUR": (D("222.75"), D("76.73"), D("146.03"))}
    assert january(plan_id=sales["monthly"].pk) == {"EUR": (D("30.00"), D("30.00"), D("0.00"))}


def test_by_customer_billed_or_named_as_end_customer(sales, alpha):
    assert january(customer_id=sales["bakery"].pk) == {"EUR": (D("108.00"), D("37.20"), D("70.80"))}
    assert january(customer_id=alpha.pk) == {"EUR": (D("30.00"), D("30.00"), D("0.00"))}


def test_receivables_of_the_sales(sales, acme):
    rows = aged_receivables(on=date(2026, 2, 15), by="partner")
    # Due 30 days after issue (31 January): 15 days late on 15 February.
    assert [(row.party_name, row.days_1_30, row.total) for row in rows] == [
        ("Acme Resellers", D("129.60"), D("129.60")),
        ("Nordic Devices", D("137.70"), D("137.70")),
    ]


@pytest.mark.parametrize("more", [0, 12])
def test_queries_do_not_grow_with_the_documents(sales, acme, django_assert_max_num_queries, more):
    for n in range(more):
        builders.sell_seats(builders.partner_customer(acme, f"Customer {n}"))
    builders.bill(START)
    # On PostgreSQL each figure is one query, in a transaction (a savepoint in the test's)
    # with its planner settings; the payments are a second query of revenue_by_month. SQLite
    # reads the invoices, their payments and credit notes, and the parties, once each.
    with django_assert_max_num_queries(5):
        revenue_by_month(start=date(2025, 1, 1), end=date(2026, 12, 31))
    with django_assert_max_num_queries(4):
        deferred_on(date(2026, 2, 1), filters=RevenueFilters(plan_id=sales["monthly"].pk))
    with django_assert_max_num_queries(5):
        aged_receivables(on=date(2026, 2, 1), filters=RevenueFilters(partner_id=acme.pk))
