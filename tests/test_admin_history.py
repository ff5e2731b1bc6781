"""Every admin page's *History* button answers, for every registered model (issue 11).

The demo data gives most models their rows; the few it leaves empty (schedules, tokens, login
attempts, webhooks, idempotency keys, payment methods, refunds, bank statements, SEPA batches, card payments, gateway events, usage events, sign-ups and hosted links) get one here, so that a new admin without a row fails this
test rather than going unchecked.
"""

from datetime import date, timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from billing.models import EInvoice, Invoice
from billing.services import month_close
from catalog.models import OffersGrid, Plan
from integrations.models import IdempotencyKey, WebhookDelivery, WebhookEndpoint
from payments.models import (
    BankStatement,
    BankStatementEntry,
    CardPayment,
    DunningStep,
    GatewayEvent,
    SepaBatch,
    SepaDebit,
)
from payments.services import refund_create, sepa_mandate_add
from storefront.models import HostedPageLink, SignUp
from subscriptions.models import Customer
from subscriptions.services import usage_events_record

pytestmark = pytest.mark.django_db

ATTEMPT = {"user_agent": "pytest", "ip_address": "127.0.0.1", "username": "x", "path_info": "/"}


def _rows_the_demo_leaves_empty(user) -> None:
    now = timezone.now()
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(
        name="history-test", task="celery.backend_cleanup", interval=interval
    )
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    CrontabSchedule.objects.create(minute="0", hour="2")
    SolarSchedule.objects.create(event="sunrise", latitude=48.85, longitude=2.35)
    Token.objects.get_or_create(user=user)
    AccessAttempt.objects.create(**ATTEMPT, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**ATTEMPT)
    endpoint = WebhookEndpoint.objects.create(
        name="Receiver", url="https://hooks.example.com/cadence", secret="s" * 32
    )
    # The storefront: a sign-up awaiting its email, and an integrator's temporary link.
    SignUp.objects.create(
        email="history@example.com",
        grid=OffersGrid.objects.create(code="history", name="History"),
        plan=Plan.objects.order_by("pk").first(),
        password="!",
    )
    HostedPageLink.objects.create(
        customer=Customer.objects.order_by("pk").first(),
        page=HostedPageLink.Page.PAYMENT_METHODS,
        expires_at=now + timedelta(hours=1),
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="evt-1", event_type="invoice.issued", body="{}"
    )
    IdempotencyKey.objects.create(
        owner=user, key="k-1", method="POST", path="/api/v1/x/", fingerprint="f", created_at=now
    )
    # Payments: a mandate, a refund to credit (its credit entry), a bank statement of one
    # unmatched entry and a SEPA batch of one debit.
    paid = Invoice.objects.filter(kind="invoice", status="paid").order_by("pk").first()
    refund_create(invoice=paid, amount="1.00", reason="History", via="credit", day=paid.paid_on)
    invoice = (
        Invoice.objects.filter(kind="invoice", total__gt=0, currency="EUR")
        .exclude(status="draft")
        .first()
    )
    mandate = sepa_mandate_add(
        customer=invoice.customer,
        account_holder="History Test",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        accepted=True,
        today=invoice.issue_date,
        make_default=False,
    )
    batch = SepaBatch.objects.create(
        message_id="history-1",
        day=invoice.issue_date,
        collection_date=invoice.due_date,
        currency=invoice.currency,
        total=invoice.total.amount,
        count=1,
        xml="<Document/>",
    )
    statement = BankStatement.objects.create(
        file_name="history.xml",
        file_hash="0" * 64,
        statement_id="history-1",
        account_iban="FR7630006000011234567890189",
        currency="EUR",
    )
    BankStatementEntry.objects.create(
        statement=statement,
        position=1,
        booking_date=invoice.issue_date,
        currency="EUR",
        amount="1.00",
        direction="CRDT",
        status="unmatched",
    )
    DunningStep.objects.create(invoice=invoice, step="retry", attempt=1, day=invoice.due_date)
    # A monthly close, before the demo's first invoice.
    month_close(month=date(2025, 1, 1), user=user)
    # An e-invoice (its files stand-ins: only its admin pages are looked at).
    EInvoice.objects.create(
        invoice=invoice, cii_xml=b"<cii/>", ubl_xml=b"<ubl/>", facturx_pdf=b"%PDF"
    )
    SepaDebit.objects.create(
        batch=batch,
        invoice=invoice,
        mandate=mandate,
        currency=invoice.currency,
        amount=invoice.total.amount,
        sequence_type="FRST",
        end_to_end_id="history-1",
    )
    # A card payment declined and the gateway's event about it.
    attempt = CardPayment.objects.create(
        invoice=invoice,
        currency=invoice.currency,
        amount=invoice.total.amount,
        gateway="test",
        provider_id="pi_history",
        idempotency_key="history-1",
        status="failed",
        failure_code="card_declined",
        created_on=invoice.issue_date,
    )
    GatewayEvent.objects.create(
        gateway="test",
        provider_event_id="evt_history",
        type="payment.failed",
        provider_payment_id="pi_history",
        payload={},
        card_payment=attempt,
    )
    usage_events_record(
        events=[
            {
                "customer": invoice.customer_id,
                "transaction_id": "history-1",
                "code": "api_call",
                "timestamp": now.isoformat(),
            }
        ]
    )


def test_every_registered_model_answers_its_history_page(client):
    call_command("seed_demo", stdout=StringIO())
    root = get_user_model().objects.create_superuser("root", "root@cadence.example", "pw")
    _rows_the_demo_leaves_empty(root)
    client.force_login(root)

    answers, empty = {}, []
    for model in admin.site._registry:
        label = f"{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            empty.append(label)
            continue
        response = client.get(reverse(f"admin:{label}_history", args=[obj.pk]))
        answers[label] = response.status_code

    assert empty == [], "give these models a row above, so that their history page is checked"
    assert {label: code for label, code in answers.items() if code != 200} == {}
    assert {"billing_invoice", "billing_invoiceline", "billing_payment"} <= answers.keys()


def test_an_invoice_history_is_the_admin_log_of_its_changes(client):
    call_command("seed_demo", stdout=StringIO())
    root = get_user_model().objects.create_superuser("root", "root@cadence.example", "pw")
    client.force_login(root)
    first = Invoice.objects.order_by("pk").first()
    html = client.get(reverse("admin:billing_invoice_history", args=[first.pk])).content.decode()
    assert str(first) in html
