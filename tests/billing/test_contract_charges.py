"""Charges of product contracts (billing-rules §8): chargeable issues in advance, free ones last."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import billing_run
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory
from tests.support.contracts import newspaper_contract, offer

pytestmark = pytest.mark.django_db
D = Decimal


def test_example_8_2_five_issues_charged_the_sixth_free_each_month():
    contract = newspaper_contract(price="2.00")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=offer("paper-extra", None),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    services.subscription_contract_add(
        subscription=subscription,
        contract=contract,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    for day in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        billing_run(day=day)
        billing_run(day=day)  # twice: nothing more
    invoices = list(Invoice.objects.order_by("issue_date"))
    assert [(i.issue_date, i.net_total.amount) for i in invoices] == [
        (date(2026, 1, 1), D("10.00")),
        (date(2026, 2, 1), D("10.00")),
        (date(2026, 3, 1), D("10.00")),
    ]
    line = invoices[1].lines.get()
    assert (line.kind, line.quantity, line.period_start, line.period_end) == (
        "issues",
        D("5"),
        date(2026, 2, 1),
        date(2026, 3, 1),
    )
    assert line.rule == "5 × 2.00 (issue 6 free)"
    assert line.description == "Daily Tech, by the issue: issues 1–5, 2026-02-01 to 2026-03-01"
