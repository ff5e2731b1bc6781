"""Revenue figures (reports/revenue.py): billing-rules example 11.2, a month and an aged
receivables table computed by hand, the filters, and the SQL agreeing with the definition."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Payment
from billing.services import (
    invoice_cancel_by_credit_note,
    invoice_write_off,
    payment_record,
    payment_reverse,
)
from core.pricing import round_money
from payments.services import refund_create
from reports.revenue import (
    AgedRow,
    RevenueFilters,
    RevenueMonth,
    aged_receivables,
    bucket_of,
    deferred_on,
    partner_rows,
    recognized_between,
    revenue_by_month,
)
from tests.reports.revenue_builders import Line, issued
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal
EUR = "EUR"


def pay(invoice, amount: str, day: date) -> Payment:
    return payment_record(
        invoice=invoice, amount=amount, method=Payment.Method.BANK_TRANSFER, received_on=day
    )


# Billing-rules example 11.2 ------------------------------------------------------------------------


def test_example_11_2_pure():
    share = recognized_between(
        D("1200.00"), date(2026, 3, 15), date(2027, 3, 15), date(2026, 3, 1), date(2026, 4, 1)
    )
    assert round_money(share, EUR) == D("55.89")
    left = recognized_between(
        D("1200.00"), date(2026, 3, 15), date(2027, 3, 15), date(2026, 4, 1), date(2027, 3, 15)
    )
    assert round_money(left, EUR) == D("1144.11")
    # The whole period recognizes the whole amount, to the last digit.
    assert recognized_between(
        D("1200.00"), date(2026, 3, 15), date(2027, 3, 15), date(2000, 1, 1), date(2100, 1, 1)
    ) == D("1200.00")


def test_example_11_2_from_an_invoice(alpha):
    issued(
        alpha,
        issue=date(2026, 3, 15),
        lines=[Line("1200.00", date(2026, 3, 15), date(2027, 3, 15))],
    )

    (march,) = revenue_by_month(start=date(2026, 3, 1), end=date(2026, 3, 31))

    assert march == RevenueMonth(
        month=date(2026, 3, 1),
        currency=EUR,
        invoiced=D("1200.00"),
        credited=D("0.00"),
        collected=D("0.00"),
        recognized=D("55.89"),
        deferred=D("1144.11"),
    )
    assert deferred_on(date(2026, 3, 31)) == {EUR: D("1144.11")}
    # Before its issue nothing is deferred; at the end of 13 March 2027 one day (3.29) is left,
    # and none at the end of the 14th, its last day (the period excludes its end).
    assert deferred_on(date(2026, 3, 14)) == {}
    assert deferred_on(date(2027, 3, 13)) == {EUR: D("3.29")}
    assert deferred_on(date(2027, 3, 14)) == {}


# A month by hand -----------------------------------------------------------------------------------


def test_a_month_by_hand(alpha):
    """February and March 2026, EUR, VAT 20 %:
    - F0 issued 1 Feb: 89.00 for 1 Feb → 1 May (89 days, 1.00 a day), paid 106.80 on 31 Mar;
    - F1 issued 1 Mar: 300.00 for March; 200.00 paid on 5 Mar, the debit returned on 20 Mar;
    - F2 issued 15 Mar: example 11.2's yearly 1,200.00;
    - F3 issued 20 Mar: a one-off 50.00 (no period: recognized on its issue date), 60.00 paid
      on 2 April (April's);
    - AV1 issued 25 Mar: credits 62.00 of F1's March.
    February: invoiced 89.00, recognized 28.00, deferred 61.00.
    March: invoiced 300 + 1,200 + 50 = 1,550.00; credited 62.00; collected 200 − 200 + 106.80
    = 106.80; recognized 31.00 + 300.00 + 55.89 + 50.00 − 62.00 = 374.89; deferred 30.00
    (F0's April) + 1,144.11 (F2) = 1,174.11."""
    f0 = issued(
        alpha, issue=date(2026, 2, 1), lines=[Line("89.00", date(2026, 2, 1), date(2026, 5, 1))]
    )
    f1 = issued(
        alpha, issue=date(2026, 3, 1), lines=[Line("300.00", date(2026, 3, 1), date(2026, 4, 1))]
    )
    issued(
        alpha,
        issue=date(2026, 3, 15),
        lines=[Line("1200.00", date(2026, 3, 15), date(2027, 3, 15))],
    )
    f3 = issued(alpha, issue=date(2026, 3, 20), lines=[Line("50.00")])
    issued(
        alpha,
        issue=date(2026, 3, 25),
        corrects=f1,
        lines=[Line("62.00", date(2026, 3, 1), date(2026, 4, 1))],
    )
    debit = pay(f1, "200.00", date(2026, 3, 5))
    payment_reverse(payment=debit, day=date(2026, 3, 20), reason="returned")
    pay(f0, "106.80", date(2026, 3, 31))
    pay(f3, "60.00", date(2026, 4, 2))

    february, march = revenue_by_month(start=date(2026, 2, 10), end=date(2026, 3, 10))

    assert february == RevenueMonth(
        date(2026, 2, 1), EUR, D("89.00"), D("0.00"), D("0.00"), D("28.00"), D("61.00")
    )
    assert march == RevenueMonth(
        month=date(2026, 3, 1),
        currency=EUR,
        invoiced=D("1550.00"),
        credited=D("62.00"),
        collected=D("106.80"),
        recognized=D("374.89"),
        deferred=D("1174.11"),
    )
    assert deferred_on(date(2026, 3, 31)) == {EUR: D("1174.11")}


def test_every_month_for_each_currency_seen(alpha):
    canadian = CustomerFactory(currency="CAD")
    issued(alpha, issue=date(2026, 1, 5), lines=[Line("10.00")])
    issued(canadian, issue=date(2026, 3, 5), lines=[Line("20.00")])
    # Outside the range: its currency is not seen.
    issued(CustomerFactory(currency="GBP"), issue=date(2026, 5, 5), lines=[Line("5.00")])

    rows = revenue_by_month(start=date(2026, 1, 1), end=date(2026, 3, 31))

    assert [(r.month.month, r.currency, r.invoiced, r.recognized) for r in rows] == [
        (1, "CAD", D("0.00"), D("0.00")),
        (1, EUR, D("10.00"), D("10.00")),
        (2, "CAD", D("0.00"), D("0.00")),
        (2, EUR, D("0.00"), D("0.00")),
        (3, "CAD", D("20.00"), D("20.00")),
        (3, EUR, D("0.00"), D("0.00")),
    ]


def test_a_period_invoiced_late_is_recognized_in_the_months_it_covers(alpha):
    issued(alpha, issue=date(2026, 4, 2), lines=[Line("31.00", date(2026, 3, 1), date(2026, 4, 1))])

    march, april = revenue_by_month(start=date(2026, 3, 1), end=date(2026, 4, 30))

    assert (march.invoiced, march.recognized, march.deferred) == (D("0.00"), D("31.00"), D("0.00"))
    assert (april.invoiced, april.recognized, april.deferred) == (D("31.00"), D("0.00"), D("0.00"))


# Aged receivables by hand --------------------------------------------------------------------------


@pytest.fixture
def receivables(alpha, acme, nordic):
    """Seen on 30 June 2026 (VAT 20 %; days past due in brackets):
    Alpha Hosting, billed itself:
    - A1 120.00 due 1 Jul, 20.00 paid 10 Jun: 100.00 not due;
    - A2 240.00 due 31 May (30), 40.00 paid 15 Jun: 200.00 in 1–30;
    - A3 360.00 due 1 May (60), a credit note of 60.00 (50.00 + VAT) on 20 Jun: 300.00 in 31–60;
    - A4 30.00 due 19 Apr (72): 30.00 in 61–90;
    - A5 60.00 due 31 Mar (91), written off on 1 Jun: still owed, 60.00 over 90;
    - A6 12.00 due 5 Jul, paid on 2 Jul (after the day): 12.00 not due;
    - A7 96.00 cancelled by a credit note: out;  A8 paid in full on 20 Jun: out;
    - A9 120.00 paid 20 May, 40.00 of it refunded to its credit 1 Jun: nothing owed, out.
    Acme Resellers SAS (Acme's billing account): P1 129.60 due 1 Jul: not due; P2 129.60 due
    1 May (60), 100.00 paid: 29.60 in 31–60.  Nordic Devices SAS: N1 60.00 due 15 Jun (15): 1–30.
    """
    a1 = issued(alpha, issue=date(2026, 6, 1), due=date(2026, 7, 1), lines=[Line("100.00")])
    pay(a1, "20.00", date(2026, 6, 10))
    a2 = issued(alpha, issue=date(2026, 5, 1), due=date(2026, 5, 31), lines=[Line("200.00")])
    pay(a2, "40.00", date(2026, 6, 15))
    a3 = issued(alpha, issue=date(2026, 4, 1), due=date(2026, 5, 1), lines=[Line("300.00")])
    issued(alpha, issue=date(2026, 6, 20), corrects=a3, lines=[Line("50.00")])
    issued(alpha, issue=date(2026, 3, 20), due=date(2026, 4, 19), lines=[Line("25.00")])
    a5 = issued(alpha, issue=date(2026, 3, 1), due=date(2026, 3, 31), lines=[Line("50.00")])
    invoice_write_off(invoice=a5, day=date(2026, 6, 1), reason="gone")
    a6 = issued(alpha, issue=date(2026, 6, 5), due=date(2026, 7, 5), lines=[Line("10.00")])
    pay(a6, "12.00", date(2026, 7, 2))
    a7 = issued(alpha, issue=date(2026, 3, 15), due=date(2026, 4, 14), lines=[Line("80.00")])
    invoice_cancel_by_credit_note(invoice=a7, reason="wrong PO", day=date(2026, 4, 20))
    a8 = issued(alpha, issue=date(2026, 6, 1), due=date(2026, 7, 1), lines=[Line("10.00")])
    pay(a8, "12.00", date(2026, 6, 20))
    a9 = issued(alpha, issue=date(2026, 5, 10), due=date(2026, 6, 9), lines=[Line("100.00")])
    pay(a9, "120.00", date(2026, 5, 20))
    refund_create(invoice=a9, amount="40.00", reason="goodwill", via="credit", day=date(2026, 6, 1))
    issued(acme.account, issue=date(2026, 6, 1), due=date(2026, 7, 1), lines=[Line("108.00")])
    p2 = issued(acme.account, issue=date(2026, 4, 1), due=date(2026, 5, 1), lines=[Line("108.00")])
    pay(p2, "100.00", date(2026, 5, 10))
    issued(nordic.account, issue=date(2026, 6, 1), due=date(2026, 6, 15), lines=[Line("50.00")])


def aged(name, party_id, not_due, d30, d60, d90, over, total) -> AgedRow:
    return AgedRow(party_id, name, EUR, D(not_due), D(d30), D(d60), D(d90), D(over), D(total))


def test_example_11_3_aged_receivables_by_customer(receivables, alpha, acme, nordic):
    assert aged_receivables(on=date(2026, 6, 30)) == [
        aged(
            "Acme Resellers SAS",
            acme.account_id,
            "129.60",
            "0.00",
            "29.60",
            "0.00",
            "0.00",
            "159.20",
        ),
        aged("Alpha Hosting", alpha.pk, "112.00", "200.00", "300.00", "30.00", "60.00", "702.00"),
        aged(
            "Nordic Devices SAS",
            nordic.account_id,
            "0.00",
            "60.00",
            "0.00",
            "0.00",
            "0.00",
            "60.00",
        ),
    ]


def test_aged_receivables_by_partner(receivables, acme, nordic):
    assert aged_receivables(on=date(2026, 6, 30), by="partner") == [
        aged("Acme Resellers", acme.pk, "129.60", "0.00", "29.60", "0.00", "0.00", "159.20"),
        aged("Nordic Devices", nordic.pk, "0.00", "60.00", "0.00", "0.00", "0.00", "60.00"),
    ]
    assert aged_receivables(
        on=date(2026, 6, 30), by="partner", filters=RevenueFilters(partner_id=nordic.pk)
    ) == [aged("Nordic Devices", nordic.pk, "0.00", "60.00", "0.00", "0.00", "0.00", "60.00")]
    # The report reads the invoices once, by customer, and names the partners' accounts.
    for filters in (RevenueFilters(), RevenueFilters(partner_id=nordic.pk)):
        day = date(2026, 6, 30)
        assert partner_rows(
            aged_receivables(on=day, by="customer", filters=filters)
        ) == aged_receivables(on=day, by="partner", filters=filters)


def test_aged_receivables_earlier(receivables, alpha):
    """On 31 May: A1, A6, A8 are not issued; A2 (due that day) is not due; A3 is 30 days late,
    without its credit note yet; A4 42; A5 61; A9 was paid on 20 May."""
    rows = aged_receivables(on=date(2026, 5, 31), filters=RevenueFilters(customer_id=alpha.pk))
    assert rows == [
        aged("Alpha Hosting", alpha.pk, "240.00", "360.00", "30.00", "60.00", "0.00", "690.00")
    ]


@pytest.mark.parametrize(
    ("due", "bucket"),
    [
        (date(2026, 7, 1), "not_due"),
        (date(2026, 6, 30), "not_due"),
        (date(2026, 6, 29), "days_1_30"),
        (date(2026, 5, 31), "days_1_30"),
        (date(2026, 5, 30), "days_31_60"),
        (date(2026, 5, 1), "days_31_60"),
        (date(2026, 4, 30), "days_61_90"),
        (date(2026, 4, 1), "days_61_90"),
        (date(2026, 3, 31), "over_90"),
    ],
)
def test_buckets(due, bucket):
    assert bucket_of(on=date(2026, 6, 30), due=due) == bucket
