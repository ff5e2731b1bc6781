"""`manage.py seed_demo` loads a living back office and is safe to run again."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from core.pricing import invoice_totals
from subscriptions.charges import context_of, recurring_charges
from subscriptions.models import Customer, Subscription, SubscriptionEvent

pytestmark = pytest.mark.django_db


def counts():
    return (
        Customer.objects.count(),
        Subscription.objects.count(),
        SubscriptionEvent.objects.count(),
    )


def test_seed_demo_twice_changes_nothing_and_prints_the_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()
    call_command("seed_demo", stdout=StringIO())
    assert counts() == first
    assert "operator" in out.getvalue() and "cadence-demo" in out.getvalue()


def test_the_demo_partner_subscription_is_rules_example_6_1():
    call_command("seed_demo", stdout=StringIO())
    subscription = Subscription.objects.get(customer__name="Boulangerie Martin")
    context = context_of(subscription)
    [quarter] = recurring_charges(context, context.period_of(date(2026, 1, 1)))
    totals = invoice_totals([(quarter.tax_rate, quarter.net)], "EUR")
    assert (quarter.net, totals.gross) == (Decimal("108.00"), Decimal("129.60"))
