"""More edge cases: an upgrade on the very day a commitment renews, and the timeline that is never
edited once written."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceLine
from billing.services import billing_run
from catalog.models import TaxRate, UpgradeGroup
from subscriptions import services
from subscriptions.models import SubscriptionEvent
from tests.subscriptions.factories import CustomerFactory, monthly_plan, term

pytestmark = pytest.mark.django_db
D = Decimal
RENEWAL = date(2027, 3, 1)


@pytest.fixture
def yearly_small(demo_catalog):
    """A yearly plan at 100.00 EUR in a one-year renewable term, from 2026-03-01 (its commitment
    renews on 2027-03-01, also the start of its second year); a 300.00 plan above it."""
    yearly = term(
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        auto_renew=True,
        tax_rate=TaxRate.objects.get(code="FR-VAT-20"),
    )
    group = UpgradeGroup.objects.create(code="yearly", name="Yearly")
    small = monthly_plan(
        "100.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=1
    )
    large = monthly_plan(
        "300.00", period=(1, "year"), term=yearly, upgrade_group=group, upgrade_rank=2
    )
    subscription = services.subscription_create(
        customer=CustomerFactory(), plan=small, start_date=date(2026, 3, 1), today=date(2026, 3, 1)
    ).subscription
    assert (subscription.commitment_end, subscription.renewal_date) == (RENEWAL, RENEWAL)
    assert billing_run(day=date(2026, 3, 1)).invoices == 1
    return subscription, small, large


def lines_from(subscription, day):
    return sorted(
        (line.kind, line.period_start, line.period_end, line.quantity, line.net.amount)
        for line in InvoiceLine.objects.filter(subscription=subscription, charge_date__gte=day)
    )


def test_an_upgrade_on_the_day_of_a_commitment_renewal_is_billed_once(yearly_small):
    subscription, _small, large = yearly_small

    # Given an upgrade asked on the renewal day, before that day's billing run
    result = services.subscription_change_plan(subscription=subscription, plan=large, today=RENEWAL)
    assert result.effective_date == RENEWAL
    [upgrade] = result.charges
    assert (upgrade.kind, upgrade.net, upgrade.rule) == (
        "proration",
        D("200.00"),
        "(300.00 − 100.00) × 366/366",  # 2028 is a leap year,
    )

    # When the billing run of that day runs, then runs again
    first, second = billing_run(day=RENEWAL), billing_run(day=RENEWAL)

    # Then it renews once (the change itself brought the subscription to its renewal day, as
    # the run would: RULES §1, the same answer at any hour, so the run finds it done), and the
    # new year costs the new price once: the recurring charge as the year starts (old plan) plus
    # the whole-year difference, on its own invoice
    assert (first.renewals, first.invoices, first.lines) == (0, 2, 2)
    assert (second.renewals, second.invoices, second.lines, second.credit_notes) == (0, 0, 0, 0)
    assert lines_from(subscription, RENEWAL) == [
        ("proration", RENEWAL, date(2028, 3, 1), D("1"), D("200.00")),
        ("recurring", RENEWAL, date(2028, 3, 1), D("1"), D("100.00")),
    ]
    invoices = Invoice.objects.filter(subscription=subscription, issue_date=RENEWAL)
    assert sorted(i.total.amount for i in invoices) == [D("120.00"), D("240.00")]
    assert subscription.events.filter(kind="renewed", effective_date=RENEWAL).count() == 1
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.commitment_end) == (large, date(2028, 3, 1))

    # And the following year is billed at the new price alone
    billing_run(day=date(2028, 3, 1))
    assert lines_from(subscription, date(2028, 3, 1)) == [
        ("recurring", date(2028, 3, 1), date(2029, 3, 1), D("1"), D("300.00"))
    ]


def test_an_upgrade_after_the_renewal_run_of_that_day_is_billed_once(yearly_small):
    subscription, _small, large = yearly_small

    # Given the renewal already billed at the old price on the renewal day
    renewal = billing_run(day=RENEWAL)
    assert (renewal.renewals, renewal.invoices) == (1, 1)

    # When the customer upgrades later that day and billing runs twice more
    services.subscription_change_plan(subscription=subscription, plan=large, today=RENEWAL)
    first, second = billing_run(day=RENEWAL), billing_run(day=RENEWAL)

    # Then only the whole-year difference is added, once
    assert (first.invoices, first.lines, first.renewals) == (1, 1, 0)
    assert (second.invoices, second.lines, second.credit_notes) == (0, 0, 0)
    assert lines_from(subscription, RENEWAL) == [
        ("proration", RENEWAL, date(2028, 3, 1), D("1"), D("200.00")),
        ("recurring", RENEWAL, date(2028, 3, 1), D("1"), D("100.00")),
    ]
    assert subscription.events.filter(kind="renewed").count() == 1


# The timeline is append-only ---------------------------------------------------------------------


@pytest.fixture
def hosting(demo_catalog):
    from catalog.models import Plan

    return services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription


@pytest.mark.parametrize(
    ("field", "value", "update_fields"),
    [
        ("effective_date", date(2026, 12, 1), None),
        ("data", {"plan": 0}, None),
        ("kind", SubscriptionEvent.Kind.ENDED, ["kind"]),
        ("channel", "api", ["channel", "revoked_by"]),
    ],
)
def test_a_past_timeline_entry_is_never_edited(hosting, field, value, update_fields):
    entry = hosting.events.get(kind="created")
    before = SubscriptionEvent.objects.filter(pk=entry.pk).values().get()
    setattr(entry, field, value)
    with pytest.raises(ValueError, match="timeline entries are never edited"):
        if update_fields is None:
            entry.save()
        else:
            entry.save(update_fields=update_fields)
    assert SubscriptionEvent.objects.filter(pk=entry.pk).values().get() == before


def test_only_revoked_by_may_be_set_on_an_existing_entry(hosting):
    cancellation = services.subscription_cancel(subscription=hosting, today=date(2026, 11, 10))
    entry = cancellation.event
    undo = services.subscription_undo_cancellation(subscription=hosting, today=date(2026, 11, 15))
    entry.refresh_from_db()
    assert entry.revoked_by == undo.event  # the service marks it through the one allowed save

    # Saving with update_fields=["revoked_by"] writes that column only: other edits are dropped.
    other = services.subscription_cancel(subscription=hosting, today=date(2026, 11, 20)).event
    before = SubscriptionEvent.objects.filter(pk=other.pk).values().get()
    other.effective_date = date(2030, 1, 1)
    other.data = {"tampered": True}
    marker = SubscriptionEvent.objects.create(
        subscription=hosting, kind="cancellation_undone", effective_date=date(2026, 11, 20)
    )
    other.revoked_by = marker
    other.save(update_fields=["revoked_by"])
    after = SubscriptionEvent.objects.filter(pk=other.pk).values().get()
    assert after == before | {"revoked_by_id": marker.pk}

    # A revocation is for good: an entry already revoked cannot be revoked again (or undone).
    again = SubscriptionEvent.objects.create(
        subscription=hosting, kind="cancellation_undone", effective_date=date(2026, 11, 21)
    )
    other.revoked_by = again
    with pytest.raises(ValueError, match="already revoked"):
        other.save(update_fields=["revoked_by"])
    other.revoked_by = None
    with pytest.raises(ValueError, match="never edited"):
        other.save(update_fields=["revoked_by"])
    assert SubscriptionEvent.objects.get(pk=other.pk).revoked_by_id == marker.pk
