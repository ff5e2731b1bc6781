"""The emails billing sends. Invoice emails: the outbox the run and the corrections fill
(`Invoice.email_pending`, in the issuing transaction), sent here by the `billing.emails_send`
job; and one invoice sent on its own (`billing.invoice_send`). A failed payment's email: the
outbox its record fills (`PaymentFailedEmail`), sent by the same job. The payment reminder of an
overdue invoice (`billing.reminder_send`) and the notice reminder before a renewal
(`billing.notice_send`), each sent by its job once it is recorded."""

from __future__ import annotations

import logging
import smtplib

from django.db import transaction
from django.utils import timezone

from billing import documents
from billing.models import Invoice, InvoiceReminder, NoticeReminder, PaymentFailedEmail

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


def invoice_emails_send() -> int:
    """Send the outbox of invoice emails (`email_pending`). Each batch is claimed under its row
    locks (skip_locked), so two senders at once send each email once; an email that fails stays
    in the outbox for the next round, and the others go on. Returns how many were sent."""
    sent, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer", "credited_invoice")
                .filter(email_pending=True, pk__gt=after)
                .exclude(status=Invoice.Status.DRAFT)
                .order_by("pk")[:EMAILS_BATCH]
            )
            if not batch:
                return sent
            done = []
            for invoice in batch:
                after = invoice.pk
                if invoice.sent_at is None:
                    try:
                        documents.invoice_email(invoice, [invoice.customer.email]).send()
                    except (smtplib.SMTPException, OSError) as error:
                        logger.warning("invoice %s not emailed, retried later: %s", invoice, error)
                        continue
                    sent += 1
                done.append(invoice.pk)
            Invoice.objects.filter(pk__in=done).update(email_pending=False, sent_at=timezone.now())


def payment_failed_emails_send() -> int:
    """Send the outbox of "your payment failed" emails (PaymentFailedEmail), as
    invoice_emails_send does: claimed in batches under row locks, each sent once, one that fails
    left for the next round. Returns how many were sent."""
    sent, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                PaymentFailedEmail.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event__invoice__customer")
                .filter(sent_at__isnull=True, pk__gt=after)
                .order_by("pk")[:EMAILS_BATCH]
            )
            if not batch:
                return sent
            done = []
            for outbox in batch:
                after = outbox.pk
                invoice = outbox.event.invoice
                try:
                    documents.payment_failed_email(outbox.event, [invoice.customer.email]).send()
                except (smtplib.SMTPException, OSError) as error:
                    logger.warning(
                        "failed payment of %s not emailed, retried later: %s", invoice, error
                    )
                    continue
                sent += 1
                done.append(outbox.pk)
            PaymentFailedEmail.objects.filter(pk__in=done).update(sent_at=timezone.now())


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
