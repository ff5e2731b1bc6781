"""Documents the revenue tests build by hand (not a test module: shared by several).

An issued document is written as the billing services write one: a draft with its lines, then
issued (number, dates, totals) by an update, which the immutability triggers allow only from a
draft. Payments, reversals, refunds and write-offs go through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.models import Invoice, InvoiceLine, InvoiceTax
from core.pricing import round_money
from subscriptions.models import Customer, Subscription

D = Decimal
VAT = D("20")
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Line:
    net: str | Decimal
    start: date | None = None  # None: a line without a period (one-off)
    end: date | None = None
    subscription: Subscription | None = None


def issued(
    customer: Customer,
    *,
    issue: date,
    lines: list[Line],
    due: date | None = None,
    currency: str | None = None,
    corrects: Invoice | None = None,
    subscription: Subscription | None = None,
    end_customer: Customer | None = None,
    vat: Decimal = VAT,
) -> Invoice:
    """An issued invoice (or, with `corrects`, a credit note of it) with `lines` at `vat` %;
    its total is its net plus the VAT on it, rounded once."""
    currency = currency or (corrects.currency if corrects else customer.currency)
    kind = Invoice.Kind.CREDIT_NOTE if corrects else Invoice.Kind.INVOICE
    invoice = Invoice.objects.create(
        kind=kind,
        customer=customer,
        currency=currency,
        customer_name=customer.name,
        subscription=subscription or (corrects.subscription if corrects else None),
        credited_invoice=corrects,
        end_customer=end_customer,
        net_total=D(0),
        tax_total=D(0),
        total=D(0),
        amount_paid=D(0),
    )
    rows = [
        InvoiceLine(
            invoice=invoice,
            position=n,
            subscription=line.subscription,
            kind=InvoiceLine.Kind.CREDIT if corrects else InvoiceLine.Kind.RECURRING,
            description=f"line {n}",
            period_start=line.start,
            period_end=line.end,
            currency=currency,
            quantity=D(1),
            unit_price=D(line.net),
            gross=D(line.net),
            discount_total=D(0),
            net=D(line.net),
            tax_rate=vat,
        )
        for n, line in enumerate(lines)
    ]
    InvoiceLine.objects.bulk_create(rows)
    net = sum((D(line.net) for line in lines), D(0))
    tax = round_money(net * vat / 100, currency)
    # Its tax breakdown (a refund shares an amount over it), written while it is a draft.
    InvoiceTax.objects.create(invoice=invoice, rate=vat, currency=currency, base=net, tax=tax)
    number = next(_numbers)
    series = Invoice.SERIES[kind]
    Invoice.objects.filter(pk=invoice.pk).update(
        status=Invoice.Status.ISSUED,
        series=series,
        year=issue.year,
        sequence=number,
        number=f"{series}{issue.year}-{number:06}",
        issue_date=issue,
        due_date=due or issue,
        net_total=net,
        tax_total=tax,
        total=net + tax,
    )
    invoice.refresh_from_db()
    return invoice
