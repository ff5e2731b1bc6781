"""Money that came back (a returned direct debit): the payment is kept and reversed by a row of
the same amount, negative; the invoice owes it again."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import Invoice, Payment
from billing.services import billing_run, payment_record, payment_reverse
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(office):
    billing_run(day=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    payment_record(
        invoice=invoice, amount="20.00", method="bank_transfer", received_on=date(2026, 1, 5)
    )
    payment = payment_record(
        invoice=invoice, amount="34.00", method="sepa_debit", received_on=date(2026, 1, 10)
    )
    return payment


def test_a_reversal_reopens_the_invoice_and_keeps_the_payment(paid):
    invoice = paid.invoice
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    reversal = payment_reverse(payment=paid, day=date(2026, 1, 12), reason="AM04")
    invoice.refresh_from_db()
    # Due on 2026-01-31: open again, not overdue yet; the sum of its payments is what it paid.
    assert (invoice.status, invoice.amount_paid.amount, invoice.paid_on) == (
        "issued",
        Decimal("20.00"),
        None,
    )
    assert sum(p.amount.amount for p in invoice.payments.all()) == Decimal("20.00")
    assert (reversal.amount.amount, reversal.reverses, reversal.method) == (
        Decimal("-34.00"),
        paid,
        "sepa_debit",
    )
    assert Payment.objects.filter(pk=paid.pk).exists()


def test_a_payment_is_reversed_once_and_a_reversal_never(paid):
    reversal = payment_reverse(payment=paid, day=date(2026, 1, 12), reason="AM04")
    with pytest.raises(ApplicationError, match="already reversed"):
        payment_reverse(payment=paid, day=date(2026, 1, 12), reason="AM04")
    with pytest.raises(ApplicationError, match="cannot be reversed"):
        payment_reverse(payment=reversal, day=date(2026, 1, 12), reason="AM04")
    with pytest.raises(ApplicationError, match="before it was received"):
        payment_reverse(
            payment=Payment.objects.get(method="bank_transfer"), day=date(2026, 1, 1), reason="x"
        )


def test_only_a_reversal_is_below_zero(paid):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            invoice=paid.invoice,
            currency="EUR",
            amount=Decimal("-1.00"),
            method="bank_transfer",
            received_on=date(2026, 1, 12),
        )
