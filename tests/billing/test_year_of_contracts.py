"""A year of two offers that carry product contracts, run night by night by the real jobs
(`manage.py run_contracts` and `manage.py run_billing`): a daily paper sold by the issue
(billing-rules 8.2: 6 issues a month, 5 charged) and prepaid API credits (1,000 a month,
unused ones expiring, top-ups bought at 0.01 per credit)."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Invoice
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import CreditEntry, ScheduledIssue, Subscription, SubscriptionContract
from tests.subscriptions.factories import CustomerFactory
from tests.support.contracts import credits_contract, newspaper_contract, offer

pytestmark = pytest.mark.django_db
D = Decimal


def nightly(day: date) -> None:
    call_command("run_contracts", date=day.isoformat(), stdout=StringIO())
    call_command("run_billing", date=day.isoformat(), stdout=StringIO())


def sell(plan, day: date) -> Subscription:
    return services.subscription_create(
        customer=CustomerFactory(), plan=plan, start_date=day, today=day
    ).subscription


def invoices_of(subscription: Subscription) -> list[tuple[date, Decimal]]:
    return [
        (i.issue_date, i.net_total.amount)
        for i in Invoice.objects.filter(subscription=subscription).order_by("issue_date", "id")
    ]


def test_a_year_of_a_daily_paper_sold_by_the_issue():
    plan = offer("daily-tech", newspaper_contract(price="2.00", cancellation_days=7))
    paper = None
    day = date(2026, 1, 1)
    while day <= date(2026, 12, 31):
        if paper is None:
            paper = sell(plan, day)
        if day == date(2026, 9, 20):
            # Asked 11 days before October's first issue (7 days of notice are enough): the
            # issues stop from 1 October, September's are delivered (they were invoiced).
            services.subscription_cancel(subscription=paper, today=day)
        nightly(day)
        day += timedelta(days=1)
    # Nine months of 5 charged issues at 2.00, the sixth free
    assert invoices_of(paper) == [(date(2026, m, 1), D("10.00")) for m in range(1, 10)]
    line = Invoice.objects.get(subscription=paper, issue_date=date(2026, 9, 1)).lines.get()
    assert (line.kind, line.quantity, line.rule) == ("issues", D("5"), "5 × 2.00 (issue 6 free)")
    held = SubscriptionContract.objects.get(subscription=paper)
    assert (held.status, held.end_date) == ("ended", date(2026, 10, 1))
    delivered = ScheduledIssue.objects.filter(subscription_contract=held, cancelled=False)
    assert delivered.count() == 54  # 9 months × 6 issues
    assert delivered.filter(chargeable=False).count() == 9
    assert not delivered.filter(issue_date__gte=date(2026, 10, 1)).exists()
    paper.refresh_from_db()
    assert (paper.status, paper.end_date) == ("cancelled", date(2026, 10, 1))


def test_a_year_of_prepaid_api_credits():
    plan = offer("api-credits", credits_contract(credits="1000", price="0.01"), fee="9.00")
    api = None
    # Credits used each month (January–December); March also buys 500 on the 10th.
    used = [800, 1000, 1500, 0, 1000, 999, 1, 1000, 1000, 1000, 1000, 250]
    day = date(2026, 1, 1)
    while day <= date(2026, 12, 31):
        if api is None:
            api = sell(plan, day)
        nightly(day)
        held = SubscriptionContract.objects.get(subscription=api)
        if day == date(2026, 3, 10):
            services.credits_topup(subscription_contract=held, credits=D("500"), day=day)
            nightly(day)  # the run invoices the top-up at once (the sweep would too)
        if day.day == 15 and used[day.month - 1]:
            services.credits_consume(
                subscription_contract=held, amount=D(used[day.month - 1]), day=day
            )
            # Nothing is left this month: one more credit is refused, and nothing written
            left = services.credit_balance(subscription_contract=held)
            with pytest.raises(ApplicationError):
                services.credits_consume(subscription_contract=held, amount=left + 1, day=day)
        day += timedelta(days=1)

    # 9.00 a month, and the 500 credits bought on 10 March: 500 × 0.01 = 5.00, on their own
    expected = [(date(2026, m, 1), D("9.00")) for m in range(1, 13)]
    expected.insert(3, (date(2026, 3, 10), D("5.00")))
    assert invoices_of(api) == expected
    topup = Invoice.objects.get(subscription=api, issue_date=date(2026, 3, 10)).lines.get()
    assert (topup.kind, topup.quantity, topup.rule) == ("topup", D("500"), "500 × 0.01")
    held = SubscriptionContract.objects.get(subscription=api)
    entries = CreditEntry.objects.filter(subscription_contract=held)
    assert entries.filter(kind="grant").count() == 12
    # What expired at each month's end: the month's 1,000 (and March's 500) less what was used
    expired = list(entries.filter(kind="expiry").order_by("day").values_list("day", "amount"))
    assert expired == [
        (date(2026, 2, 1), D("-200")),  # January: 1,000 − 800
        (date(2026, 5, 1), D("-1000")),  # April: none used
        (date(2026, 7, 1), D("-1")),  # June: 1,000 − 999
        (date(2026, 8, 1), D("-999")),  # July: 1,000 − 1
    ]
    # December's: 1,000 − 250, until 1 January
    assert services.credit_balance(subscription_contract=held) == D("750")
