"""Payments, overdue invoices and their reminders, notice reminders, emails and the PDF."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core import mail
from pypdf import PdfReader

from billing import documents
from billing.models import Invoice, InvoiceReminder, NoticeReminder, Payment
from billing.services import (
    billing_run,
    invoices_mark_overdue,
    notice_email_send,
    notice_reminders_due,
    payment_record,
    reminder_email_send,
)
from billing.tasks import invoice_send, run_chain_now
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def january(office):
    billing_run(day=date(2026, 1, 1))
    return Invoice.objects.get()


def test_a_payment_in_full_marks_the_invoice_paid(january, operator):
    payment_record(
        invoice=january,
        amount="20.00",
        method="bank_transfer",
        received_on=date(2026, 1, 10),
        actor=operator,
    )
    january.refresh_from_db()
    assert (january.status, january.amount_paid.amount, january.balance.amount) == (
        "issued",
        D("20.00"),
        D("34.00"),
    )
    payment_record(
        invoice=january, amount=D("34.00"), method="sepa_debit", received_on=date(2026, 1, 20)
    )
    january.refresh_from_db()
    assert (january.status, january.paid_on) == ("paid", date(2026, 1, 20))
    assert Payment.objects.filter(invoice=january).count() == 2


@pytest.mark.parametrize(
    ("amount", "method", "received_on", "message"),
    [
        ("60.00", "card", date(2026, 1, 5), "54.00 EUR left to pay; 60.00 is more than that"),
        ("-1", "card", date(2026, 1, 5), "A payment is a positive amount in EUR, to the cent"),
        ("10.001", "card", date(2026, 1, 5), "to the cent"),
        ("abc", "card", date(2026, 1, 5), "Enter the amount received"),
        ("NaN", "card", date(2026, 1, 5), "Enter the amount received"),
        ("Infinity", "card", date(2026, 1, 5), "Enter the amount received"),
        ("10.00", "cash", date(2026, 1, 5), "Choose how the money was received"),
        (
            "10.00",
            "card",
            date(2025, 12, 31),
            "cannot have been received before the invoice was issued",
        ),
    ],
)
def test_bad_payments_are_refused_and_nothing_is_recorded(
    january, amount, method, received_on, message
):
    with pytest.raises(ApplicationError, match=message):
        payment_record(invoice=january, amount=amount, method=method, received_on=received_on)
    assert Payment.objects.count() == 0
    january.refresh_from_db()
    assert january.amount_paid.amount == 0


def test_overdue_invoices_get_one_reminder_per_level_once(january):
    assert january.due_date == date(2026, 1, 31)
    assert invoices_mark_overdue(day=date(2026, 1, 31)) == (0, [])
    marked, reminders = invoices_mark_overdue(day=date(2026, 2, 1))
    assert marked == 1 and len(reminders) == 1
    january.refresh_from_db()
    assert january.status == "overdue"
    assert invoices_mark_overdue(day=date(2026, 2, 1)) == (0, [])  # twice: nothing more
    assert invoices_mark_overdue(day=date(2026, 2, 7))[1] == []
    assert len(invoices_mark_overdue(day=date(2026, 2, 8))[1]) == 1  # level 2, 8 days late
    assert list(InvoiceReminder.objects.values_list("level", flat=True).order_by("level")) == [1, 2]
    # A payment stops the reminders.
    payment_record(invoice=january, amount="54.00", method="card", received_on=date(2026, 2, 10))
    assert invoices_mark_overdue(day=date(2026, 2, 20)) == (0, [])


def test_a_late_catch_up_sends_only_the_highest_reminder(january):
    _marked, reminders = invoices_mark_overdue(day=date(2026, 3, 31))
    assert [r.level for r in InvoiceReminder.objects.filter(pk__in=reminders)] == [3]


def test_the_notice_reminder_goes_once_to_the_customer_and_its_partner(
    seats, django_capture_on_commit_callbacks
):
    from partners.models import Partner, PartnerCustomer

    partner = Partner.objects.create(
        code="p", name="Partner", email="partner@reseller.example", discount_percent=D("20")
    )
    PartnerCustomer.objects.create(partner=partner, customer=seats.customer)
    # Renewal on 2029-01-01, 90 days of notice: deadline 2028-10-03; reminders from 30 days before.
    assert notice_reminders_due(day=date(2028, 9, 2)) == []
    [notice] = notice_reminders_due(day=date(2028, 9, 3))
    assert (notice.renewal_date, notice.deadline) == (date(2029, 1, 1), date(2028, 10, 3))
    assert notice_reminders_due(day=date(2028, 9, 4)) == []
    notice_email_send(notice_id=notice.pk)
    [message] = mail.outbox
    assert message.to == [seats.customer.email, "partner@reseller.example"]
    assert "2028-10-03" in message.body
    assert NoticeReminder.objects.count() == 1


def test_the_notice_reminder_of_a_customer_without_a_partner_goes_to_the_customer_alone(seats):
    [notice] = notice_reminders_due(day=date(2028, 9, 3))
    notice_email_send(notice_id=notice.pk)
    [message] = mail.outbox
    assert message.to == [seats.customer.email]
    assert "2029-01-01" in message.subject


def test_a_payment_reminder_is_emailed_to_the_party_billed_with_the_invoice_pdf(january):
    _marked, [reminder_id] = invoices_mark_overdue(day=date(2026, 2, 1))
    reminder_email_send(reminder_id=reminder_id)
    [message] = mail.outbox
    assert message.to == [january.customer.email]
    assert january.number in message.subject
    assert message.attachments[0][0] == f"{january.number}.pdf"
    assert message.attachments[0][1].startswith(b"%PDF")


def test_issued_invoices_are_emailed_once_with_their_pdf(
    office, settings, django_capture_on_commit_callbacks
):
    settings.INVOICE_EMAILS = True
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(day=date(2026, 1, 1))
    [message] = mail.outbox
    invoice = Invoice.objects.get()
    assert message.to == [office.customer.email]
    assert "F2026-000001" in message.subject
    assert message.attachments[0][0] == "F2026-000001.pdf"
    invoice.refresh_from_db()
    assert invoice.sent_at is not None
    assert invoice_send(invoice.pk) is False  # already sent
    assert len(mail.outbox) == 1


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_the_pdf_shows_the_number_the_po_reference_and_the_total(seats):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    data = documents.invoice_pdf(invoice)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "F2026-000001" in text
    assert "PO-BM-2026-01" in text
    assert "162.00 EUR" in text  # 10 seats × 15.00 = 150.00, −10 % (3 years) = 135.00, + VAT 27.00
    assert "Boulangerie Martin" in text


def test_the_pdf_is_in_the_customers_language(office):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    assert invoice.language == "fr"
    text = pdf_text(documents.invoice_pdf(invoice))
    assert "Facture" in text and "Référence de bon de commande AD-2026-001" in text
    assert "Total à payer 54,00\u00a0€" in text  # French amounts: "54,00 €"


def test_run_chain_now_runs_every_job_for_the_day(january):
    result = run_chain_now(date(2026, 2, 1))
    assert result["report"].invoices == 1  # February
    assert (result["overdue"], result["reminders"]) == (1, 1)


def test_every_invoice_change_is_logged_in_order_for_webhooks(january):
    from billing.models import InvoiceEvent
    from billing.services import invoice_cancel_by_credit_note

    invoices_mark_overdue(day=date(2026, 2, 1))
    payment_record(invoice=january, amount="54.00", method="card", received_on=date(2026, 2, 2))
    billing_run(day=date(2026, 2, 1))
    february = Invoice.objects.get(billing_key="rec:2026-02-01")
    invoice_cancel_by_credit_note(invoice=february, reason="Duplicate", day=date(2026, 2, 3))
    log = [
        (e.invoice.number, e.kind)
        for e in InvoiceEvent.objects.select_related("invoice").order_by("id")
    ]
    assert log == [
        ("F2026-000001", "issued"),
        ("F2026-000001", "overdue"),
        ("F2026-000001", "payment_succeeded"),
        ("F2026-000001", "paid"),
        ("F2026-000002", "issued"),
        ("AV2026-000001", "issued"),
        ("F2026-000002", "cancelled"),
    ]
