"""Corrections: credit notes (their own series), issuing manual drafts."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine
from billing.services.documents import build_credit_note, save_documents
from billing.services.numbering import issue_documents
from billing.services.run import send_pending_emails
from billing.services.settlement import settle_credited_invoices
from core.errors import ApplicationError
from subscriptions.services import billing_due


def invoice_cancel_by_credit_note(
    *, invoice: Invoice, reason: str, day: date, reissue: bool = False
) -> Invoice:
    """Cancel an issued invoice with a credit note reversing all its lines that are not reversed
    yet. With `reissue`, the next billing run invoices the same charges again (a correction:
    a wrong PO reference, say); without, they are settled (waived)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("Say why the invoice is cancelled: the reason is printed on the credit note."),
            field="reason",
        )
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE:
            raise ApplicationError(_("A credit note cannot be cancelled by another credit note."))
        if invoice.status == Invoice.Status.DRAFT:
            raise ApplicationError(_("A draft is not issued yet: delete it or correct it instead."))
        if invoice.status == Invoice.Status.CANCELLED:
            raise ApplicationError(
                _("The invoice %(number)s is already cancelled.") % {"number": invoice.number}
            )
        if invoice.amount_paid.amount > 0:
            raise ApplicationError(
                _("The invoice %(number)s has payments: refund them before cancelling it.")
                % {"number": invoice.number}
            )
        lines = list(invoice.lines.filter(reversed_by__isnull=True).order_by("position", "id"))
        if not lines:
            raise ApplicationError(
                _("Every line of %(number)s is already credited.") % {"number": invoice.number}
            )
        document = build_credit_note(invoice, lines, reason=reason, reissue=reissue)
        document.invoice.email_pending = settings.INVOICE_EMAILS  # the outbox
        save_documents([document], issue_on=day)
        settle_credited_invoices(invoice_ids=[invoice.pk])
        # The subscription is read only when the invoice has one (as when testing its id).
        if reissue and invoice.subscription is not None:
            billing_due(
                subscription=invoice.subscription,
                day=min((line.charge_date for line in lines if line.charge_date), default=day),
            )
        if settings.INVOICE_EMAILS:
            transaction.on_commit(send_pending_emails)
        return document.invoice


def invoice_issue(*, invoice: Invoice, day: date) -> Invoice:
    """Issue a draft: give it its number and date (an operator's manual invoice)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.DRAFT:
            raise ApplicationError(
                _("The invoice %(number)s is already issued.") % {"number": invoice.number}
            )
        if not invoice.lines.exists():
            raise ApplicationError(_("An invoice needs at least one line before it is issued."))
        if InvoiceLine.objects.filter(invoice=invoice).exclude(currency=invoice.currency).exists():
            raise ApplicationError(
                _("Every line of an invoice is in its currency (%(currency)s).")
                % {"currency": invoice.currency}
            )
        issue_documents([invoice], day=day)
        if settings.INVOICE_EMAILS:
            # The outbox (billing.emails_send), in the issuing transaction.
            Invoice.objects.filter(pk=invoice.pk).update(email_pending=True)
            transaction.on_commit(send_pending_emails)
        return invoice
