"""The payer is told when a payment fails (a declined card, a returned direct debit): an email
in the invoice's language, from the outbox written with the failure, sent once by
billing.emails_send; a mail server that refuses it leaves it for the next round.

The quarterly invoice of billing-rules example 6.1: 129.60 EUR, issued on 2026-01-01, billed to
a French customer."""

import smtplib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billing import documents
from billing.models import PaymentFailedEmail
from billing.services import (
    invoice_emails_send,
    payment_failed_record,
    payment_record,
    payment_reverse,
)
from billing.tasks import emails_send
from payments import services
from tests.payments.sepa_builders import invoice_for, mandate_for, submitted_batch

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 10)
DECLINED_WHEN_CHARGED = "4000 0000 0000 0341"


@pytest.fixture(autouse=True)
def _now(settings):
    settings.INVOICE_EMAILS = True  # the test settings turn them off
    with time_machine.travel(datetime(2026, 1, 10, 9, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def english(demo_catalog):
    """The same quarterly invoice of 129.60, billed to an English-speaking customer."""
    return invoice_for("Maple Devices")  # the default language: English


def invoices_emailed(mailoutbox) -> None:
    """The invoices' own emails (issued by the fixtures) sent and forgotten."""
    invoice_emails_send()
    mailoutbox.clear()


def test_a_declined_card_emails_the_payer_once_in_its_language(
    quarterly, mailoutbox, django_capture_on_commit_callbacks
):
    services.card_add(
        customer=quarterly.customer,
        number=DECLINED_WHEN_CHARGED,
        expiry="12/29",
        holder="Paul Martin",
        today=DAY,
    )
    invoices_emailed(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):  # the outbox asked for at once
        services.card_payment_retry(invoice=quarterly, day=DAY)

    (message,) = mailoutbox
    assert message.to == [quarterly.customer.email]
    assert message.subject == f"Votre paiement de la facture {quarterly.number} a échoué"
    assert "Votre paiement de 129,60\u00a0€ (carte bancaire)" in message.body
    assert "Motif: Votre carte a été refusée par votre banque." in message.body
    assert "129,60\u00a0€ restent dus sur cette facture (échéance le 2026-01-31)" in message.body
    assert quarterly.payment_reference in message.body
    assert PaymentFailedEmail.objects.get().sent_at is not None
    assert emails_send() == 0  # once


def test_a_returned_debit_emails_what_came_back(english, mailoutbox):
    payment = payment_record(
        invoice=english, amount=Decimal("129.60"), method="sepa_debit", received_on=DAY
    )
    invoices_emailed(mailoutbox)

    payment_reverse(payment=payment, day=date(2026, 1, 15), reason="AM04 insufficient funds")
    assert emails_send() == 1

    (message,) = mailoutbox
    assert message.subject == f"Your payment for invoice {english.number} failed"
    assert "Your payment of 129.60 EUR (SEPA direct debit)" in message.body  # not -129.60
    assert "Reason: AM04 insufficient funds" in message.body
    assert "129.60 EUR remain due on this invoice" in message.body


def test_a_debit_the_bank_returned_says_why_in_words_in_the_invoice_language(quarterly, mailoutbox):
    # Given the French invoice's debit, collected, then returned by the bank for lack of funds
    mandate_for(quarterly.customer)
    debit = submitted_batch().debits.get()
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    invoices_emailed(mailoutbox)
    services.sepa_debit_return(debit=debit, reason="AM04", day=date(2026, 2, 4))
    assert emails_send() == 1
    # Then the payer reads the reason in French words, not the bank's code alone
    (message,) = mailoutbox
    assert "Votre paiement de 129,60\u00a0€ (prélèvement SEPA)" in message.body
    assert "Motif: AM04 — provision insuffisante" in message.body, message.body


def test_without_invoice_emails_nothing_is_written(quarterly, mailoutbox, settings):
    invoices_emailed(mailoutbox)
    settings.INVOICE_EMAILS = False
    payment_failed_record(
        invoice=quarterly, method="card", amount=Decimal("129.60"), day=DAY, reason="card_declined"
    )
    assert not PaymentFailedEmail.objects.exists()
    assert emails_send() == 0 and mailoutbox == []


def test_an_email_the_server_refuses_stays_in_the_outbox(quarterly, mailoutbox, monkeypatch):
    invoices_emailed(mailoutbox)
    payment_failed_record(
        invoice=quarterly, method="card", amount=Decimal("129.60"), day=DAY, reason="card_declined"
    )
    real = documents.payment_failed_email

    def refused(event, recipients):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr(documents, "payment_failed_email", refused)
    assert emails_send() == 0
    assert PaymentFailedEmail.objects.get().sent_at is None

    monkeypatch.setattr(documents, "payment_failed_email", real)
    assert emails_send() == 1
    assert [m.subject for m in mailoutbox] == [
        f"Votre paiement de la facture {quarterly.number} a échoué"
    ]
