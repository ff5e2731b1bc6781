"""A trial's end in the billing run, and the whole daily chain run twice at once.

billing-rules §4: a trial delays the first charge to the end of the trial. DESIGN: every job of the
daily chain (billing, overdue reminders, notice reminders, coupon expiry) is safe to run twice,
or in two workers at once.
"""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceEvent, InvoiceLine, InvoiceReminder, NoticeReminder
from billing.services import billing_run
from billing.tasks import run_chain_now
from catalog import services as catalog_services
from catalog.models import CouponCampaign, CouponCode, Plan, SeatType
from demo.catalog import seed_catalog
from subscriptions import services
from subscriptions.models import Subscription
from tests.catalog.factories import CouponCampaignFactory
from tests.concurrency import postgresql_only, run_together
from tests.subscriptions.factories import CustomerFactory

D = Decimal


# A trial ending in the billing run ------------------------------------------------------------


@pytest.fixture
def backup(demo_catalog):
    """Cloud backup (30.00 EUR a month after a 14-day trial), started on 2026-01-01."""
    plan = Plan.objects.get(code="cloud-backup-monthly")
    assert (plan.trial_count, plan.trial_unit) == (14, "day")
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=plan,
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    assert subscription.status == Subscription.Status.TRIAL
    assert subscription.trial_end == date(2026, 1, 15)
    return subscription


@pytest.mark.django_db
def test_the_run_bills_nothing_during_the_trial(backup):
    for day in (date(2026, 1, 1), date(2026, 1, 8), date(2026, 1, 14)):
        report = billing_run(day=day)
        assert (report.invoices, report.lines) == (0, 0), day
    assert not Invoice.objects.exists()
    backup.refresh_from_db()
    assert backup.status == Subscription.Status.TRIAL
    assert backup.next_billing_date == date(2026, 1, 15)


@pytest.mark.django_db
def test_the_run_on_the_trial_end_activates_and_issues_the_first_invoice(backup):
    report = billing_run(day=date(2026, 1, 15))

    assert report.invoices == 1
    backup.refresh_from_db()
    assert backup.status == Subscription.Status.ACTIVE
    assert backup.next_billing_date == date(2026, 2, 15)
    invoice = Invoice.objects.get()
    assert (invoice.subscription, invoice.status, invoice.number) == (
        backup,
        "issued",
        "F2026-000001",
    )
    assert invoice.issue_date == date(2026, 1, 15)
    # The first period starts at the trial end, not at the subscription's start.
    assert (invoice.period_start, invoice.period_end) == (date(2026, 1, 15), date(2026, 2, 15))
    assert invoice.billing_key == "rec:2026-01-15"
    [line] = invoice.lines.all()
    assert (line.kind, line.period_start, line.period_end) == (
        "recurring",
        date(2026, 1, 15),
        date(2026, 2, 15),
    )
    assert line.net.amount == D("30.00")
    # The next day, nothing more; the second period on its own date.
    assert billing_run(day=date(2026, 1, 16)).invoices == 0
    assert billing_run(day=date(2026, 2, 15)).invoices == 1
    assert list(Invoice.objects.order_by("id").values_list("period_start", flat=True)) == [
        date(2026, 1, 15),
        date(2026, 2, 15),
    ]


@pytest.mark.django_db
def test_a_late_run_still_starts_the_first_period_at_the_trial_end(backup):
    billing_run(day=date(2026, 1, 20))
    backup.refresh_from_db()
    assert backup.status == Subscription.Status.ACTIVE
    invoice = Invoice.objects.get()
    assert invoice.issue_date == date(2026, 1, 20)
    assert (invoice.period_start, invoice.period_end) == (date(2026, 1, 15), date(2026, 2, 15))


# The daily chain, run twice at once -----------------------------------------------------------

DAY = date(2026, 10, 1)
# What the chain has to do on DAY, once (see `day_with_work_for_every_job`).
EXPECTED = {
    "invoices": 3,  # office for October, seats for the fourth quarter, backup after its trial
    "overdue": 11,  # office January to August, seats January, April and July: due before DAY
    "reminders": 11,  # one each, at the highest level reached
    "notices": 1,  # seats: renewal 2027-01-01, 90 days of notice, deadline 2026-10-03
    "expired_campaigns": 1,
}


