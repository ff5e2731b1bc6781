"""Every change to a customer or a subscription: one function each, keyword arguments, in a
transaction, refusing bad input with a message a person can act on (and changing nothing then).

Each change appends to the subscription's timeline and returns a ChangeResult: the entry, its
effective date, the charges it causes now (from subscriptions/charges.py, the same derivation
billing uses) and a sentence for the person who asked. `dry_run=True` runs the same code and
rolls everything back: that is the preview shown before a confirmation.
"""

from subscriptions.services._base import ChangeResult, billing_due, check_po
from subscriptions.services.cancellation import (
    CancellationQuote,
    cancellation_quote,
    subscription_cancel,
    subscription_undo_cancellation,
)
from subscriptions.services.contracts import (
    ContractsReport,
    contract_cancellation,
    contracts_run,
    credit_balance,
    credits_consume,
    credits_expire,
    credits_grant,
    credits_topup,
    issues_schedule,
    subscription_contract_add,
    subscription_contract_cancel,
)
from subscriptions.services.coupons import coupon_redeem
from subscriptions.services.creation import commitment_for, seat_types_of, subscription_create
from subscriptions.services.customers import (
    CUSTOMER_FIELDS,
    customer_create,
    customer_update,
    devices_set,
)
from subscriptions.services.details import addon_add, subscription_set_po_reference
from subscriptions.services.plans import (
    plan_change_options,
    subscription_change_plan,
    subscription_fulfil,
    subscription_withdraw_plan_change,
)
from subscriptions.services.renewals import subscription_advance
from subscriptions.services.seats import seat_reduction_freeze, seats_add, seats_reduce
from subscriptions.services.suspension import subscription_reactivate, subscription_suspend
from subscriptions.services.usage import (
    UsageBatchError,
    UsageBatchResult,
    UsageLimitExceeded,
    usage_events_record,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "CancellationQuote",
    "ChangeResult",
    "ContractsReport",
    "UsageBatchError",
    "UsageBatchResult",
    "UsageLimitExceeded",
    "addon_add",
    "billing_due",
    "cancellation_quote",
    "check_po",
    "commitment_for",
    "contract_cancellation",
    "contracts_run",
    "coupon_redeem",
    "credit_balance",
    "credits_consume",
    "credits_expire",
    "credits_grant",
    "credits_topup",
    "customer_create",
    "customer_update",
    "devices_set",
    "issues_schedule",
    "plan_change_options",
    "seat_reduction_freeze",
    "seat_types_of",
    "seats_add",
    "seats_reduce",
    "subscription_advance",
    "subscription_cancel",
    "subscription_change_plan",
    "subscription_contract_add",
    "subscription_contract_cancel",
    "subscription_create",
    "subscription_fulfil",
    "subscription_reactivate",
    "subscription_set_po_reference",
    "subscription_suspend",
    "subscription_undo_cancellation",
    "subscription_withdraw_plan_change",
    "usage_events_record",
]
