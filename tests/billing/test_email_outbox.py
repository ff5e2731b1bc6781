"""The outbox of invoice emails: written with the documents, sent by billing.emails_send; a mail
server that refuses one email delays that one only."""

import smtplib
from datetime import date

import pytest

from billing import documents
from billing.models import Invoice
from billing.services import billing_run
from billing.tasks import emails_send

pytestmark = pytest.mark.django_db


def test_issued_documents_wait_in_the_outbox_until_sent(office, seats, mailoutbox):
    billing_run(day=date(2026, 1, 1), send_emails=True)
    assert Invoice.objects.filter(email_pending=True).count() == 2
    assert emails_send() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        Invoice.objects.values_list("customer__email", flat=True)
    )
    assert emails_send() == 0  # once


def test_a_run_without_emails_leaves_nothing_in_the_outbox(office):
    billing_run(day=date(2026, 1, 1), send_emails=False)
    assert not Invoice.objects.filter(email_pending=True).exists()
    assert emails_send() == 0


def test_an_email_the_server_refuses_stays_in_the_outbox(office, seats, mailoutbox, monkeypatch):
    billing_run(day=date(2026, 1, 1), send_emails=True)
    refused = Invoice.objects.get(subscription=seats)
    real = documents.invoice_email

    def flaky(invoice, recipients):
        message = real(invoice, recipients)
        if invoice.pk == refused.pk:
            message.send = lambda *a, **k: (_ for _ in ()).throw(smtplib.SMTPServerDisconnected())
        return message

    monkeypatch.setattr(documents, "invoice_email", flaky)
    assert emails_send() == 1
    assert Invoice.objects.get(pk=refused.pk).email_pending
    assert Invoice.objects.get(pk=refused.pk).sent_at is None
    monkeypatch.setattr(documents, "invoice_email", real)
    assert emails_send() == 1  # the next round sends it
    assert len(mailoutbox) == 2
    assert not Invoice.objects.filter(email_pending=True).exists()
