"""The billing run: idempotent, catching up, previewable; corrections as credit notes."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction

from billing.models import Invoice, InvoiceLine, InvoiceSequence
from billing.services import billing_run, invoice_cancel_by_credit_note, invoice_preview
from catalog.models import SeatType
from subscriptions import services
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db
D = Decimal


def test_running_the_day_twice_bills_nothing_more(office, seats):
    first = billing_run(day=date(2026, 4, 1))
    assert first.invoices == 6  # office: January to April, seats: the two quarters
    before = snapshot()
    second = billing_run(day=date(2026, 4, 1))
    assert (second.invoices, second.lines) == (0, 0)
    assert snapshot() == before
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == 6


def test_a_late_run_catches_up_every_period_once(office):
    billing_run(day=date(2026, 5, 17))
    keys = list(Invoice.objects.order_by("number").values_list("billing_key", flat=True))
    assert keys == [
        "rec:2026-01-01",
        "rec:2026-02-01",
        "rec:2026-03-01",
        "rec:2026-04-01",
        "rec:2026-05-01",
    ]
    numbers = list(Invoice.objects.order_by("sequence").values_list("number", flat=True))
    assert numbers == [f"F2026-{n:06d}" for n in range(1, 6)]
    office.refresh_from_db()
    assert office.next_billing_date == date(2026, 6, 1)


def test_the_preview_is_the_same_computation_and_saves_nothing(office):
    documents = invoice_preview(subscription=office, day=date(2026, 2, 1))
    assert [(d.invoice.billing_key, d.invoice.total.amount) for d in documents] == [
        ("rec:2026-01-01", D("54.00")),
        ("rec:2026-02-01", D("54.00")),
    ]
    assert Invoice.objects.count() == 0
    billing_run(day=date(2026, 2, 1))
    assert [(i.billing_key, i.total.amount) for i in Invoice.objects.order_by("id")] == [
        ("rec:2026-01-01", D("54.00")),
        ("rec:2026-02-01", D("54.00")),
    ]


def test_an_undone_cancellation_credits_its_penalty_back(office):
    billing_run(day=date(2026, 10, 1))
    services.subscription_cancel(subscription=office, today=date(2026, 10, 1))
    billing_run(day=date(2026, 10, 1))
    penalty = Invoice.objects.get(billing_key__startswith="one:")
    assert penalty.total.amount == D("168.06")
    services.subscription_undo_cancellation(subscription=office, today=date(2026, 10, 5))
    report = billing_run(day=date(2026, 10, 5))
    assert report.credit_notes == 1
    credit = Invoice.objects.get(kind="credit_note")
    assert (credit.number, credit.credited_invoice, credit.total.amount) == (
        "AV2026-000001",
        penalty,
        D("168.06"),
    )
    assert credit.lines.get().reverses == penalty.lines.get()
    penalty.refresh_from_db()
    assert penalty.status == "cancelled"
    # And billing goes on: November is invoiced.
    assert billing_run(day=date(2026, 11, 1)).invoices == 1
    assert billing_run(day=date(2026, 11, 1)).credit_notes == 0


def test_cancel_by_credit_note_waives_or_reissues(office):
    billing_run(day=date(2026, 2, 1))
    january = Invoice.objects.get(billing_key="rec:2026-01-01")
    credit = invoice_cancel_by_credit_note(
        invoice=january, reason="Commercial gesture", day=date(2026, 2, 3)
    )
    assert credit.number == "AV2026-000001" and credit.note == "Commercial gesture"
    january.refresh_from_db()
    assert january.status == "cancelled"
    assert billing_run(day=date(2026, 2, 3)).invoices == 0  # waived: not billed again

    february = Invoice.objects.get(billing_key="rec:2026-02-01")
    invoice_cancel_by_credit_note(
        invoice=february, reason="Wrong PO reference", day=date(2026, 2, 4), reissue=True
    )
    report = billing_run(day=date(2026, 2, 4))
    assert report.invoices == 1
    again = Invoice.objects.order_by("-id").first()
    assert again.number == "F2026-000003" and again.total.amount == D("54.00")
    assert again.lines.get().charge_key.startswith("rec:2026-02-01")


def test_cancel_by_credit_note_refusals(office):
    from core.errors import ApplicationError

    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    with pytest.raises(ApplicationError, match="Say why"):
        invoice_cancel_by_credit_note(invoice=invoice, reason=" ", day=date(2026, 1, 2))
    invoice_cancel_by_credit_note(invoice=invoice, reason="Duplicate", day=date(2026, 1, 2))
    with pytest.raises(ApplicationError, match="already cancelled"):
        invoice_cancel_by_credit_note(invoice=invoice, reason="Again", day=date(2026, 1, 3))


def test_an_issued_invoice_cannot_be_changed_even_bypassing_the_code(office):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    for attempt in (
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total=D("1.00")),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(number="F2026-999999"),
        lambda: Invoice.objects.filter(pk=invoice.pk).delete(),
        lambda: InvoiceLine.objects.filter(invoice=invoice).update(net=D("0.01")),
        lambda: InvoiceLine.objects.filter(invoice=invoice).delete(),
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            attempt()
    invoice.refresh_from_db()
    assert (invoice.number, invoice.total.amount) == ("F2026-000001", D("54.00"))
    # What may change after issue: the payment status.
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")


def test_a_draft_has_no_number_and_the_database_says_so(office):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(status="draft")


def test_a_one_off_charge_is_invoiced_at_once(seats, django_capture_on_commit_callbacks):
    # The clock stands still (tick=False): the change and the billing it queues see one day.
    billing_run(day=date(2026, 1, 1))
    with (
        time_machine.travel(date(2026, 2, 15), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.seats_add(
            subscription=seats,
            seat_type=SeatType.objects.get(code="gateway"),
            quantity=4,
            today=date(2026, 2, 15),
        )
    # No nightly run needed: the change queued its own billing.
    added = Invoice.objects.get(billing_key__startswith="one:")
    assert (added.number, added.issue_date, added.net_total.amount) == (
        "F2026-000002",
        date(2026, 2, 15),
        D("27.00"),
    )
