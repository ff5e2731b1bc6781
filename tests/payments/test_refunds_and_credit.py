"""Refunds and customer credit: billing-rules §13 (examples 13.1 and 13.2)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, Payment
from billing.services import billing_run, payment_record
from core.errors import ApplicationError
from payments import selectors, services
from payments.models import CreditEntry, Refund

pytestmark = pytest.mark.django_db
D = Decimal


def _paid(invoice):
    payment_record(
        invoice=invoice,
        amount=invoice.total.amount,
        method="bank_transfer",
        received_on=date(2026, 1, 10),
    )
    invoice.refresh_from_db()
    return invoice


def test_example_13_1_a_partial_refund_then_one_beyond_what_is_left(quarterly):
    invoice = _paid(quarterly)
    refund = services.refund_create(
        invoice=invoice,
        amount="40.00",
        reason="Two gateways returned",
        via=Refund.Via.CREDIT,
        day=date(2026, 1, 20),
    )
    credit_note = refund.credit_note
    # A credit note of 40.00: 33.33 + VAT 6.67, in its own series, crediting the invoice.
    assert credit_note.kind == Invoice.Kind.CREDIT_NOTE
    assert credit_note.number == "AV2026-000001"
    assert credit_note.credited_invoice == invoice
    assert (credit_note.net_total.amount, credit_note.tax_total.amount) == (D("33.33"), D("6.67"))
    assert credit_note.total.amount == D("40.00")
    [line] = credit_note.lines.all()
    assert line.description == f"Remboursement sur la facture {invoice.number}"
    assert refund.amount.amount == D("40.00")
    assert selectors.refund_state(invoice) == ("partly_refunded", D("40.00"))
    assert selectors.refundable(invoice) == D("89.60")
    # A further refund of 100.00 is refused: 89.60 left, and nothing is written.
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(
            invoice=invoice,
            amount="100.00",
            reason="More",
            via=Refund.Via.CREDIT,
            day=date(2026, 1, 21),
        )
    assert refused.value.field == "amount"
    assert "89.60" in str(refused.value)
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    assert Refund.objects.count() == 1
    # The rest can be refunded: then the invoice is refunded.
    services.refund_create(
        invoice=invoice, amount="89.60", reason="All", via=Refund.Via.CREDIT, day=date(2026, 1, 22)
    )
    assert selectors.refund_state(invoice) == ("refunded", D("129.60"))


def test_example_13_2_credit_applied_to_the_next_invoice(quarterly):
    invoice = _paid(quarterly)
    # A credit of 25.92 (a credit note not paid out: refunded to the customer's credit).
    services.refund_create(
        invoice=invoice,
        amount="25.92",
        reason="Goodwill",
        via=Refund.Via.CREDIT,
        day=date(2026, 2, 1),
    )
    customer = invoice.customer
    assert services.credit_balance(customer=customer, currency="EUR") == D("25.92")
    # The next quarter's invoice of 129.60: the daily job applies the credit.
    billing_run(day=date(2026, 4, 1))
    following = Invoice.objects.get(kind="invoice", period_start=date(2026, 4, 1))
    assert following.total.amount == D("129.60")
    assert services.credits_apply_due(day=date(2026, 4, 1)) == 1
    following.refresh_from_db()
    assert following.amount_paid.amount == D("25.92")
    assert following.total.amount - following.amount_paid.amount == D("103.68")
    assert following.status == Invoice.Status.ISSUED
    [payment] = following.payments.all()
    assert (payment.method, payment.amount.amount) == (Payment.Method.CUSTOMER_CREDIT, D("25.92"))
    assert services.credit_balance(customer=customer, currency="EUR") == D("0")
    # Run twice: nothing more applied.
    assert services.credits_apply_due(day=date(2026, 4, 2)) == 0
    assert CreditEntry.objects.filter(kind=CreditEntry.Kind.APPLIED).count() == 1


def test_a_refund_by_transfer_needs_an_account_and_waits_to_be_paid(quarterly):
    invoice = _paid(quarterly)
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(
            invoice=invoice,
            amount="10.00",
            reason="x",
            via=Refund.Via.TRANSFER,
            day=date(2026, 1, 20),
        )
    assert refused.value.field == "iban"
    refund = services.refund_create(
        invoice=invoice,
        amount="10.00",
        reason="x",
        via=Refund.Via.TRANSFER,
        iban="FR76 3000 6000 0112 3456 7890 189",
        day=date(2026, 1, 20),
    )
    assert (refund.status, refund.iban) == (Refund.Status.PENDING, "FR7630006000011234567890189")
    assert services.credit_balance(customer=invoice.customer, currency="EUR") == D("0")


@pytest.mark.parametrize(
    ("amount", "field"),
    [("abc", "amount"), ("0", "amount"), ("-5", "amount"), ("1.234", "amount"), ("NaN", "amount")],
)
def test_a_refund_of_a_bad_amount_is_refused(quarterly, amount, field):
    invoice = _paid(quarterly)
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(
            invoice=invoice,
            amount=amount,
            reason="x",
            via=Refund.Via.CREDIT,
            day=date(2026, 1, 20),
        )
    assert refused.value.field == field
    assert not Refund.objects.exists()


def test_an_unpaid_invoice_cannot_be_refunded(quarterly):
    with pytest.raises(ApplicationError, match=r"0\.00"):
        services.refund_create(
            invoice=quarterly,
            amount="1.00",
            reason="x",
            via=Refund.Via.CREDIT,
            day=date(2026, 1, 20),
        )


def test_a_refund_no_net_amount_makes_is_refused_with_the_amounts_that_work(quarterly):
    invoice = _paid(quarterly)
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(
            invoice=invoice,
            amount="9.99",
            reason="x",
            via=Refund.Via.CREDIT,
            day=date(2026, 1, 20),
        )
    assert "9.98" in str(refused.value) and "10.00" in str(refused.value)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_the_credit_job_is_scheduled_after_the_run_and_applies_credit(quarterly, settings):
    from payments.tasks import credits_apply

    entry = settings.CELERY_BEAT_SCHEDULE["customer-credit"]
    assert entry["task"] == credits_apply.name == "payments.credits_apply"
    invoice = _paid(quarterly)
    services.refund_create(
        invoice=invoice,
        amount="25.92",
        reason="Goodwill",
        via=Refund.Via.CREDIT,
        day=date(2026, 2, 1),
    )
    billing_run(day=date(2026, 4, 1))
    assert credits_apply.delay("2026-04-01").get() == 1
    assert credits_apply.delay("2026-04-01").get() == 0
