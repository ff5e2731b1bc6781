"""Usage billed in arrears by the billing run (billing-rules §12, docs/billing-rules.md)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.models import Invoice
from billing.services import billing_run
from subscriptions import services
from subscriptions.charges.usage import usage_estimate
from tests.subscriptions.factories import CustomerFactory
from tests.support.usage import metered_plan, record

pytestmark = pytest.mark.django_db
D = Decimal
PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def metered():
    plan = metered_plan("19.00")
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=date(2026, 1, 1), today=date(2026, 1, 1)
    ).subscription
    billing_run(day=date(2026, 1, 1))
    return subscription


def lines_of(invoice: Invoice) -> list[tuple]:
    return [(line.kind, line.quantity, line.net.amount) for line in invoice.lines.order_by("id")]


def test_example_12_1_api_calls_graduated(metered):
    # Given 25,001 calls in January, two of them sent with the same transaction id (a retry)
    stamps = [at(date(2026, 1, 1)) + timedelta(seconds=100 * i) for i in range(25_001)]
    ids = [f"call-{i}" for i in range(25_000)] + ["call-7"]
    assert record(metered, stamps, transaction_ids=ids) == 25_000
    # When the run bills 1 February
    billing_run(day=date(2026, 2, 1))
    # Then the February invoice bills the month ahead and January's calls behind:
    # 15,000 × 0.002 = 30.00
    invoice = Invoice.objects.get(issue_date=date(2026, 2, 1))
    assert lines_of(invoice) == [
        ("recurring", D("1"), D("19.00")),
        ("usage", D("25000"), D("30.00")),
    ]
    usage = invoice.lines.get(kind="usage")
    assert (usage.period_start, usage.period_end) == (date(2026, 1, 1), date(2026, 2, 1))
    assert usage.rule == "25,000 calls: 1–10,000: 10,000 × 0.00 + 10,001–∞: 15,000 × 0.002"
    assert invoice.net_total.amount == D("49.00")
    # And running again bills nothing twice
    assert billing_run(day=date(2026, 2, 1)).invoices == 0


def test_no_usage_no_line_and_free_usage_shown_at_zero(metered):
    billing_run(day=date(2026, 2, 1))
    assert lines_of(Invoice.objects.get(issue_date=date(2026, 2, 1))) == [
        ("recurring", D("1"), D("19.00"))
    ]
    record(metered, [at(date(2026, 2, 3))] * 3, prefix="feb")
    billing_run(day=date(2026, 3, 1))
    assert lines_of(Invoice.objects.get(issue_date=date(2026, 3, 1))) == [
        ("recurring", D("1"), D("19.00")),
        ("usage", D("3"), D("0.00")),
    ]


def test_the_run_waits_for_the_grace_window_then_bills_one_invoice(metered, settings):
    settings.USAGE_GRACE_HOURS = 2
    record(metered, [at(date(2026, 1, 31), 23, 59)] * 10_001, prefix="jan")
    # At 01:00 on 1 February the window of January is open until 02:00: nothing yet
    with time_machine.travel(at(date(2026, 2, 1), 1), tick=False):
        report = billing_run(day=date(2026, 2, 1))
        assert report.waiting_usage == 1 and report.invoices == 0
        # A late January call, received within the window, still counts in January
        record(
            metered, [at(date(2026, 1, 31), 22)], received=at(date(2026, 2, 1), 1), prefix="late"
        )
    # At 02:30 it closed: one invoice with February's fee and January's 10,002 calls
    with time_machine.travel(at(date(2026, 2, 1), 2, 30), tick=False):
        report = billing_run(day=date(2026, 2, 1))
        assert report.invoices == 1
        # A January call received now counts in February (its window closed)
        record(
            metered, [at(date(2026, 1, 30))], received=at(date(2026, 2, 1), 2, 30), prefix="later"
        )
    invoice = Invoice.objects.get(issue_date=date(2026, 2, 1))
    assert lines_of(invoice) == [
        ("recurring", D("1"), D("19.00")),
        ("usage", D("10002"), D("0.00")),
    ]
    estimate = usage_estimate(metered, day=date(2026, 2, 10))
    assert [(e.metric.code, e.quantity) for e in estimate] == [("api_calls", D("1"))]


def test_the_last_period_usage_is_billed_on_the_end_date(metered):
    billing_run(day=date(2026, 2, 1))
    services.subscription_cancel(subscription=metered, today=date(2026, 2, 10))
    metered.refresh_from_db()
    assert metered.end_date == date(2026, 3, 1)
    record(metered, [at(date(2026, 2, 20))] * 12_000, prefix="feb")
    billing_run(day=date(2026, 3, 1))
    last = Invoice.objects.get(issue_date=date(2026, 3, 1))
    # 2,000 calls above the free 10,000: 4.00, and no further period
    assert lines_of(last) == [("usage", D("12000"), D("4.00"))]
    metered.refresh_from_db()
    assert metered.next_billing_date is None


def test_the_run_reads_usage_only_for_metered_subscriptions(metered):
    """A chunk's usage aggregate names the subscriptions whose timeline has a metered plan, not
    the whole chunk: with a thousand ids of which most have no events, PostgreSQL scanned the
    whole events table instead of using its index."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.subscriptions.factories import monthly_plan

    # Given a subscription without usage charges, billed in the same chunk as the metered one
    plain = services.subscription_create(
        customer=CustomerFactory(),
        plan=monthly_plan("9.00", code="plain-monthly"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    billing_run(day=date(2026, 1, 1))
    record(metered, [at(date(2026, 1, 5))])
    # When the run bills February
    with CaptureQueriesContext(connection) as queries:
        report = billing_run(day=date(2026, 2, 1))
    # Then both are billed, and the usage was read for the metered one alone
    assert (report.subscriptions, report.invoices) == (2, 2)
    usage_reads = [q["sql"] for q in queries if "subscriptions_usageevent" in q["sql"]]
    assert len(usage_reads) == 1
    read = usage_reads[0].replace(" ", "")
    assert f"IN({metered.pk})" in read or f"ARRAY[{metered.pk}]" in read, usage_reads[0]
    february = Invoice.objects.get(subscription=metered, issue_date=date(2026, 2, 1))
    assert lines_of(february)[1] == ("usage", D("1"), D("0.00"))
    assert Invoice.objects.filter(subscription=plain, issue_date=date(2026, 2, 1)).exists()
