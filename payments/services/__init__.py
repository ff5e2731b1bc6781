"""Payment methods, card payments through a gateway, refunds, customer credit, bank statements
and SEPA direct debit: every write of the payments app, keyword-only,
each in a transaction; a refusal is an ApplicationError that changes nothing.

billing-rules §13: a refund never exceeds what was paid and each refund is a credit note and a
refund payment; a customer's credit (credit notes not refunded, over-payments) is applied to its
next invoices.
"""

from payments.services.cards import (
    card_add,
    card_details,
    card_method_save,
    card_payment_create,
    card_payment_retry,
    card_payment_to_refund,
    card_refund_send,
    card_tokenize,
    gateway_webhook_receive,
)
from payments.services.credit import credit_apply, credit_balance, credits_apply_due
from payments.services.debits import (
    SepaReturn,
    SepaReturnsImport,
    sepa_batch_cancel,
    sepa_batch_create,
    sepa_batch_mark_submitted,
    sepa_creditor,
    sepa_debit_collect,
    sepa_debit_retry,
    sepa_debit_return,
    sepa_returns_import,
    sepa_returns_record,
)
from payments.services.dunning import (
    DunningReport,
    dunning_email_send,
    dunning_emails_pending,
    dunning_run,
)
from payments.services.methods import (
    payment_method_revoke,
    payment_method_set_default,
    sepa_account_check,
    sepa_mandate_add,
)
from payments.services.refunds import refund_create, refund_mark_paid
from payments.services.statements import (
    statement_entry_ignore,
    statement_entry_match,
    statement_import,
)

__all__ = [
    "DunningReport",
    "SepaReturn",
    "SepaReturnsImport",
    "card_add",
    "card_details",
    "card_method_save",
    "card_payment_create",
    "card_payment_retry",
    "card_payment_to_refund",
    "card_refund_send",
    "card_tokenize",
    "credit_apply",
    "credit_balance",
    "credits_apply_due",
    "dunning_email_send",
    "dunning_emails_pending",
    "dunning_run",
    "gateway_webhook_receive",
    "payment_method_revoke",
    "payment_method_set_default",
    "refund_create",
    "refund_mark_paid",
    "sepa_account_check",
    "sepa_batch_cancel",
    "sepa_batch_create",
    "sepa_batch_mark_submitted",
    "sepa_creditor",
    "sepa_debit_collect",
    "sepa_debit_retry",
    "sepa_debit_return",
    "sepa_mandate_add",
    "sepa_returns_import",
    "sepa_returns_record",
    "statement_entry_ignore",
    "statement_entry_match",
    "statement_import",
]
