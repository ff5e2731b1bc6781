"""The SQL of reports/revenue.py agrees to the cent with the definitions written in Python, line
by line and invoice by invoice, on random documents: periods of any length (or none), issued
before, during or after them, credit notes, part payments and their reversals. (On SQLite both
sides are the Python definitions: CI runs this on PostgreSQL.)"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Payment
from reports.revenue import (
    RevenueFilters,
    aged_receivables,
    deferred_on,
    reference_aged_receivables,
    reference_deferred_on,
    reference_revenue_by_month,
    revenue_by_month,
)
from tests.reports.revenue_builders import Line, issued
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ORIGIN = date(2026, 1, 1)
DAYS_SEEN = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 4, 15), date(2026, 7, 31)]

lines = st.lists(
    st.tuples(
        st.none() | st.integers(-90, 90),  # period start from the issue date (None: no period)
        st.sampled_from([1, 7, 13, 28, 30, 31, 89, 90, 92, 181, 365, 366, 1095]),
        st.integers(1, 5_000_000),  # net, in cents
    ),
    min_size=1,
    max_size=3,
)
documents = st.lists(
    st.fixed_dictionaries(
        {
            "canadian": st.booleans(),
            "issue": st.integers(0, 150),
            "due": st.integers(0, 60),
            "lines": lines,
            "credit": st.none() | st.integers(0, 60),  # a credit note of its first line, days later
            "paid": st.integers(0, 100),  # percent of the total
            "paid_after": st.integers(0, 200),
            "reversed": st.booleans(),
        }
    ),
    min_size=1,
    max_size=8,
)


def build(documents, customers) -> None:
    for doc in documents:
        customer = customers[doc["canadian"]]
        issue = ORIGIN + timedelta(days=doc["issue"])
        invoice_lines = [
            Line(
                Decimal(cents) / 100,
                None if start is None else issue + timedelta(days=start),
                None if start is None else issue + timedelta(days=start + length),
            )
            for start, length, cents in doc["lines"]
        ]
        invoice = issued(
            customer,
            issue=issue,
            due=issue + timedelta(days=doc["due"]),
            lines=invoice_lines,
        )
        if doc["credit"] is not None:
            issued(
                customer,
                issue=issue + timedelta(days=doc["credit"]),
                corrects=invoice,
                lines=invoice_lines[:1],
            )
        amount = (invoice.total.amount * doc["paid"] / 100).quantize(Decimal("0.01"))
        if amount > 0:
            received = issue + timedelta(days=doc["paid_after"])
            payment = Payment.objects.create(
                invoice=invoice,
                currency=invoice.currency,
                amount=amount,
                method=Payment.Method.BANK_TRANSFER,
                received_on=received,
            )
            if doc["reversed"]:
                Payment.objects.create(
                    invoice=invoice,
                    currency=invoice.currency,
                    amount=-amount,
                    method=Payment.Method.BANK_TRANSFER,
                    received_on=received + timedelta(days=10),
                    reverses=payment,
                )


@pytest.fixture
def customers(db):
    return {False: CustomerFactory(currency="EUR"), True: CustomerFactory(currency="CAD")}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents=documents)
def test_sql_agrees_with_the_definitions(customers, documents):
    with transaction.atomic():
        build(documents, customers)
        for filters in (RevenueFilters(), RevenueFilters(currency="CAD")):
            assert revenue_by_month(
                start=date(2025, 11, 1), end=date(2026, 9, 30), filters=filters
            ) == reference_revenue_by_month(
                start=date(2025, 11, 1), end=date(2026, 9, 30), filters=filters
            )
            for day in DAYS_SEEN:
                assert deferred_on(day, filters=filters) == reference_deferred_on(
                    day, filters=filters
                )
                assert aged_receivables(on=day, filters=filters) == reference_aged_receivables(
                    on=day, filters=filters
                )
        transaction.set_rollback(True)
