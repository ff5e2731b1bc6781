"""Many payments at once (payments_record_many, the PaymentBook a bank statement uses): the same
rules, rows and events as payment_record one by one, in a number of queries that does not grow
with the payments."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Invoice, InvoiceEvent, Payment
from billing.services import PaymentToRecord, payment_record, payments_record_many
from core.errors import ApplicationError
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal
ISSUED = date(2026, 1, 1)


def issued_invoices(prefix: str, count: int, *, total: str = "129.60") -> list[Invoice]:
    """Issued invoices of `total` (F<prefix>-0001…), one customer each, as the run leaves them."""
    invoices = []
    for i in range(count):
        customer = CustomerFactory()
        invoices.append(
            Invoice(
                kind=Invoice.Kind.INVOICE,
                status=Invoice.Status.ISSUED,
                series="F",
                year=2026,
                sequence=int(prefix) * 10_000 + i + 1,
                number=f"F{prefix}-{i + 1:04d}",
                customer=customer,
                currency="EUR",
                customer_name=customer.name,
                issue_date=ISSUED,
                due_date=date(2026, 1, 31),
                net_total=D(total) / D("1.2"),
                tax_total=D(total) - D(total) / D("1.2"),
                total=D(total),
                amount_paid=D("0"),
                issued_at=timezone.make_aware(datetime.combine(ISSUED, time(6))),
            )
        )
    return Invoice.objects.bulk_create(invoices)


# (invoice index, amount, method, received on, reference): partial then the rest, a second
# invoice paid at once, one over-paid, one received before the invoice, credit typed in, a
# payment of an invoice already paid, then a valid one after the refusals.
SCENARIO = [
    (0, "100.00", "bank_transfer", date(2026, 1, 10), "TRF-1"),
    (0, "29.60", "sepa_debit", date(2026, 1, 20), "E2E-1"),
    (1, "129.60", "card", date(2026, 1, 5), "ch_1"),
    (2, "200.00", "bank_transfer", date(2026, 1, 6), "too much"),
    (2, "10.00", "bank_transfer", date(2025, 12, 31), "too early"),
    (2, "10.00", "credit", date(2026, 1, 6), "credit typed in"),
    (1, "1.00", "bank_transfer", date(2026, 1, 7), "after paid"),
    (2, "10.005", "bank_transfer", date(2026, 1, 6), "not to the cent"),
    (2, "10.00", "bank_transfer", date(2026, 1, 8), "TRF-2"),
]


def _what_was_written(invoices: list[Invoice]) -> dict:
    index = {invoice.pk: i for i, invoice in enumerate(invoices)}
    payments = list(Payment.objects.filter(invoice__in=invoices).order_by("pk"))
    payment_index = {payment.pk: i for i, payment in enumerate(payments)}
    events = []
    for event in InvoiceEvent.objects.filter(invoice__in=invoices).order_by("pk"):
        data = dict(event.data)
        if "payment" in data:
            data["payment"] = payment_index[data["payment"]]
        events.append((index[event.invoice_id], event.kind, event.day, data))
    return {
        "payments": [
            (
                index[p.invoice_id],
                p.amount.amount,
                p.currency,
                p.method,
                p.received_on,
                p.reference,
                p.recorded_by_id,
                p.reverses_id,
            )
            for p in payments
        ],
        "events": events,
        "invoices": [
            (i.status, i.amount_paid.amount, i.paid_on)
            for i in Invoice.objects.filter(pk__in=index).order_by("pk")
        ],
    }


def test_many_payments_write_the_rows_and_refusals_of_one_by_one(operator):
    # Given two identical sets of three invoices of 129.60
    one_by_one, at_once = issued_invoices("1", 3), issued_invoices("2", 3)

    # When the same payments are recorded one by one on the first, all at once on the second
    refusals_one = []
    for i, amount, method, received_on, reference in SCENARIO:
        try:
            payment_record(
                invoice=one_by_one[i],
                amount=amount,
                method=method,
                received_on=received_on,
                reference=reference,
                actor=operator,
            )
            refusals_one.append(None)
        except ApplicationError as error:
            refusals_one.append(error.message.replace("F1-", "F?-"))
    results = payments_record_many(
        payments=[
            PaymentToRecord(
                invoice_id=at_once[i].pk,
                amount=D(amount),
                method=method,
                received_on=received_on,
                reference=reference,
            )
            for i, amount, method, received_on, reference in SCENARIO
        ],
        actor=operator,
    )
    refusals_many = [
        result.message.replace("F2-", "F?-") if isinstance(result, ApplicationError) else None
        for result in results
    ]

    # Then the same payments were refused, for the same reasons…
    assert refusals_many == refusals_one
    recorded = [refusal is None for refusal in refusals_one]
    assert recorded == [True, True, True, False, False, False, False, False, True]
    # …and the same rows written: payments, invoice events (the webhooks' outbox), invoices.
    written = _what_was_written(at_once)
    assert written == _what_was_written(one_by_one)
    assert written["invoices"] == [
        ("paid", D("129.60"), date(2026, 1, 20)),
        ("paid", D("129.60"), date(2026, 1, 5)),
        ("issued", D("10.00"), None),
    ]
    assert [kind for _i, kind, _day, _data in written["events"]] == [
        "payment_succeeded",
        "payment_succeeded",
        "paid",
        "payment_succeeded",
        "paid",
        "payment_succeeded",
    ]
    assert all(result.pk for result in results if isinstance(result, Payment))


def test_the_queries_do_not_grow_with_the_payments():
    def queries_for(invoices: list[Invoice]) -> int:
        payments = [
            PaymentToRecord(
                invoice_id=invoice.pk,
                amount=D(amount),
                method="bank_transfer",
                received_on=date(2026, 1, 10),
            )
            for invoice in invoices
            for amount in ("100.00", "29.60")  # partly, then paid
        ]
        with CaptureQueriesContext(connection) as queries:
            results = payments_record_many(payments=payments)
        assert all(isinstance(result, Payment) for result in results)
        return len(queries)

    few, many = issued_invoices("3", 2), issued_invoices("4", 20)
    assert queries_for(few) == queries_for(many)
    assert Invoice.objects.filter(pk__in=[i.pk for i in many], status="paid").count() == 20
    assert Payment.objects.filter(invoice__in=many).count() == 40
    assert InvoiceEvent.objects.filter(invoice__in=many, kind="paid").count() == 20
