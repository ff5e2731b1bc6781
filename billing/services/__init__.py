"""Billing services: the run, numbering, corrections, payments, reminders and emails."""

from billing.services.closing import month_close, month_reopen
from billing.services.corrections import (
    invoice_cancel_by_credit_note,
    invoice_credit_amount,
    invoice_issue,
    settle_credited_invoices,
)
from billing.services.einvoices import (
    EInvoiceFile,
    einvoice_file,
    einvoice_generate,
    einvoice_status_record,
    einvoices_generate_pending,
)
from billing.services.emails import (
    invoice_email_send,
    invoice_emails_send,
    notice_email_send,
    payment_failed_emails_send,
    reminder_email_send,
)
from billing.services.notices import notice_reminders_due
from billing.services.numbering import numbering_recover
from billing.services.payments import (
    PaymentBook,
    PaymentToRecord,
    invoice_write_off,
    invoices_mark_overdue,
    payment_failed_record,
    payment_from_credit,
    payment_record,
    payment_reverse,
    payments_record_many,
    suspension_lift,
)
from billing.services.run import (
    RunReport,
    billing_chunk,
    billing_run,
    due_chunks,
    due_subscriptions,
    invoice_preview,
    subscription_invoice_now,
)

__all__ = [
    "EInvoiceFile",
    "PaymentBook",
    "PaymentToRecord",
    "RunReport",
    "billing_chunk",
    "billing_run",
    "due_chunks",
    "due_subscriptions",
    "einvoice_file",
    "einvoice_generate",
    "einvoice_status_record",
    "einvoices_generate_pending",
    "invoice_cancel_by_credit_note",
    "invoice_credit_amount",
    "invoice_email_send",
    "invoice_emails_send",
    "invoice_issue",
    "invoice_preview",
    "invoice_write_off",
    "invoices_mark_overdue",
    "month_close",
    "month_reopen",
    "notice_email_send",
    "notice_reminders_due",
    "numbering_recover",
    "payment_failed_emails_send",
    "payment_failed_record",
    "payment_from_credit",
    "payment_record",
    "payment_reverse",
    "payments_record_many",
    "reminder_email_send",
    "settle_credited_invoices",
    "subscription_invoice_now",
    "suspension_lift",
]
