"""Invoice emails: the outbox the run and the corrections fill (`Invoice.email_pending`, in
the issuing transaction), sent here by the `billing.emails_send` job; and one invoice sent on
its own (`billing.invoice_send`)."""

from __future__ import annotations

import logging
import smtplib

from django.db import transaction
from django.utils import timezone

from billing import documents
from billing.models import Invoice

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
