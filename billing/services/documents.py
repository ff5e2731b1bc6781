"""Invoices and credit notes built from charges, in memory (the run writes them in bulk)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine, InvoiceTax, NumberClaim
from billing.parties import buyer_snapshot
from billing.services import chunk_io
from billing.services.numbering import claim_numbers, date_documents, issue_documents
from core.pricing import ZERO, invoice_totals
from subscriptions.charges import ISSUES, RECURRING, USAGE, Charge
from subscriptions.models import Subscription

UNIT_PRICE_QUANTUM = Decimal("0.0001")  # settings.MONEY_DECIMAL_PLACES of InvoiceLine.unit_price

# The casts below: chunk_io.new_row and row_from return a row of the model they are given, but
# their signatures say `models.Model` (chunk_io.py is not type-checked yet). Once they are typed
# with a TypeVar, mypy's warn_redundant_casts points at each cast to remove.


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
    """One invoice per subscription per billing period (its recurring charges and issues, and
    the usage of the period before); one per change for one-off charges (credits bought too)."""
    if charge.kind in (RECURRING, ISSUES):
        return f"rec:{charge.period.start.isoformat()}"
    if charge.kind == USAGE:
        # In arrears: on the invoice of the period that starts as its own ends.
        return f"rec:{charge.charge_date.isoformat()}"
    return f"one:{charge.event_id}"


def set_totals(document: Document, currency: str) -> None:
    invoice_values, taxes = _totals_of(
        [
            (
                line.tax_rate,
                chunk_io.raw_value(line, "net"),
                line.tax_category,
                line.tax_exemption_code,
                line.tax_exemption_reason,
            )
            for line in document.lines
        ],
        currency,
    )
    # As stored (the row's currency is already set): skips django-money's descriptor, a
    # measurable cost when the run builds thousands of invoices.
    chunk_io.set_row_values(document.invoice, invoice_values)
    document.taxes = [cast(InvoiceTax, chunk_io.row_from(InvoiceTax, values)) for values in taxes]


def _totals_of(lines: list[tuple], currency: str) -> tuple[dict, list[dict]]:
    """The totals of an invoice and its taxes per category and rate, as attribute values, from
    lines given as (rate, net, category, exemption code, exemption reason)."""
    totals = invoice_totals(
        [
            (rate, net.amount if hasattr(net, "amount") else net, category)
            for rate, net, category, _code, _reason in lines
        ],
        currency,
    )
    # A category other than S says why (BT-120/BT-121): its lines' reason, the first given.
    reasons: dict[str, tuple[str, str]] = {}
    for _rate, _net, category, code, reason in lines:
        if category != "S" and (code or reason):
            reasons.setdefault(category, (code, reason))
    taxes = [
        chunk_io.row_values(
            chunk_io.new_row(
                InvoiceTax,
                rate=t.rate,
                category=t.category,
                exemption_code=reasons.get(t.category, ("", ""))[0],
                exemption_reason=reasons.get(t.category, ("", ""))[1],
                currency=currency,
                base=t.base,
                tax=t.tax,
            )
        )
        for t in totals.taxes
    ]
    return {
        "net_total": totals.net,
        "tax_total": totals.tax,
        "total": totals.gross,
        "amount_paid": ZERO,
    }, taxes


def line_from_charge(
    charge: Charge, subscription: Subscription | None, position: int, issue: int = 1
) -> InvoiceLine:
    line = chunk_io.new_row(
        InvoiceLine,
        position=position,
        subscription_id=subscription.pk if subscription is not None else None,
        charge=charge.key,
        charge_key=charge.key if issue == 1 else f"{charge.key}#{issue}",
        charge_date=charge.charge_date,
        kind=charge.kind,
        description=charge.description[:300],
        period_start=charge.period.start,
        period_end=charge.period.end,
        quantity=charge.quantity,
        currency=charge.currency,
        # The column's 4 decimals, rounded half-up as every amount (Decimal's default is
        # half-even: 0.00005 would have gone down).
        unit_price=charge.unit_amount.quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP),
        gross=charge.gross,
        # Data, not display: the amount rounded to the currency's minor unit, as a string.
        discounts=[{"label": d.label, "amount": str(d.amount)} for d in charge.discounts],
        discount_total=charge.priced.discount_total,
        net=charge.net,
        tax_rate=charge.tax_rate,
        tax_rate_ref_id=charge.tax_rate_id,
        tax_category=charge.tax_category,
        tax_exemption_code=charge.tax_exemption_code,
        tax_exemption_reason=charge.tax_exemption_reason[:200],
        product_id=charge.product_id,
        reverses_id=None,
        ledger_account=charge.ledger_account,
        invoice_item_type=charge.invoice_item_type,
        rule=charge.rule[:500],
    )
    return cast(InvoiceLine, line)


@dataclass(frozen=True)
class _Template:
    """An invoice of some charges, less what belongs to one subscription and its customer."""

    charges: tuple[Charge, ...]
    invoice: dict
    lines: tuple[dict, ...]
    taxes: tuple[dict, ...]


def _template(charges: Sequence[Charge], issues: Sequence[int], currency: str) -> _Template:
    lines = [
        chunk_io.row_values(line_from_charge(charge, None, position, issue))
        for position, (charge, issue) in enumerate(zip(charges, issues, strict=True))
    ]
    totals, taxes = _totals_of(
        [
            (
                line["tax_rate"],
                line["net"],
                line["tax_category"],
                line["tax_exemption_code"],
                line["tax_exemption_reason"],
            )
            for line in lines
        ],
        currency,
    )
    invoice = chunk_io.row_values(
        chunk_io.new_row(
            Invoice,
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.DRAFT,
            billing_key=billing_key(charges[0]),
            currency=currency,
            period_start=min(c.period.start for c in charges),
            period_end=max(c.period.end for c in charges),
            **totals,
        )
    )
    return _Template(tuple(charges), invoice, tuple(lines), tuple(taxes))


def build_invoice(
    subscription: Subscription,
    charges: Sequence[Charge],
    issues: dict[str, int] | None = None,
    memo: dict | None = None,
) -> Document:
    """A draft invoice for charges of one billing key (a period, or one change).

    Thousands of subscriptions of a billing run owe the very same charges (the same priced
    objects, shared by the price book): with a `memo`, their invoice is computed once and
    copied, with each subscription's own customer, reference and ids."""
    issue_numbers = tuple(issues.get(c.key, 1) for c in charges) if issues else (1,) * len(charges)
    currency = subscription.currency
    template: _Template | None
    if memo is None or any(c.kind != RECURRING for c in charges):
        # One-off charges are new objects every time: nothing to share.
        template = _template(charges, issue_numbers, currency)
    else:
        # By value (charges are frozen dataclasses): equal charges make the same invoice, and
        # no key outlives the objects it names (an id() could be reused by another charge).
        key = ("invoice", tuple(charges), issue_numbers, currency)
        template = memo.get(key)
        if template is None:
            template = memo[key] = _template(charges, issue_numbers, currency)
    # The invoice is addressed to the party billed: the customer, or the partner that sold the
    # subscription (billing-rules §9), which then names the end customer beside the PO reference.
    billed = subscription.billed_customer
    managed = subscription.is_managed
    invoice = chunk_io.row_from(
        Invoice,
        template.invoice,
        customer_id=billed.pk,
        subscription_id=subscription.pk,
        po_reference=subscription.po_reference,
        end_customer_id=subscription.customer_id if managed else None,
        end_customer_name=subscription.customer.name if managed else "",
        # What is printed stays as it was at issue, whatever the customer record becomes.
        customer_name=billed.name,
        customer_address=billed.billing_address,
        customer_vat_number=billed.vat_number,
        buyer=buyer_snapshot(billed),
        language=billed.locale,
    )
    return Document(
        cast(Invoice, invoice),
        [
            cast(
                InvoiceLine, chunk_io.row_from(InvoiceLine, values, subscription_id=subscription.pk)
            )
            for values in template.lines
        ],
        [cast(InvoiceTax, chunk_io.row_from(InvoiceTax, values)) for values in template.taxes],
    )


