"""A year of a metered plan, billed by the nightly runs (`manage.py run_billing` each night at
03:00, Paris): 19.00 a month in advance, and each month's API calls in arrears on the next
month's invoice — the first 10,000 free, then 0.002 each (billing-rules 12.1)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from billing.models import Invoice
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory
from tests.support.usage import metered_plan, record

pytestmark = pytest.mark.django_db
D = Decimal
PARIS = ZoneInfo("Europe/Paris")
# Calls made each month of 2026, and what they cost: (calls − 10,000) × 0.002, rounded half-up.
CALLS = [9_000, 10_500, 12_000, 10_000, 10_001, 0, 15_000, 11_000, 10_200, 9_999, 20_000, 13_000]
COST = [
    "0.00",
    "1.00",
    "4.00",
    "0.00",
    "0.00",
    None,
    "10.00",
    "2.00",
    "0.40",
    "0.00",
    "20.00",
    "6.00",
]


def test_a_year_of_api_calls_night_by_night():
    plan = metered_plan("19.00")
    subscription = None
    day = date(2026, 1, 1)
    while day <= date(2027, 1, 1):
        with time_machine.travel(
            datetime(day.year, day.month, day.day, 3, tzinfo=PARIS), tick=False
        ):
            if subscription is None:
                subscription = services.subscription_create(
                    customer=CustomerFactory(), plan=plan, start_date=day, today=day
                ).subscription
            call_command("run_billing", date=day.isoformat(), stdout=StringIO())
        if day.day == 1 and day.year == 2026:
            # The month's calls, spread over its first days (at 10:00, received at once)
            calls = CALLS[day.month - 1]
            stamps = [
                datetime(day.year, day.month, 1 + i % 20, 10, tzinfo=PARIS) + timedelta(seconds=i)
                for i in range(calls)
            ]
            record(subscription, stamps, prefix=f"{day.month}")
        day += timedelta(days=1)

    invoices = list(Invoice.objects.order_by("issue_date"))
    assert [i.issue_date for i in invoices] == [date(2026, m, 1) for m in range(1, 13)] + [
        date(2027, 1, 1)
    ]
    assert [line.net.amount for line in invoices[0].lines.all()] == [D("19.00")]
    for month, invoice in enumerate(invoices[1:], start=1):
        usage = list(invoice.lines.filter(kind="usage"))
        recurring = list(invoice.lines.filter(kind="recurring"))
        assert [r.net.amount for r in recurring] == [D("19.00")]
        if COST[month - 1] is None:
            assert usage == []  # no calls in June: no line
            continue
        (line,) = usage
        assert (line.quantity, line.net.amount) == (D(CALLS[month - 1]), D(COST[month - 1]))
        assert line.period_start == date(2026, month, 1)
    usage_total = sum((D(c) for c in COST if c), D(0))
    assert usage_total == D("43.40")
    assert sum((i.net_total.amount for i in invoices), D(0)) == 13 * D("19.00") + usage_total
