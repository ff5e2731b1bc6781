"""Demo invoices: the billing run, day by day, from the earliest demo start to today (no emails),
and a few payments. Idempotent like the run itself."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Min

from billing.models import Invoice
from billing.services import billing_run, invoices_mark_overdue, payment_record
from core import clock
from subscriptions.models import Subscription


def seed_invoices(today: date | None = None) -> int:
    today = today or clock.today()
    # Bill day by day as the nightly job would have, jumping straight to the days with work.
    while True:
        day = Subscription.objects.filter(next_billing_date__lte=today).aggregate(
            day=Min("next_billing_date")
        )["day"]
        if day is None:
            break
        billing_run(day=day, send_emails=False)
    billing_run(day=today, send_emails=False)  # renewals and status changes due today
    # Customers paid their older invoices twelve days after issue; the recent ones stay open
    # (and some overdue, with their reminders), as in any real ledger.
    # Nordic Devices has not paid what it bought for Fjord Logistics lately (billing-rules §9: the
    # partner is invoiced).
    open_ones = Invoice.objects.filter(
        end_customer__name="Fjord Logistics", issue_date__gte=today - timedelta(days=90)
    )
    for invoice in Invoice.objects.filter(
        kind="invoice", issue_date__lt=today - timedelta(days=45)
    ).exclude(pk__in=open_ones):
        if invoice.status in Invoice.OPEN_STATUSES and not invoice.payments.exists():
            payment_record(
                invoice=invoice,
                amount=invoice.total.amount,
                method="bank_transfer",
                received_on=min(invoice.issue_date + timedelta(days=12), today),
                reference=f"VIR {invoice.number}",
            )
    invoices_mark_overdue(day=today)
    return Invoice.objects.count()
