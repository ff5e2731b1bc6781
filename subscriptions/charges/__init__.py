"""Charges derived from a subscription's timeline (DESIGN.md, "Billing as a function of the
timeline").

`due_charges(context, up_to=D)` lists every charge due up to D: the recurring charge of each
billing period (in advance, on its start), and the one-off charges of the changes (seats added,
upgrades, add-ons: prorated; penalties: at once). Each charge carries a key, unique within its
subscription, that billing stores on the invoice line under a unique constraint: what is due
minus what was invoiced is what to invoice, so invoicing twice bills nothing twice.

Each charge also says why it costs what it costs (`rule`): the quantity, the price and its
period, the proration fraction, the penalty formula, each discount.

The package, by concern:
- `engine`: the charges (recurring, prorated changes, penalties), pure over a context;
- `usage`: usage charges, in arrears (billing-rules §12), and the current period's estimate;
- `contracts`: the issues of issue-based contracts and credits bought (billing-rules §8);
- `lines`: the priced lines of a state for one period (sheets, quantities, memoized);
- `inputs`: what the engine reads, as plain values (`SubscriptionContext`, `DiscountRule`);
- `loading`: the one way to build contexts (`contexts_for`), for the run, pages and services;
- `book`: the catalog rows pricing needs, loaded once (`PriceBook`), and its memo;
- `wording`: the figures and formulas that explain a price, in the active language.
"""

from subscriptions.charges.book import PriceBook
from subscriptions.charges.engine import (
    ISSUES,
    ONE_OFF,
    PENALTY,
    PRORATION,
    RECURRING,
    TOPUP,
    USAGE,
    Charge,
    billing_periods,
    due_charges,
    event_charges,
    period_charges,
    recurring_charges,
)
from subscriptions.charges.inputs import DiscountRule, SubscriptionContext
from subscriptions.charges.lines import Line, sheet_amount, state_lines
from subscriptions.charges.loading import context_of, contexts_for
from subscriptions.charges.wording import penalty_rule

__all__ = [
    "ISSUES",
    "ONE_OFF",
    "PENALTY",
    "PRORATION",
    "RECURRING",
    "TOPUP",
    "USAGE",
    "Charge",
    "DiscountRule",
    "Line",
    "PriceBook",
    "SubscriptionContext",
    "billing_periods",
    "context_of",
    "contexts_for",
    "due_charges",
    "event_charges",
    "penalty_rule",
    "period_charges",
    "recurring_charges",
    "sheet_amount",
    "state_lines",
]
