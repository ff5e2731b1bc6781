"""A term's ledger account and invoice item type belong to its penalty line only (issue 11)."""

from datetime import date

import pytest

from catalog.models import Plan, Term
from subscriptions import services
from subscriptions.charges import context_of, due_charges
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_monthly_line_has_the_products_account_and_the_penalty_line_the_terms(demo_catalog):
    """billing-rules example 4.2 on the office suite: its term "penalty-24m" carries the ledger
    account 758000 and the item type "penalty", which are the penalty's; the monthly line is the
    product's (706300, no item type). docs/billing-rules.md, "Invoices"."""
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    services.subscription_cancel(subscription=subscription, today=date(2026, 10, 1))
    charges = due_charges(context_of(subscription), up_to=date(2026, 10, 1))
    monthly = [c for c in charges if c.kind == "recurring"]
    [penalty] = [c for c in charges if c.kind == "penalty"]
    assert {(c.ledger_account, c.invoice_item_type) for c in monthly} == {("706300", "")}
    assert (penalty.ledger_account, penalty.invoice_item_type) == ("758000", "penalty")
    assert str(penalty.net) == "140.05"
    # The tax rate still comes from the term while products have none (20 % here).
    assert {c.tax_rate for c in charges} == {penalty.tax_rate} and str(penalty.tax_rate) == "20.00"


def test_an_upgrade_line_has_the_new_plans_account(demo_catalog):
    """billing-rules example 6.3: the upgrade's prorated line is Hosting B's (706200), not the
    term's."""

    Term.objects.filter(code="hosting").update(ledger_account="758000", invoice_item_type="penalty")
    subscription = services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    result = services.subscription_change_plan(
        subscription=subscription, plan=Plan.objects.get(code="hosting-b"), today=date(2026, 11, 21)
    )
    [upgrade] = result.charges
    assert str(upgrade.net) == "33.33"
    assert (upgrade.ledger_account, upgrade.invoice_item_type) == ("706200", "")
    assert {(c.ledger_account, c.invoice_item_type) for c in result.next_charges} == {
        ("706200", "")
    }
