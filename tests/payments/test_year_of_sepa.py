"""billing-rules example 13.3 (issue 14, "Tests and figures"): a year of a subscription paid by
SEPA direct debit, every job run every day as beat runs them.

Office suite, 24 months (45.00 EUR a month + VAT 20 % = 54.00), from 2026-01-01, mandate signed
2025-12-15; invoices due 30 days after issue, debited on their due date (batches written 14
days before). March's debit comes back MD01 on 2026-04-03: reminders on days 1, 8 and 15 after
the due date, no retry (no valid mandate: revoked), suspension on day 14 (2026-04-14); a new
mandate on 2026-04-10 takes the next invoices; March is paid by transfer, imported from the
bank's camt.053 on 2026-04-20, and the subscription is reactivated that day.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import xmlschema
from django.core.files.base import ContentFile

from billing.models import Invoice, InvoiceEvent, InvoiceReminder, Payment
from billing.services import billing_run, invoices_mark_overdue
from catalog.models import Plan
from payments import sepa, services
from payments.models import DunningPolicy, DunningStep, PaymentMethod, SepaDebit
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory
from tests.support.payments import Tx, camt053

pytestmark = pytest.mark.django_db

RETURNED_ON = date(2026, 4, 3)
NEW_MANDATE_ON = date(2026, 4, 10)
TRANSFER_ON = date(2026, 4, 20)


def test_a_year_paid_by_sepa_with_one_return_suspension_and_reactivation(demo_catalog):
    DunningPolicy.objects.create(
        name="Standard", retry_days="3, 5, 7", suspend_after_days=14, final_after_days=45
    )
    customer = CustomerFactory(name="Boulangerie Martin", locale="fr")
    first = services.sepa_mandate_add(
        customer=customer,
        account_holder="Bernard Martin",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        accepted=True,
        today=date(2025, 12, 15),
        make_default=True,
    )
    subscription = subscription_services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2025, 12, 20),
    ).subscription
    schema = xmlschema.XMLSchema(str(sepa.SCHEMA))
    batches = []
    day = date(2026, 1, 1)
    while day <= date(2026, 12, 31):
        # The day's jobs, in beat's order: the run, the batch, reminders, then dunning. (The run
        # has work on the 1st only: the other days' runs are left out, for time.)
        if day.day == 1:
            billing_run(day=day)
        batch = services.sepa_batch_create(day=day)
        if batch is not None:
            assert schema.is_valid(batch.xml)
            batches.append(services.sepa_batch_mark_submitted(batch=batch))
        # The bank's report the day after each collection date.
        for debit in SepaDebit.objects.filter(
            status=SepaDebit.Status.SUBMITTED, batch__collection_date=day - timedelta(days=1)
        ):
            services.sepa_debit_collect(debit=debit, today=day)
        if day == RETURNED_ON:
            march = SepaDebit.objects.get(invoice__issue_date=date(2026, 3, 1))
            services.sepa_debit_return(debit=march, reason="MD01", day=day)
        if day == NEW_MANDATE_ON:
            services.sepa_mandate_add(
                customer=customer,
                account_holder="Bernard Martin",
                iban="DE02120300000000202051",
                bic="BYLADEM1001",
                accepted=True,
                today=day,
                make_default=True,
            )
        if day == TRANSFER_ON:
            march_invoice = Invoice.objects.get(issue_date=date(2026, 3, 1))
            statement = camt053(
                Tx("54.00", reference=march_invoice.payment_reference, booked="2026-04-20"),
                statement_id="STMT-2026-04-20",
            )
            services.statement_import(
                file=ContentFile(statement, name="camt053.xml"), actor=None, day=day
            )
        invoices_mark_overdue(day=day)
        services.dunning_run(day=day)
        if day == date(2026, 4, 13):
            assert Subscription.objects.get(pk=subscription.pk).has_access
        if day == date(2026, 4, 14):
            assert not Subscription.objects.get(pk=subscription.pk).has_access
        day += timedelta(days=1)
    # The bank's report of 2027-01-01: December's debit collected.
    services.sepa_debit_collect(
        debit=SepaDebit.objects.get(status=SepaDebit.Status.SUBMITTED), today=day
    )

    # Twelve invoices of 54.00, all paid by the end of the year.
    invoices = list(Invoice.objects.filter(subscription=subscription).order_by("issue_date"))
    assert [i.issue_date.month for i in invoices] == list(range(1, 13))
    assert {(i.total.amount, i.status) for i in invoices} == {(Decimal("54.00"), "paid")}
    # Twelve debits in twelve batches, each valid against the pain.008 schema: eleven collected,
    # March's returned MD01.
    debits = list(SepaDebit.objects.order_by("batch__collection_date"))
    assert len(batches) == 12 and len(debits) == 12
    assert [d.batch.collection_date for d in debits] == [i.due_date for i in invoices]
    assert [d.status for d in debits] == ["collected"] * 2 + ["returned"] + ["collected"] * 9
    assert sum(d.amount.amount for d in debits) == Decimal("648.00")
    # First debits of each mandate FRST, the others RCUR; the first mandate revoked by MD01.
    assert [d.sequence_type for d in debits] == ["FRST", "RCUR", "RCUR", "FRST"] + ["RCUR"] * 8
    assert [d.mandate_id for d in debits].count(first.pk) == 3
    first.refresh_from_db()
    assert (first.status, first.revoked_on) == (PaymentMethod.Status.REVOKED, RETURNED_ON)

    # March: debited, returned, reminded, suspended, paid by transfer, reactivated.
    march = invoices[2]
    assert (march.number, march.due_date, march.paid_on) == (
        "F2026-000003",
        date(2026, 3, 31),
        TRANSFER_ON,
    )
    payments = list(
        Payment.objects.filter(invoice=march)
        .order_by("pk")
        .values_list("method", "amount", "received_on")
    )
    assert payments == [
        ("sepa_debit", Decimal("54.00"), date(2026, 3, 31)),
        ("sepa_debit", Decimal("-54.00"), RETURNED_ON),
        ("bank_transfer", Decimal("54.00"), TRANSFER_ON),
    ]
    assert list(InvoiceReminder.objects.filter(invoice=march).values_list("level", "sent_on")) == [
        (1, RETURNED_ON),
        (2, date(2026, 4, 8)),
        (3, date(2026, 4, 15)),
    ]
    assert list(
        DunningStep.objects.filter(invoice=march)
        .order_by("day")
        .values_list("step", "attempt", "day")
    ) == [("retry", 1, date(2026, 4, 6)), ("suspended", 0, date(2026, 4, 14))]
    assert "Not debited again" in DunningStep.objects.get(step="retry").detail
    assert list(
        subscription.events.filter(kind__in=["suspended", "reactivated"])
        .order_by("pk")
        .values_list("kind", "effective_date")
    ) == [("suspended", date(2026, 4, 14)), ("reactivated", TRANSFER_ON)]
    # What the webhooks told, for March, in order.
    assert list(
        InvoiceEvent.objects.filter(invoice=march).order_by("pk").values_list("kind", "day")
    ) == [
        ("issued", date(2026, 3, 1)),
        ("payment_succeeded", date(2026, 3, 31)),
        ("paid", date(2026, 3, 31)),
        ("payment_failed", RETURNED_ON),
        ("overdue", RETURNED_ON),
        ("payment_succeeded", TRANSFER_ON),
        ("paid", TRANSFER_ON),
    ]
    # Only March ever went overdue; no other step was taken.
    assert DunningStep.objects.exclude(invoice=march).count() == 0
    subscription.refresh_from_db()
    assert (subscription.status, subscription.suspended_since) == ("active", None)
