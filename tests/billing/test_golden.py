"""billing-rules examples 4.2, 6.1 and 6.2 at invoice level: lines, VAT, totals, numbers."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan, SeatType
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def amounts(invoice):
    return invoice.net_total.amount, invoice.tax_total.amount, invoice.total.amount


@pytest.fixture
def partner_subscription(demo_catalog):
    gateway = SeatType.objects.get(code="gateway")
    subscription = services.subscription_create(
        customer=CustomerFactory(name="Boulangerie Martin"),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={gateway: 10},
        service_period_years=3,
        partner_discount_percent=D("20"),
        po_reference="PO-BM-2026-01",
    ).subscription
    return subscription, gateway


def test_example_6_1_the_quarterly_invoice(partner_subscription):
    report = billing_run(day=date(2026, 1, 1))
    assert (report.invoices, report.lines) == (1, 1)
    invoice = Invoice.objects.get()
    assert invoice.number == "F2026-000001"
    assert (invoice.status, invoice.issue_date, invoice.period_start, invoice.period_end) == (
        "issued",
        date(2026, 1, 1),
        date(2026, 1, 1),
        date(2026, 4, 1),
    )
    assert invoice.po_reference == "PO-BM-2026-01"
    [line] = invoice.lines.all()
    assert (line.quantity, line.unit_price.amount, line.gross.amount, line.net.amount) == (
        D("10"),
        D("15.0000"),
        D("150.00"),
        D("108.00"),
    )
    assert [d["amount"] for d in line.discounts] == ["15.00", "27.00"]
    assert line.tax_rate == D("20.00")
    assert amounts(invoice) == (D("108.00"), D("21.60"), D("129.60"))
    [tax] = invoice.taxes.all()
    assert (tax.rate, tax.base.amount, tax.tax.amount) == (D("20.00"), D("108.00"), D("21.60"))


def test_example_6_2_seats_added_then_the_next_quarter(partner_subscription):
    subscription, gateway = partner_subscription
    billing_run(day=date(2026, 1, 1))
    services.seats_add(
        subscription=subscription, seat_type=gateway, quantity=4, today=date(2026, 2, 15)
    )
    report = billing_run(day=date(2026, 2, 15))
    assert report.invoices == 1
    seats = Invoice.objects.get(number="F2026-000002")
    assert seats.issue_date == date(2026, 2, 15)
    [line] = seats.lines.all()
    assert (line.kind, line.quantity, line.gross.amount, line.net.amount) == (
        "proration",
        D("4"),
        D("30.00"),
        D("21.60"),
    )
    assert [d["amount"] for d in line.discounts] == ["3.00", "5.40"]
    assert line.rule == "(4 × 60.00 EUR / 1 year × 3/12) × 45/90"
    assert amounts(seats) == (D("21.60"), D("4.32"), D("25.92"))
    # Billing dates do not move: nothing more until the quarter of 2026-04-01, for 14 seats.
    for day in (date(2026, 2, 16), date(2026, 3, 31)):
        assert billing_run(day=day).invoices == 0
    billing_run(day=date(2026, 4, 1))
    april = Invoice.objects.get(number="F2026-000003")
    assert april.lines.get().quantity == D("14")
    assert amounts(april) == (D("151.20"), D("30.24"), D("181.44"))


def test_example_4_2_the_penalty_line(demo_catalog):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    for month in range(1, 11):
        billing_run(day=date(2026, month, 1))
    assert Invoice.objects.count() == 10  # January to October, 45.00 each
    services.subscription_cancel(subscription=subscription, today=date(2026, 10, 1))
    billing_run(day=date(2026, 10, 1))
    penalty = Invoice.objects.get(number="F2026-000011")
    [line] = penalty.lines.all()
    assert (line.kind, line.net.amount) == ("penalty", D("140.05"))
    assert "240.00 × 426 ÷ 730" in line.rule
    assert (line.ledger_account, line.invoice_item_type) == ("758000", "penalty")
    assert amounts(penalty) == (D("140.05"), D("28.01"), D("168.06"))
    # The cancellation takes effect on 2026-11-01: nothing is billed from then on.
    assert billing_run(day=date(2026, 11, 1)).invoices == 0
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
