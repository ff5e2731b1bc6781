"""MRR movements on random timelines: every month, MRR(end) = MRR(start) + new + expansion +
reactivation − contraction − churn to the cent, and the SQL figures agree with a reference
computed in Python from the same segments."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.periods import Period
from reports import mrr, selectors
from reports.models import MrrSegment
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory, monthly_plan

D = Decimal
ORIGIN = date(2026, 1, 1)
MONTHS = [ORIGIN + relativedelta(months=i) for i in range(7)]

amounts = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
# A subscription: when it starts (days after the origin), how long each of its segments lasts
# and at what MRR, and whether its last one stays open.
subscription = st.tuples(
    st.integers(0, 170),
    st.lists(st.tuples(st.integers(1, 80), amounts), min_size=1, max_size=4),
    st.booleans(),
)
# Customers: each has one to three subscriptions, in EUR or USD.
customers = st.lists(
    st.tuples(st.sampled_from(["EUR", "USD"]), st.lists(subscription, min_size=1, max_size=3)),
    min_size=1,
    max_size=6,
)


def reference(segments, day):
    totals = {}
    for customer, currency, start, end, amount in segments:
        if start <= day and (end is None or day < end):
            totals[customer, currency] = totals.get((customer, currency), D(0)) + amount
    return totals


def test_classification():
    assert mrr.classify(D(0), D(30), seen_before=False) == mrr.NEW
    assert mrr.classify(D(0), D(45), seen_before=True) == mrr.REACTIVATION
    assert mrr.classify(D(150), D(250), seen_before=True) == mrr.EXPANSION
    assert mrr.classify(D(30), D(20), seen_before=True) == mrr.CONTRACTION
    assert mrr.classify(D(100), D(0), seen_before=True) == mrr.CHURN
    assert mrr.classify(D(100), D(100), seen_before=True) is None


@pytest.mark.parametrize(
    ("amount", "period", "expected"),
    [
        ("1200.00", (1, "year"), "100.00"),
        ("90.00", (3, "month"), "30.00"),
        ("100.00", (6, "month"), "16.67"),
        ("10.00", (1, "week"), "43.33"),
        ("1.00", (1, "day"), "30.42"),
    ],
)
def test_normalized_to_a_month(amount, period, expected):
    assert mrr.monthly(D(amount), Period(*period), "EUR") == D(expected)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(customers)
def test_movements_balance_every_month_on_random_timelines(plan, data):
    with transaction.atomic():
        check_random_timelines(plan, data)
        transaction.set_rollback(True)  # the next example starts from nothing


@pytest.fixture
def plan(db):
    return monthly_plan("1.00", code="random")


def check_random_timelines(plan, data):
    segments, rows = [], []
    for currency, subs in data:
        customer = CustomerFactory(currency=currency)
        for offset, parts, open_ in subs:
            subscription = Subscription.objects.create(
                customer=customer,
                plan=plan,
                status="active",
                start_date=ORIGIN,
                currency=currency,
            )
            start = ORIGIN + timedelta(days=offset)
            for i, (length, amount) in enumerate(parts):
                end = start + timedelta(days=length)
                last = i == len(parts) - 1
                end = None if last and open_ else end
                rows.append(
                    MrrSegment(
                        subscription=subscription,
                        customer=customer,
                        plan=plan,
                        country="FR",
                        currency=currency,
                        start=start,
                        end=end,
                        amount=amount,
                    )
                )
                segments.append((customer.pk, currency, start, end, amount))
                if end is None:
                    break
                start = end
    MrrSegment.objects.bulk_create(rows)

    # The series on the month starts is the reference's, in every currency
    series = selectors.mrr_series(MONTHS)
    for currency, values in series.items():
        assert values == [
            sum((v for (_c, cur), v in reference(segments, day).items() if cur == currency), D(0))
            for day in MONTHS
        ]

    # The months' movements read in one query are the ones read month by month
    by_month = selectors.movements_by_month(MONTHS[:-1])

    for i, (first, last) in enumerate(pairwise(MONTHS)):
        first, last = first - timedelta(days=1), last - timedelta(days=1)  # end of those days
        moved, changes = selectors.movements(first, last)
        before, after = reference(segments, first), reference(segments, last)
        for currency, m in moved.items():
            if currency in by_month:
                one_pass = by_month[currency][i]
                assert (one_pass.start, one_pass.end, one_pass.amounts, one_pass.customers) == (
                    m.start,
                    m.end,
                    m.amounts,
                    m.customers,
                )
            else:
                assert m.start == m.end == 0
            # Then the invariant holds to the cent...
            assert (
                m.end
                == m.start
                + m.amounts["new"]
                + m.amounts["expansion"]
                + m.amounts["reactivation"]
                - m.amounts["contraction"]
                - m.amounts["churn"]
            )
            # ...and the figures are the reference's
            assert m.start == sum((v for (_c, cur), v in before.items() if cur == currency), D(0))
            assert m.end == sum((v for (_c, cur), v in after.items() if cur == currency), D(0))
        # Each changed customer is one change, of the right kind
        changed = {
            key for key in set(before) | set(after) if before.get(key, 0) != after.get(key, 0)
        }
        assert {(c.customer_id, c.currency) for c in changes} == changed
        for c in changes:
            had = any(
                s[0] == c.customer_id and s[1] == c.currency and s[2] <= first for s in segments
            )
            assert c.kind == mrr.classify(c.before, c.after, seen_before=had)


@pytest.mark.django_db
def test_the_daily_series_is_the_sum_of_live_segments_on_each_day(plan):
    customer = CustomerFactory()
    subscription = Subscription.objects.create(
        customer=customer, plan=plan, status="active", start_date=ORIGIN, currency="EUR"
    )
    for start, end, amount in [
        (date(2026, 1, 5), date(2026, 1, 10), "10.00"),
        (date(2026, 1, 10), None, "25.00"),
    ]:
        MrrSegment.objects.create(
            subscription=subscription,
            customer=customer,
            plan=plan,
            country="FR",
            currency="EUR",
            start=start,
            end=end,
            amount=D(amount),
        )
    days = [date(2026, 1, d) for d in range(1, 13)]

    series = selectors.mrr_series(days)

    assert series == {"EUR": [D(0)] * 4 + [D("10.00")] * 5 + [D("25.00")] * 3}
    assert series["EUR"] == [sum(reference_day(day).values(), D(0)) for day in days]


def reference_day(day):
    return {
        s.pk: s.amount
        for s in MrrSegment.objects.all()
        if s.start <= day and (s.end is None or day < s.end)
    }
