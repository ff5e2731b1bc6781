"""How an invoice is paid, for its e-invoice (EN 16931 BG-16), from what payments knows: a SEPA
direct debit under the customer's mandate (BT-81 "59", the mandate reference BT-89, our creditor
identifier BT-90, the debited account BT-91) or a saved card ("48"). Registered with billing
when Django starts (payments.apps); otherwise billing writes a credit transfer to our IBAN."""

from __future__ import annotations

from django.conf import settings

from billing.einvoice.common import PaymentMeans
from billing.models import Invoice
from payments.models import PaymentMethod
from payments.selectors import invoice_direct_debit


def payment_means(invoice: Invoice) -> PaymentMeans | None:
    if invoice.kind != Invoice.Kind.INVOICE:
        return None
    debit = invoice_direct_debit(invoice)
    if debit is not None and debit.mandate_reference:
        return PaymentMeans(
            code="59",
            remittance=invoice.payment_reference,
            mandate_reference=debit.mandate_reference,
            creditor_id=settings.SEPA_CREDITOR_ID,
            debtor_iban=debit.iban,
        )
    card = PaymentMethod.objects.filter(
        customer_id=invoice.customer_id,
        kind=PaymentMethod.Kind.CARD,
        status=PaymentMethod.Status.ACTIVE,
        is_default=True,
    ).exists()
    if card:
        return PaymentMeans(code="48", remittance=invoice.payment_reference)
    return None
