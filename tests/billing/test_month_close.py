"""The monthly close (issue 16): the operator closes the books through a month; nothing is then
dated in it. Manual doors are refused with the first open day; automated flows that learn late
of something dated in a closed month book it on the first open day, the real date kept."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse

from billing.models import ClosedMonth, Invoice, Payment
from billing.services import (
    billing_run,
    invoice_cancel_by_credit_note,
    invoice_issue,
    month_close,
    month_reopen,
    payment_record,
    payment_reverse,
    payments_record_many,
)
from billing.services.closing import closed_through, first_open_day
from billing.services.payments import PaymentToRecord
from catalog.models import Plan, SeatType
from core.errors import ApplicationError
from payments import sepa
from payments import services as payment_services
from subscriptions import services as subscription_services
from tests.billing.builders import manual_draft
from tests.concurrency import postgresql_only, run_together
from tests.payments.sepa_builders import invoice_for, mandate_for, submitted_batch
from tests.subscriptions.factories import CustomerFactory
from tests.support.payments import Tx, camt053

MARCH_CLOSED = "March 2026 is closed; record it on or after 2026-04-01."


@pytest.fixture
def april_3():
    with time_machine.travel(date(2026, 4, 3), tick=False):
        yield


def issued(day: date, net: str = "100.00") -> Invoice:
    return invoice_issue(invoice=manual_draft(net=net), day=day)


# The close -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_month_not_over_cannot_be_closed(april_3):
    with pytest.raises(ApplicationError) as refused:
        month_close(month=date(2026, 4, 1), user=None)
    assert refused.value.message == "April 2026 is not over: it can be closed from 2026-05-01."
    assert refused.value.field == "month"
    assert not ClosedMonth.objects.exists()


@pytest.mark.django_db
def test_closing_a_month_closes_every_month_before_it_and_closing_again_changes_nothing(
    april_3, operator
):
    assert closed_through() is None and first_open_day() is None
    close = month_close(month=date(2026, 3, 17), user=operator)  # any day of the month
    assert (close.month, close.closed_by) == (date(2026, 3, 1), operator)
    assert closed_through() == date(2026, 3, 31)
    # February is closed with it; closing it, or March, again is the same close.
    assert month_close(month=date(2026, 2, 1), user=None) == close
    assert month_close(month=date(2026, 3, 1), user=None) == close
    assert ClosedMonth.objects.count() == 1
    with pytest.raises(ApplicationError, match="February 2026 is closed"):
        issued(date(2026, 2, 10))


@pytest.mark.django_db
def test_reopening_needs_a_reason_is_recorded_and_leaves_the_months_before_closed(
    april_3, operator
):
    close = month_close(month=date(2026, 3, 1), user=operator)
    with pytest.raises(ApplicationError, match="Say why"):
        month_reopen(month=date(2026, 3, 1), user=operator, reason="  ")
    with pytest.raises(ApplicationError, match="May 2026 is not closed"):
        month_reopen(month=date(2026, 5, 1), user=operator, reason="x")
    [reopened] = month_reopen(month=date(2026, 3, 1), user=operator, reason="late supplier credit")
    assert reopened.pk == close.pk
    close.refresh_from_db()
    assert (close.reopened_by, close.reopen_reason) == (operator, "late supplier credit")
    assert close.reopened_at is not None
    # March is open again, February stays closed (closing March had closed it).
    assert closed_through() == date(2026, 2, 28)
    assert issued(date(2026, 3, 31)).issue_date == date(2026, 3, 31)
    with pytest.raises(ApplicationError, match="February 2026 is closed"):
        issued(date(2026, 2, 27))
    # Closed again later: a new close row, the reopened one kept as history.
    month_close(month=date(2026, 3, 1), user=operator)
    assert ClosedMonth.objects.filter(month=date(2026, 3, 1)).count() == 2


# Manual doors: refused, naming the first open day ----------------------------------------------


@pytest.mark.django_db
def test_no_invoice_is_issued_in_a_closed_month(april_3):
    draft = manual_draft()
    month_close(month=date(2026, 3, 1), user=None)
    with pytest.raises(ApplicationError) as refused:
        invoice_issue(invoice=draft, day=date(2026, 3, 31))
    assert refused.value.message == MARCH_CLOSED
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    # On the first open day it is issued.
    assert invoice_issue(invoice=draft, day=date(2026, 4, 1)).number == "F2026-000001"


@pytest.mark.django_db
def test_no_credit_note_is_issued_in_a_closed_month(april_3):
    invoice = issued(date(2026, 3, 2))
    month_close(month=date(2026, 3, 1), user=None)
    with pytest.raises(ApplicationError, match=MARCH_CLOSED):
        invoice_cancel_by_credit_note(invoice=invoice, reason="wrong PO", day=date(2026, 3, 31))
    invoice.refresh_from_db()
    assert invoice.status == "issued" and not invoice.credit_notes.exists()
    credit = invoice_cancel_by_credit_note(invoice=invoice, reason="wrong PO", day=date(2026, 4, 2))
    assert credit.issue_date == date(2026, 4, 2)


@pytest.mark.django_db
def test_no_payment_is_recorded_in_a_closed_month_by_hand_or_in_bulk(april_3):
    invoice = issued(date(2026, 3, 2))
    month_close(month=date(2026, 3, 1), user=None)
    with pytest.raises(ApplicationError) as refused:
        payment_record(
            invoice=invoice, amount="120.00", method="bank_transfer", received_on=date(2026, 3, 30)
        )
    assert (refused.value.message, refused.value.field) == (MARCH_CLOSED, "received_on")
    [result] = payments_record_many(
        payments=[
            PaymentToRecord(
                invoice_id=invoice.pk,
                amount=Decimal("120.00"),
                method="bank_transfer",
                received_on=date(2026, 3, 30),
            )
        ]
    )
    assert isinstance(result, ApplicationError) and result.message == MARCH_CLOSED
    assert not Payment.objects.exists()
    payment = payment_record(
        invoice=invoice, amount="120.00", method="bank_transfer", received_on=date(2026, 4, 1)
    )
    assert payment.received_on == date(2026, 4, 1)


@pytest.mark.django_db
def test_no_reversal_is_dated_in_a_closed_month_by_hand(april_3):
    invoice = issued(date(2026, 3, 2))
    payment = payment_record(
        invoice=invoice, amount="120.00", method="sepa_debit", received_on=date(2026, 3, 20)
    )
    month_close(month=date(2026, 3, 1), user=None)
    with pytest.raises(ApplicationError, match=MARCH_CLOSED):
        payment_reverse(payment=payment, day=date(2026, 3, 25), reason="AM04")
    assert payment_reverse(payment=payment, day=date(2026, 4, 2), reason="AM04").amount.amount == (
        Decimal("-120.00")
    )


@pytest.mark.django_db
def test_a_refund_dated_in_a_closed_month_is_refused(april_3):
    invoice = issued(date(2026, 3, 2))
    payment_record(
        invoice=invoice, amount="120.00", method="bank_transfer", received_on=date(2026, 3, 20)
    )
    month_close(month=date(2026, 3, 1), user=None)
    with pytest.raises(ApplicationError, match=MARCH_CLOSED):
        payment_services.refund_create(
            invoice=invoice, amount="40.00", reason="goodwill", via="credit", day=date(2026, 3, 31)
        )
    assert not invoice.refunds.exists()


@pytest.mark.django_db
def test_the_admin_closes_and_reopens_a_month(april_3, operator_client):
    url = reverse("admin:billing_closedmonth_add")
    page = operator_client.get(url)
    assert page.status_code == 200 and 'value="2026-03"' in page.content.decode()
    refused = operator_client.post(url, {"month": "2026-04"})
    assert refused.status_code == 200
    assert "April 2026 is not over" in refused.content.decode()
    done = operator_client.post(url, {"month": "2026-03"})
    assert done.status_code == 302
    close = ClosedMonth.objects.get()
    assert close.month == date(2026, 3, 1) and close.closed_by.username == "operator"
    changelist = reverse("admin:billing_closedmonth_changelist")
    assert "closed through" in operator_client.get(changelist).content.decode()
    action = {"action": "reopen", "_selected_action": [close.pk]}
    asked = operator_client.post(changelist, action)
    assert asked.status_code == 200 and "why reopen" in asked.content.decode()
    operator_client.post(changelist, {**action, "reason": "a payment was forgotten"})
    close.refresh_from_db()
    assert close.reopen_reason == "a payment was forgotten"
    assert closed_through() == date(2026, 2, 28)


# Automated flows: booked on the first open day, the real date kept ------------------------------


@pytest.mark.django_db
def test_a_billing_run_for_a_day_of_a_closed_month_issues_on_the_first_open_day(
    april_3, demo_catalog
):
    subscription = subscription_services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 3, 1),
        today=date(2026, 3, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        partner_discount_percent=Decimal("20"),
    ).subscription
    month_close(month=date(2026, 3, 1), user=None)
    billing_run(day=date(2026, 3, 1))  # a catch-up run for a day now closed
    invoice = Invoice.objects.get(subscription=subscription)
    # The period billed is March's quarter; the document is dated in the open month.
    assert (invoice.period_start, invoice.issue_date) == (date(2026, 3, 1), date(2026, 4, 1))


@pytest.mark.django_db
def test_a_transfer_booked_in_a_closed_month_and_imported_later_is_booked_in_the_open_month(
    april_3,
):
    invoice = issued(date(2026, 3, 2))
    month_close(month=date(2026, 3, 1), user=None)
    statement = payment_services.statement_import(
        file=ContentFile(
            camt053(Tx(amount="120.00", text=invoice.number, booked="2026-03-31")),
            name="statement.xml",
        ),
        actor=None,
        day=date(2026, 4, 3),
    )
    entry = statement.entries.get()
    assert (entry.status, entry.booking_date) == ("matched", date(2026, 3, 31))
    payment = Payment.objects.get(invoice=invoice)
    assert payment.received_on == date(2026, 4, 1)
    assert "dated 2026-03-31, booked in the open month" in payment.reference
    invoice.refresh_from_db()
    assert invoice.status == "paid"


@pytest.mark.django_db
def test_a_debit_collected_in_a_closed_month_and_marked_later_is_paid_in_the_open_month(
    demo_catalog,
):
    invoice = invoice_for("Boulangerie Martin")
    mandate_for(invoice.customer)
    debit = submitted_batch().debits.get()  # to be collected on 2026-01-31
    with time_machine.travel(date(2026, 2, 3), tick=False):
        month_close(month=date(2026, 1, 1), user=None)
        payment_services.sepa_debit_collect(debit=debit, today=date(2026, 2, 3))
    debit.refresh_from_db()
    # The debit keeps the bank's date; its payment is in the open month.
    assert debit.collected_on == date(2026, 1, 31)
    assert debit.payment.received_on == date(2026, 2, 1)
    invoice.refresh_from_db()
    assert invoice.status == "paid"


@pytest.mark.django_db
def test_a_debit_returned_in_a_closed_month_is_reversed_in_the_open_month_from_the_bank_file(
    demo_catalog,
):
    invoice = invoice_for("Boulangerie Martin")
    mandate_for(invoice.customer)
    debit = submitted_batch().debits.get()
    payment_services.sepa_debit_collect(debit=debit, today=date(2026, 2, 1))
    debit.refresh_from_db()
    assert debit.payment.received_on == date(2026, 1, 31)
    with time_machine.travel(date(2026, 2, 3), tick=False):
        month_close(month=date(2026, 1, 1), user=None)
        # An operator recording the return by hand with its January date is refused,
        with pytest.raises(ApplicationError, match="January 2026 is closed"):
            payment_services.sepa_debit_return(debit=debit, reason="AM04", day=date(2026, 1, 31))
        # while the bank's return file, learned on 3 February, saying it came back on
        # 31 January, is booked on 1 February.
        result = payment_services.sepa_returns_record(
            rejections=[
                sepa.Rejection(
                    message_id="",
                    end_to_end_id=debit.end_to_end_id,
                    reason="AM04",
                    day=date(2026, 1, 31),
                )
            ],
            day=None,
            today=date(2026, 2, 3),
        )
    [returned] = result.returned
    assert returned.debit.returned_on == date(2026, 1, 31)
    assert returned.reversal.received_on == date(2026, 2, 1)
    assert "dated 2026-01-31" in returned.reversal.reference
    assert returned.invoice.status == "overdue"


# The race ------------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_issue_racing_a_close_waits_for_it_and_is_refused():
    draft = manual_draft()
    closed = threading.Event()

    def close():
        with time_machine.travel(date(2026, 4, 3), tick=False), transaction.atomic():
            month_close(month=date(2026, 3, 1), user=None)
            closed.set()
            time.sleep(0.5)  # the close is not committed yet

    def issue():
        closed.wait(5)
        invoice_issue(invoice=draft, day=date(2026, 3, 31))

    _results, errors = run_together(close, issue)

    assert errors[0] is None
    # Without the lock the issue would have read "nothing closed" and gone through.
    assert isinstance(errors[1], ApplicationError) and errors[1].message == MARCH_CLOSED
    draft.refresh_from_db()
    assert draft.status == "draft"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_close_racing_an_issue_waits_for_its_commit():
    draft = manual_draft()
    issuing = threading.Event()
    timings: dict[str, float] = {}

    def issue():
        with transaction.atomic():
            invoice_issue(invoice=draft, day=date(2026, 3, 31))
            issuing.set()
            time.sleep(0.5)
            timings["issued"] = time.monotonic()

    def close():
        issuing.wait(5)
        with time_machine.travel(date(2026, 4, 3), tick=False):
            month_close(month=date(2026, 3, 1), user=None)
        timings["closed"] = time.monotonic()

    _results, errors = run_together(issue, close)

    assert errors == [None, None]
    # The close waited for the issue's commit: the invoice is in March, then March was closed.
    assert timings["closed"] >= timings["issued"]
    draft.refresh_from_db()
    assert draft.issue_date == date(2026, 3, 31)
    assert closed_through() == date(2026, 3, 31)
