"""Invoices and credit notes built from charges, in memory (the run writes them in bulk)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine, InvoiceTax
from billing.services.numbering import issue_documents, log_issued, take_numbers
from catalog.core.pricing import ZERO, invoice_totals
from config.bulk import build, insert, reserve_ids
from subscriptions.charges import RECURRING, Charge
from subscriptions.models import Customer, Subscription


@dataclass
class Document:
    """An invoice or credit note with its lines and taxes, not yet saved."""

    invoice: Invoice
    lines: list[InvoiceLine] = field(default_factory=list)
    taxes: list[InvoiceTax] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return (
            self.invoice.total.amount
            if hasattr(self.invoice.total, "amount")
            else self.invoice.total
        )


def billing_key(charge: Charge) -> str:
    """One invoice per subscription per billing period; one per change for one-off charges."""
    if charge.kind == RECURRING:
        return f"rec:{charge.period.start.isoformat()}"
    return f"one:{charge.event_id}"


def _snapshot_customer(invoice: Invoice, customer: Customer) -> None:
    # What is printed stays as it was at issue, whatever the customer record becomes.
    invoice.customer_name = customer.name
    invoice.customer_address = customer.billing_address
    invoice.customer_vat_number = customer.vat_number
    invoice.language = customer.locale


def _totals(document: Document, currency: str) -> None:
    totals = invoice_totals([(line.tax_rate, line.net.amount) for line in document.lines], currency)
    # Straight into the instance (the row's currency is already set): skips django-money's
    # descriptor, a measurable cost when the run builds thousands of invoices.
    document.invoice.__dict__.update(
        net_total=totals.net, tax_total=totals.tax, total=totals.gross, amount_paid=ZERO
    )
    document.taxes = [
        build(InvoiceTax, rate=t.rate, currency=currency, base=t.base, tax=t.tax)
        for t in totals.taxes
    ]


def line_from_charge(
    charge: Charge, subscription: Subscription, position: int, issue: int = 1
) -> InvoiceLine:
    return build(
        InvoiceLine,
        position=position,
        subscription_id=subscription.pk,
        charge=charge.key,
        charge_key=charge.key if issue == 1 else f"{charge.key}#{issue}",
        charge_date=charge.charge_date,
        kind=charge.kind,
        description=charge.description[:300],
        period_start=charge.period.start,
        period_end=charge.period.end,
        quantity=charge.quantity,
        currency=charge.currency,
        unit_price=charge.unit_amount.quantize(Decimal("0.0001")),
        gross=charge.gross,
        discounts=[{"label": d.label, "amount": f"{d.amount:.2f}"} for d in charge.discounts],
        discount_total=charge.priced.discount_total,
        net=charge.net,
        tax_rate=charge.tax_rate,
        tax_rate_ref_id=charge.tax_rate_id,
        product_id=charge.product_id,
        reverses_id=None,
        ledger_account=charge.ledger_account,
        invoice_item_type=charge.invoice_item_type,
        rule=charge.rule[:500],
    )


def build_invoice(
    subscription: Subscription, charges: Sequence[Charge], issues: dict[str, int] | None = None
) -> Document:
    """A draft invoice for charges of one billing key (a period, or one change)."""
    customer = subscription.customer
    invoice = build(
        Invoice,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.DRAFT,
        customer_id=customer.pk,
        subscription_id=subscription.pk,
        billing_key=billing_key(charges[0]),
        currency=subscription.currency,
        po_reference=subscription.po_reference,
        period_start=min(c.period.start for c in charges),
        period_end=max(c.period.end for c in charges),
    )
    _snapshot_customer(invoice, customer)
    issues = issues or {}
    document = Document(
        invoice,
        [line_from_charge(c, subscription, i, issues.get(c.key, 1)) for i, c in enumerate(charges)],
    )
    _totals(document, subscription.currency)
    return document


def build_credit_note(
    original: Invoice, lines: Sequence[InvoiceLine], *, reason: str, reissue: bool
) -> Document:
    """A credit note reversing `lines` of `original` (amounts shown positive, as credits)."""
    credit = Invoice(
        kind=Invoice.Kind.CREDIT_NOTE,
        status=Invoice.Status.DRAFT,
        customer_id=original.customer_id,
        subscription_id=original.subscription_id,
        credited_invoice=original,
        currency=original.currency,
        language=original.language,
        po_reference=original.po_reference,
        customer_name=original.customer_name,
        customer_address=original.customer_address,
        customer_vat_number=original.customer_vat_number,
        period_start=original.period_start,
        period_end=original.period_end,
        note=reason,
        billing_key=f"credit:{original.pk}:{'reissue' if reissue else 'settle'}:{min(line.pk for line in lines)}",
    )
    document = Document(
        credit,
        [
            InvoiceLine(
                position=i,
                reverses=line,
                kind=InvoiceLine.Kind.CREDIT,
                description=(_("Credit: %(line)s") % {"line": line.description})[:300],
                period_start=line.period_start,
                period_end=line.period_end,
                quantity=line.quantity,
                currency=line.currency,
                unit_price=line.unit_price.amount,
                gross=line.gross.amount,
                discounts=line.discounts,
                discount_total=line.discount_total.amount,
                net=line.net.amount,
                tax_rate=line.tax_rate,
                tax_rate_ref_id=line.tax_rate_ref_id,
                product_id=line.product_id,
                ledger_account=line.ledger_account,
                invoice_item_type=line.invoice_item_type,
                rule=line.rule,
            )
            for i, line in enumerate(lines)
        ],
    )
    _totals(document, original.currency)
    return document


def save_documents(documents: Sequence[Document], *, issue_on: date | None = None) -> None:
    """Insert documents with their lines and taxes (COPY statements on PostgreSQL); with
    `issue_on`, issued on that date with their numbers.

    Issuing while inserting (PostgreSQL): the lines and taxes go in first, pointing to the
    documents' reserved ids; then the numbers are taken and the documents written, already
    issued. The sequence lock is held from then to the commit only, and no row is written twice
    (a draft numbered by an UPDATE would be).
    """
    if not documents:
        return
    invoices = [d.invoice for d in documents]
    if issue_on is not None and connection.vendor == "postgresql":
        reserve_ids(invoices)
        _attach(documents)
        insert([line for d in documents for line in d.lines])
        insert([tax for d in documents for tax in d.taxes])
        take_numbers(invoices, day=issue_on)  # locks the series until the commit
        insert(invoices)
        log_issued([invoice.pk for invoice in invoices], issue_on)
        return
    insert(invoices)
    _attach(documents)
    insert([line for d in documents for line in d.lines])
    insert([tax for d in documents for tax in d.taxes])
    if issue_on is not None:
        issue_documents(invoices, day=issue_on)


def _attach(documents: Sequence[Document]) -> None:
    """Point lines and taxes to their saved (or reserved) document."""
    for document in documents:
        invoice = document.invoice
        for part in (*document.lines, *document.taxes):
            # What the `invoice` descriptor does, without its checks (tens of thousands of rows).
            part.__dict__["invoice_id"] = invoice.pk
            part._state.fields_cache["invoice"] = invoice