def build_credit_note(
    original: Invoice, lines: Sequence[InvoiceLine], *, reason: str, reissue: bool
) -> Document:
    """A credit note reversing `lines` of `original` (amounts shown positive, as credits), in
    the original's language whoever asks for it (an operator's admin is often in English)."""
    with translation.override(original.language):
        return _credit_note(original, lines, reason=reason, reissue=reissue)


def _credit_note(
    original: Invoice, lines: Sequence[InvoiceLine], *, reason: str, reissue: bool
) -> Document:
    credit = _credit_header(
        original,
        reason=reason,
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
                tax_category=line.tax_category,
                tax_exemption_code=line.tax_exemption_code,
                tax_exemption_reason=line.tax_exemption_reason,
                product_id=line.product_id,
                ledger_account=line.ledger_account,
                invoice_item_type=line.invoice_item_type,
                rule=line.rule,
            )
            for i, line in enumerate(lines)
        ],
    )
    set_totals(document, original.currency)
    return document


def build_amount_credit_note(
    original: Invoice,
    nets: Sequence[tuple[Decimal, int | None, Decimal, str, str, str]],
    *,
    reason: str,
    billing_key: str,
) -> Document:
    """A credit note of an amount of `original` (a refund), not of its lines: one line per tax
    category and rate, given as (rate, tax rate id, net amount, VAT category, exemption code and
    reason), in the original's language."""
    with translation.override(original.language):
        document = Document(
            _credit_header(original, reason=reason, billing_key=billing_key),
            [
                InvoiceLine(
                    position=i,
                    kind=InvoiceLine.Kind.CREDIT,
                    description=(
                        _("Refund on invoice %(number)s") % {"number": original.number}
                        if len(nets) == 1
                        else _("Refund on invoice %(number)s, VAT %(rate)s %%")
                        % {"number": original.number, "rate": rate.normalize()}
                    )[:300],
                    period_start=original.period_start,
                    period_end=original.period_end,
                    quantity=Decimal(1),
                    currency=original.currency,
                    unit_price=net,
                    gross=net,
                    discounts=[],
                    discount_total=ZERO,
                    net=net,
                    tax_rate=rate,
                    tax_rate_ref_id=rate_id,
                    tax_category=category,
                    tax_exemption_code=code,
                    tax_exemption_reason=reason,
                )
                for i, (rate, rate_id, net, category, code, reason) in enumerate(nets)
            ],
        )
        set_totals(document, original.currency)
        return document


