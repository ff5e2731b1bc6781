"""Documents the billing tests build by hand (not a test module: shared by several)."""

from decimal import Decimal

from billing.models import Invoice, InvoiceLine
from tests.subscriptions.factories import CustomerFactory

D = Decimal


def manual_draft(customer=None, *, net: str = "100.00", with_line: bool = True) -> Invoice:
    """A draft an operator prepared by hand: one one-off line at 20 % VAT, no subscription."""
    customer = customer or CustomerFactory()
    net_amount = D(net)
    tax = (net_amount * D("0.20")).quantize(D("0.01"))
    invoice = Invoice.objects.create(
        customer=customer,
        currency=customer.currency,
        customer_name=customer.name,
        net_total=net_amount,
        tax_total=tax,
        total=net_amount + tax,
        amount_paid=D("0"),
        note="Installation on site",
    )
    if with_line:
        InvoiceLine.objects.create(
            invoice=invoice,
            kind=InvoiceLine.Kind.ONE_OFF,
            description="Installation on site",
            currency=invoice.currency,
            quantity=D("1"),
            unit_price=net_amount,
            gross=net_amount,
            discount_total=D("0"),
            net=net_amount,
            tax_rate=D("20"),
        )
    return invoice
