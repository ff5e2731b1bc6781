"""How an invoice is paid, for its PDF (templates/billing/invoice_pdf.html): a template tag is
a door, so billing's template reads the payments app without billing importing it."""

from django import template

from billing.models import Invoice
from payments.selectors import DirectDebitTerms, invoice_direct_debit

register = template.Library()


@register.simple_tag
def direct_debit_terms(invoice: Invoice) -> DirectDebitTerms | None:
    """The SEPA direct debit that pays the invoice (None: it is paid by transfer)."""
    return invoice_direct_debit(invoice)