def day_with_work_for_every_job() -> dict:
    """Data that gives each job of the chain something to do on DAY."""
    seed_catalog()
    gateway = SeatType.objects.get(code="gateway")
    office = services.subscription_create(  # 45.00 EUR a month, 24-month term, no notice
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
    ).subscription
    seats = services.subscription_create(  # quarterly, one year, 90 days of notice
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={gateway: 4},
        service_period_years=1,
    ).subscription
    backup = services.subscription_create(  # its 14-day trial ends on DAY
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="cloud-backup-monthly"),
        start_date=date(2026, 9, 17),
        today=date(2026, 9, 17),
    ).subscription
    # Monthly runs up to September, nothing paid: the invoices due before DAY are late on DAY.
    for month in range(1, 10):
        billing_run(day=date(2026, month, 1))
    assert Invoice.objects.filter(due_date__lt=DAY).count() == EXPECTED["overdue"]
    assert seats.renewal_date == date(2027, 1, 1)
    campaign = CouponCampaignFactory(
        code_template="autumn_##", range_start=10, valid_until=date(2026, 9, 30)
    )
    catalog_services.coupon_codes_generate(campaign=campaign)  # five active codes
    return {"office": office, "seats": seats, "backup": backup, "campaign": campaign}


def totals(results: list[dict]) -> dict:
    return {
        "invoices": sum(r["report"].invoices for r in results),
        "overdue": sum(r["overdue"] for r in results),
        "reminders": sum(r["reminders"] for r in results),
        "notices": sum(r["notices"] for r in results),
        "expired_campaigns": sum(r["expired_campaigns"] for r in results),
    }


def assert_each_job_done_once(data: dict) -> None:
    invoices_on_day = Invoice.objects.filter(issue_date=DAY)
    assert invoices_on_day.count() == EXPECTED["invoices"]
    assert sorted(invoices_on_day.values_list("subscription", "billing_key")) == sorted(
        [
            (data["office"].pk, "rec:2026-10-01"),
            (data["seats"].pk, "rec:2026-10-01"),
            (data["backup"].pk, "rec:2026-10-01"),
        ]
    )
    assert (
        InvoiceLine.objects.values("subscription", "charge_key").distinct().count()
        == InvoiceLine.objects.count()
    )
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1)), "numbers must be gapless"
    data["backup"].refresh_from_db()
    assert data["backup"].status == Subscription.Status.ACTIVE

    assert Invoice.objects.filter(status="overdue").count() == EXPECTED["overdue"]
    overdue_events = InvoiceEvent.objects.filter(kind="overdue")
    assert overdue_events.count() == EXPECTED["overdue"]
    assert overdue_events.values("invoice").distinct().count() == EXPECTED["overdue"]
    assert InvoiceReminder.objects.count() == EXPECTED["reminders"]
    assert InvoiceReminder.objects.values("invoice").distinct().count() == EXPECTED["reminders"]

    [notice] = NoticeReminder.objects.all()
    assert (notice.subscription_id, notice.renewal_date, notice.deadline, notice.sent_on) == (
        data["seats"].pk,
        date(2027, 1, 1),
        date(2026, 10, 3),
        DAY,
    )

    campaign = CouponCampaign.objects.get(pk=data["campaign"].pk)
    assert campaign.status == CouponCampaign.Status.EXPIRED
    assert set(campaign.codes.values_list("status", flat=True)) == {"expired"}
    # Expired once: one audit row for the campaign's expiry, one per code.
    assert campaign.history.filter(history_change_reason="expired").count() == 1
    assert CouponCode.history.filter(campaign=campaign, status="expired").count() == 5


@pytest.mark.django_db
def test_the_chain_run_once_does_every_job_and_a_second_run_nothing():
    data = day_with_work_for_every_job()

    assert totals([run_chain_now(DAY)]) == EXPECTED
    assert_each_job_done_once(data)

    assert totals([run_chain_now(DAY)]) == dict.fromkeys(EXPECTED, 0)
    assert_each_job_done_once(data)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_chain_run_twice_at_once_does_every_job_once():
    data = day_with_work_for_every_job()

    results, errors = run_together(lambda: run_chain_now(DAY), lambda: run_chain_now(DAY))

    assert errors == [None, None]
    # Between them, the two runs did each piece of work once, and the result is the same as
    # one run's.
    assert totals(results) == EXPECTED
    assert_each_job_done_once(data)
    # And a third run, after both, finds nothing left.
    assert totals([run_chain_now(DAY)]) == dict.fromkeys(EXPECTED, 0)
    assert_each_job_done_once(data)
