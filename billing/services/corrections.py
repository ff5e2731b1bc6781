"""Corrections: credit notes (their own series), issuing manual drafts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine, InvoiceTax
from billing.parties import buyer_snapshot
from billing.services.documents import (
    Document,
    build_amount_credit_note,
    build_credit_note,
    save_documents,
    set_totals,
)
from billing.services.emails import send_pending_emails
from billing.services.numbering import issue_documents
from billing.services.payments import suspension_lift
from billing.services.settlement import settle_credited_invoices
from core.errors import ApplicationError
from core.money import money_text
from core.pricing import minor_unit_exponent, net_of_gross, split_in_proportion
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
        suspension_lift(invoice=invoice, day=day)  # nothing is owed on it any more
        # The subscription is read only when the invoice has one (as when testing its id).
        if reissue and invoice.subscription is not None:
            billing_due(
                subscription=invoice.subscription,
                day=min((line.charge_date for line in lines if line.charge_date), default=day),
            )
        if settings.INVOICE_EMAILS:
            transaction.on_commit(send_pending_emails)
        return document.invoice


def _complete_manual(invoice: Invoice) -> None:
    """What an operator's draft lacks before issue, from its lines as they stand: its totals
    and tax breakdown per category and rate (EN 16931 BR-CO-17, as the run computes them) and
    the copy of the party billed."""
    document = Document(invoice, list(invoice.lines.all()))
    set_totals(document, invoice.currency)
    invoice.taxes.all().delete()
    for tax in document.taxes:
        tax.invoice = invoice
    InvoiceTax.objects.bulk_create(document.taxes)
    if not invoice.buyer:
        invoice.buyer = buyer_snapshot(invoice.customer)
    invoice.save(update_fields=["net_total", "tax_total", "total", "amount_paid", "buyer"])


def invoice_issue(*, invoice: Invoice, day: date) -> Invoice:
    """Issue a draft: give it its number and date (an operator's manual invoice)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != Invoice.Status.DRAFT:
            raise ApplicationError(
                _("The invoice %(number)s is already issued.") % {"number": invoice.number}
            )
        if invoice.being_numbered:
            raise ApplicationError(
                _("The billing run is issuing this draft: it gets its number in a moment.")
            )
        if not invoice.lines.exists():
            raise ApplicationError(_("An invoice needs at least one line before it is issued."))
        if InvoiceLine.objects.filter(invoice=invoice).exclude(currency=invoice.currency).exists():
            raise ApplicationError(
                _("Every line of an invoice is in its currency (%(currency)s).")
                % {"currency": invoice.currency}
            )
        _complete_manual(invoice)
        issue_documents([invoice], day=day)
        if settings.INVOICE_EMAILS:
            # The outbox (billing.emails_send), in the issuing transaction.
            Invoice.objects.filter(pk=invoice.pk).update(email_pending=True)
            transaction.on_commit(send_pending_emails)
        return invoice


def invoice_credit_amount(
    *, invoice: Invoice, amount: Decimal, reason: str, day: date, billing_key: str
) -> Invoice:
    """Issue a credit note of `amount`, tax included, on an issued invoice (a refund): the
    amount shared over the invoice's tax rates in proportion to their totals, each share split
    into its net amount and tax so that the credit note totals exactly `amount`. The caller
    holds the invoice's lock and has checked the amount against what may be credited."""
    taxes = list(invoice.taxes.order_by("rate", "category"))
    if not taxes:
        raise ApplicationError(
            _("The invoice %(number)s has no amounts to credit.") % {"number": invoice.number}
        )
    shares = split_in_proportion(
        amount, [t.base.amount + t.tax.amount for t in taxes], invoice.currency
    )
    rate_ids = dict(
        invoice.lines.exclude(tax_rate_ref=None).values_list("tax_rate", "tax_rate_ref_id")
    )
    unit = minor_unit_exponent(invoice.currency)
    nets = []
    for tax, share in zip(taxes, shares, strict=True):
        if share == 0:
            continue
        net = net_of_gross(share, tax.rate, invoice.currency)
        if net is None:
            raise ApplicationError(
                _(
                    "%(amount)s cannot be split into a net amount and its VAT at %(rate)s %% to "
                    "the cent: credit %(below)s or %(above)s."
                )
                % {
                    "amount": money_text(amount, invoice.currency),
                    "rate": tax.rate.normalize(),
                    "below": money_text(amount - unit, invoice.currency),
                    "above": money_text(amount + unit, invoice.currency),
                },
                field="amount",
            )
        nets.append(
            (
                tax.rate,
                rate_ids.get(tax.rate),
                net,
                tax.category,
                tax.exemption_code,
                tax.exemption_reason,
            )
        )
    document = build_amount_credit_note(invoice, nets, reason=reason, billing_key=billing_key)
    document.invoice.email_pending = settings.INVOICE_EMAILS  # the outbox
    save_documents([document], issue_on=day)
    if settings.INVOICE_EMAILS:
        transaction.on_commit(send_pending_emails)
    return document.invoice