def _credit_header(original: Invoice, *, reason: str, billing_key: str) -> Invoice:
    return Invoice(
        kind=Invoice.Kind.CREDIT_NOTE,
        status=Invoice.Status.DRAFT,
        customer_id=original.customer_id,
        subscription_id=original.subscription_id,
        credited_invoice=original,
        currency=original.currency,
        language=original.language,
        po_reference=original.po_reference,
        end_customer_id=original.end_customer_id,
        end_customer_name=original.end_customer_name,
        customer_name=original.customer_name,
        customer_address=original.customer_address,
        customer_vat_number=original.customer_vat_number,
        buyer=original.buyer,
        period_start=original.period_start,
        period_end=original.period_end,
        note=reason,
        billing_key=billing_key,
    )


def save_documents(
    documents: Sequence[Document],
    *,
    issue_on: date | None = None,
    timings: dict[str, float] | None = None,
    before_issue: Callable[[], None] | None = None,
    claim: bool = False,
) -> list[NumberClaim]:
    """Insert documents with their lines and taxes (COPY statements on PostgreSQL); with
    `issue_on`, then issue them on that date with their numbers (`issue_documents`: the
    numbering lock is held from there to the caller's commit, so call it last), or with
    `claim`, leave them drafts dated for that day and return their number claims, for
    `numbering.issue_claimed` once the caller has committed (the billing run's way).
    `before_issue` runs once they are written and before the numbers are taken: what must be
    written with them (the nightly run settles the invoices they credit) stays out of the lock.

    The documents go in as drafts, then their lines and taxes; issuing sets the numbers of the
    rows already written and checked, in one UPDATE, so that the lock covers only taking the
    numbers and writing them. One path on every database (only how ids are reserved differs:
    chunk_io.reserve_row_ids), so the SQLite test suite runs the production one.
    """
    if not documents:
        return []
    invoices = [d.invoice for d in documents]
    if issue_on is not None:
        date_documents(invoices, day=issue_on)  # written with them: the lock sets the numbers only
    chunk_io.reserve_row_ids(invoices)
    _attach(documents)
    chunk_io.insert_rows(invoices)
    # Nothing points to new lines and taxes: their ids come from the tables' defaults.
    chunk_io.insert_rows([line for d in documents for line in d.lines], ids=False)
    chunk_io.insert_rows([tax for d in documents for tax in d.taxes], ids=False)
    if before_issue is not None:
        before_issue()
    if issue_on is None:
        return []
    if claim:
        return claim_numbers(invoices, day=issue_on)
    issue_documents(invoices, day=issue_on, timings=timings, dated=True)
    return []


def _attach(documents: Sequence[Document]) -> None:
    """Point lines and taxes to their saved (or reserved) document."""
    for document in documents:
        chunk_io.attach((*document.lines, *document.taxes), document.invoice)
