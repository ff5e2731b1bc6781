"""Issuing an operator's manual draft: the service and the admin action.

A draft has no number; issuing gives it the next number of its series and year (gapless,
shared with the billing run), its issue date and its due date. Refusals change nothing.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from billing.models import Invoice, InvoiceEvent, InvoiceLine, InvoiceSequence
from billing.services import billing_run, invoice_issue
from core.errors import ApplicationError
from tests.billing.builders import manual_draft

pytestmark = pytest.mark.django_db
D = Decimal
CHANGELIST = reverse("admin:billing_invoice_changelist")


def numbers() -> list[tuple[str | None, str]]:
    return list(Invoice.objects.order_by("id").values_list("number", "status"))


# The service ---------------------------------------------------------------------------------


def test_issuing_a_draft_gives_the_next_number_and_its_dates():
    first, second = manual_draft(), manual_draft(net="50.00")
    assert (first.number, first.status, first.issue_date) == (None, "draft", None)

    issued = invoice_issue(invoice=first, day=date(2026, 3, 10))

    first.refresh_from_db()
    assert issued.number == first.number == "F2026-000001"
    assert (first.status, first.series, first.year, first.sequence) == ("issued", "F", 2026, 1)
    assert first.issue_date == date(2026, 3, 10)
    assert first.due_date == date(2026, 3, 10) + timedelta(days=settings.INVOICE_DUE_DAYS)
    assert first.due_date == date(2026, 4, 9)  # 30 days by default
    assert first.issued_at is not None
    assert first.total.amount == D("120.00")  # issuing numbers, it does not recompute
    second.refresh_from_db()
    assert (second.number, second.status) == (None, "draft")  # only the one asked for

    invoice_issue(invoice=second, day=date(2026, 3, 11))

    second.refresh_from_db()
    assert (second.number, second.sequence, second.issue_date) == (
        "F2026-000002",
        2,
        date(2026, 3, 11),
    )
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == 2
    assert list(
        InvoiceEvent.objects.order_by("id").values_list("invoice__number", "kind", "day")
    ) == [
        ("F2026-000001", "issued", date(2026, 3, 10)),
        ("F2026-000002", "issued", date(2026, 3, 11)),
    ]


def test_a_manual_invoice_follows_the_billing_runs_numbers(office):
    billing_run(day=date(2026, 2, 1))  # January and February: F2026-000001 and 000002
    draft = manual_draft(office.customer)

    invoice_issue(invoice=draft, day=date(2026, 2, 3))

    draft.refresh_from_db()
    assert draft.number == "F2026-000003"
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_each_year_starts_its_own_sequence():
    late, early = manual_draft(), manual_draft()
    invoice_issue(invoice=late, day=date(2026, 12, 31))
    invoice_issue(invoice=early, day=date(2027, 1, 1))
    assert [n for n, _status in numbers()] == ["F2026-000001", "F2027-000001"]


def test_a_draft_without_a_line_is_refused_and_stays_a_draft():
    empty = manual_draft(with_line=False)

    with pytest.raises(
        ApplicationError, match=re.escape("An invoice needs at least one line before it is issued.")
    ):
        invoice_issue(invoice=empty, day=date(2026, 3, 10))

    empty.refresh_from_db()
    assert (empty.status, empty.number, empty.sequence, empty.issue_date) == (
        "draft",
        None,
        None,
        None,
    )
    assert not InvoiceSequence.objects.filter(last_number__gt=0).exists()  # no number used up
    assert not InvoiceEvent.objects.exists()
    # The refusal took no number: the next issued draft is the first of the year.
    other = manual_draft()
    invoice_issue(invoice=other, day=date(2026, 3, 10))
    other.refresh_from_db()
    assert other.number == "F2026-000001"


def test_a_line_in_another_currency_is_refused():
    draft = manual_draft()
    InvoiceLine.objects.filter(invoice=draft).update(currency="CAD")

    with pytest.raises(
        ApplicationError, match=r"Every line of an invoice is in its currency \(EUR\)"
    ):
        invoice_issue(invoice=draft, day=date(2026, 3, 10))

    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)


def test_issuing_twice_is_refused_and_keeps_the_number():
    draft = manual_draft()
    invoice_issue(invoice=draft, day=date(2026, 3, 10))

    with pytest.raises(
        ApplicationError, match=re.escape("The invoice F2026-000001 is already issued.")
    ):
        invoice_issue(invoice=draft, day=date(2026, 3, 20))

    draft.refresh_from_db()
    assert (draft.number, draft.issue_date) == ("F2026-000001", date(2026, 3, 10))
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == 1
    assert InvoiceEvent.objects.filter(kind="issued").count() == 1


# The admin action ----------------------------------------------------------------------------


def issue_in_admin(client, invoices):
    return client.post(
        CHANGELIST,
        {"action": "issue_drafts", "_selected_action": [i.pk for i in invoices]},
        follow=True,
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


@time_machine.travel(date(2026, 5, 4))
def test_the_operator_issues_the_selected_drafts_today(client, operator):
    client.force_login(operator)  # logged in on the travelled date
    first, second = manual_draft(), manual_draft(net="10.00")

    response = issue_in_admin(client, [first, second])

    assert response.status_code == 200
    assert messages_of(response) == [("success", "2 invoice(s) issued.")]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == ("F2026-000001", "F2026-000002")  # in id order
    assert {first.status, second.status} == {"issued"}
    assert first.issue_date == second.issue_date == date(2026, 5, 4)
    assert first.due_date == date(2026, 6, 3)


@time_machine.travel(date(2026, 5, 4))
def test_the_admin_action_reports_each_refusal_and_issues_the_rest(client, operator):
    client.force_login(operator)
    issued = manual_draft()
    invoice_issue(invoice=issued, day=date(2026, 5, 1))
    empty = manual_draft(with_line=False)
    good = manual_draft()

    response = issue_in_admin(client, [issued, empty, good])

    assert sorted(messages_of(response)) == sorted(
        [
            ("error", "F2026-000001: The invoice F2026-000001 is already issued."),
            (
                "error",
                f"draft #{empty.pk}: An invoice needs at least one line before it is issued.",
            ),
            ("success", "1 invoice(s) issued."),
        ]
    )
    empty.refresh_from_db()
    good.refresh_from_db()
    assert (empty.status, empty.number) == ("draft", None)
    assert (good.status, good.number, good.issue_date) == (
        "issued",
        "F2026-000002",
        date(2026, 5, 4),
    )
    issued.refresh_from_db()
    assert issued.issue_date == date(2026, 5, 1)  # untouched by the second attempt
