"""The emails billing sends. Invoice emails: the outbox the run and the corrections fill
(`Invoice.email_pending`, in the issuing transaction), sent here by the `billing.emails_send`
job; and one invoice sent on its own (`billing.invoice_send`). A failed payment's email: the
outbox its record fills (`PaymentFailedEmail`), sent by the same job. The payment reminder of an
overdue invoice (`billing.reminder_send`) and the notice reminder before a renewal
(`billing.notice_send`), each sent by its job once it is recorded."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing import documents
from billing.models import Invoice, InvoiceReminder, NoticeReminder, PaymentFailedEmail
from config.celery import send

logger = logging.getLogger(__name__)

EMAILS_BATCH = 50


def invoice_email_send(*, invoice_id: int) -> bool:
    """Email an issued invoice (with its PDF) to the party billed, once. False when it was
    already sent, or is a draft."""
    invoice = Invoice.objects.select_related("customer", "credited_invoice").get(pk=invoice_id)
    if invoice.sent_at is not None or invoice.status == Invoice.Status.DRAFT:
        return False
    documents.invoice_email(invoice, [invoice.customer.email]).send()
    # Recorded after sending: a crash in between sends twice rather than never.
    Invoice.objects.filter(pk=invoice.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), email_pending=False
    )
    return True


def send_pending_emails() -> None:
    """Ask a worker to send the outboxes now (the beat job sends them anyway: a dead broker
    only delays the emails, and never stops what wrote them). Call on commit."""
    send("billing.emails_send")


def invoice_emails_send() -> int:
    """Send the outbox of invoice emails (`email_pending`). Returns how many were sent."""

    def send_one(invoice: Invoice) -> bool:
        if invoice.sent_at is not None:
            return False  # sent on its own meanwhile (billing.invoice_send): only marked
        documents.invoice_email(invoice, [invoice.customer.email]).send()
        return True

    return _drain(
        Invoice.objects.select_related("customer", "credited_invoice")
        .filter(email_pending=True)
        .exclude(status=Invoice.Status.DRAFT),
        send_one,
        {"email_pending": False, "sent_at": timezone.now},
    )


def payment_failed_emails_send() -> int:
    """Send the outbox of "your payment failed" emails (`PaymentFailedEmail`). Returns how many
    were sent."""

    def send_one(outbox: PaymentFailedEmail) -> bool:
        recipients = [outbox.event.invoice.customer.email]
        documents.payment_failed_email(outbox.event, recipients).send()
        return True

    return _drain(
        PaymentFailedEmail.objects.select_related("event__invoice__customer").filter(
            sent_at__isnull=True
        ),
        send_one,
        {"sent_at": timezone.now},
    )


def _drain(outbox: QuerySet, send_one: Callable[[Any], bool], sent_values: dict) -> int:
    """Send an outbox. Each batch is claimed under its row locks (skip_locked), so two senders
    at once send each email once; an email that fails stays in the outbox for the next round,
    and the others go on. `sent_values` marks a row done (callables read when it is)."""
    sent, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                outbox.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__gt=after)
                .order_by("pk")[:EMAILS_BATCH]
            )
            if not batch:
                return sent
            done = []
            for row in batch:
                after = row.pk
                try:
                    sent += send_one(row)
                except (smtplib.SMTPException, OSError) as error:
                    logger.warning("%s not emailed, retried later: %s", row, error)
                    continue
                done.append(row.pk)
            values = {
                name: value() if callable(value) else value for name, value in sent_values.items()
            }
            outbox.model.objects.filter(pk__in=done).update(**values)


def reminder_email_send(*, reminder_id: int) -> None:
    """Email a recorded payment reminder (with the invoice's PDF) to the party billed.

    Not recorded as sent, unlike an invoice: the reminder itself is recorded once (per invoice
    and level) before its job is queued, and each call sends the email. A job retried after an
    error raised once the mail server had taken the message sends it twice."""
    reminder = InvoiceReminder.objects.select_related("invoice__customer").get(pk=reminder_id)
    documents.reminder_email(reminder, [reminder.invoice.customer.email]).send()


def notice_email_send(*, notice_id: int) -> None:
    """Email a recorded notice reminder to the customer and, when it has one, to its partner.

    Not recorded as sent, as reminder_email_send. The partner is reached through the customer's
    link (`partner_link`, a reverse relation), not by importing partners: billing sits below it."""
    notice = NoticeReminder.objects.select_related(
        "subscription__customer__partner_link__partner", "subscription__plan"
    ).get(pk=notice_id)
    customer = notice.subscription.customer
    recipients = [customer.email]
    link = getattr(customer, "partner_link", None)  # None: a customer no partner manages
    if link is not None:
        recipients.append(link.partner.email)
    documents.notice_email(notice, recipients).send()
