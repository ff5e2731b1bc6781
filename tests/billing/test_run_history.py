"""The nightly run writes the same audit rows (django-simple-history) as the services do."""

from datetime import date

import pytest
from django.urls import reverse

from billing.services import billing_run
from subscriptions import services
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def test_a_nightly_renewal_is_in_the_subscription_history(office):
    assert office.renewal_date == date(2028, 1, 1)
    before = office.history.count()
    billing_run(day=date(2028, 1, 1))
    office.refresh_from_db()
    assert office.renewal_date == date(2030, 1, 1)
    rows = list(office.history.order_by("-history_date", "-history_id"))
    assert len(rows) == before + 1
    latest, previous = rows[0], rows[1]
    assert (previous.renewal_date, latest.renewal_date) == (date(2028, 1, 1), date(2030, 1, 1))
    assert latest.history_type == "~"
    assert latest.history_user_id is None
    assert latest.history_change_reason == "nightly renewal"
    # The historical row is the whole subscription as written, not only the changed fields,
    # less the run's cursors (the current period, the next billing date), not audited.
    for field in Subscription.history.model.tracked_fields:
        assert getattr(latest, field.attname) == getattr(office, field.attname), field.name
    for cursor in ("next_billing_date", "current_period_start", "current_period_end"):
        assert not hasattr(latest, cursor)
    # What the history shows is what a service's change shows: old and new values.
    delta = latest.diff_against(previous)
    assert ("renewal_date", date(2028, 1, 1), date(2030, 1, 1)) in {
        (c.field, c.old, c.new) for c in delta.changes
    }


@pytest.mark.parametrize(
    ("language", "title", "reason", "author"),
    [
        ("fr", "<h1>Historique : ", "renouvellement nocturne", "Système"),
        ("en", "<h1>History: ", "nightly renewal", "System"),
    ],
)
def test_the_admin_history_names_the_job_and_its_reason_in_the_readers_language(
    office, operator_client, language, title, reason, author
):
    billing_run(day=date(2028, 1, 1))
    operator_client.cookies["django_language"] = language
    url = reverse("admin:subscriptions_subscription_history", args=[office.pk])

    page = operator_client.get(url).content.decode()

    table = page[page.index('id="change-history"') :]
    row = table[: table.index("</tr>", table.index("<tbody>"))]  # the newest row
    assert title in page
    assert reason in row and author in row
    assert "nightly renewal" not in row or language == "en"
    assert '<div class="history-scroll">' in page  # scrolls in its box on a phone


def test_the_advance_of_one_subscription_is_in_its_history_too(office):
    before = office.history.count()
    services.subscription_advance(subscription=office, today=date(2028, 1, 1))
    office.refresh_from_db()
    assert office.renewal_date == date(2030, 1, 1)
    assert office.history.count() == before + 1
    assert office.history.latest("history_date").renewal_date == date(2030, 1, 1)


def test_a_run_that_changes_nothing_audited_writes_no_history(office):
    billing_run(day=date(2026, 1, 1))
    count = office.history.count()
    billing_run(day=date(2026, 1, 1))  # again: nothing left to do
    assert office.history.count() == count


def test_billing_a_period_writes_no_history(office):
    """A billing date passing (the next billing date moves on, nothing a person changed)
    leaves the audit history as it was: only renewals, ends and people's changes are in it."""
    billing_run(day=date(2026, 1, 1))
    office.refresh_from_db()
    count, billed_until = office.history.count(), office.next_billing_date
    billing_run(day=billed_until)  # the next period: invoiced, not renewed
    office.refresh_from_db()
    assert office.next_billing_date > billed_until
    assert office.invoices.filter(period_start=billed_until).exists()
    assert office.history.count() == count
