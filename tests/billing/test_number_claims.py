"""The billing run's numbers (billing/services/numbering.py): a chunk commits its documents as
drafts with a claim per series; a short transaction under the series' lock gives every waiting
claim its block, oldest first; the numbers are then set on the documents. A claim a stopped
process left is numbered by the next lock holder and applied by `numbering_recover`: no number
is lost, none is given twice. (The same with real processes killed: test_concurrency.py.)
"""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from billing.models import Invoice, InvoiceEvent, InvoiceSequence, NumberClaim
from billing.services import billing_chunk, numbering, numbering_recover
from catalog.models import Plan
from subscriptions import services
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
DAY = date(2026, 2, 1)


@pytest.fixture
def two(demo_catalog):
    """Two monthly subscriptions from 2026-01-01: two invoices each due on 2026-02-01."""
    plan = Plan.objects.get(code="office-24m")
    return [
        services.subscription_create(
            customer=CustomerFactory(),
            plan=plan,
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
        ).subscription
        for _ in range(2)
    ]


def stopped_after_commit(monkeypatch, subscription, *, numbered: bool = False) -> NumberClaim:
    """Bill a subscription whose process stops once its chunk committed: before its numbers
    are taken, or (`numbered`) once they are and before they are set on the documents."""

    def stop(claims, invoices=(), *, timings=None):
        if numbered:
            numbering.number_claims({(c.series, c.year) for c in claims})
        raise SystemExit("process stopped")

    monkeypatch.setattr(numbering, "issue_claimed", stop)
    with pytest.raises(SystemExit):
        billing_chunk(subscription_ids=[subscription.pk], day=DAY)
    monkeypatch.undo()
    return NumberClaim.objects.filter(applied_at__isnull=True).latest("pk")


def sequences_of(claim: NumberClaim) -> list[int | None]:
    return list(
        Invoice.objects.filter(pk__in=claim.invoice_ids)
        .order_by("pk")
        .values_list("sequence", flat=True)
    )


def test_a_waiting_claim_is_numbered_first_by_the_next_lock_holder(monkeypatch, two):
    first, second = two
    waiting = stopped_after_commit(monkeypatch, first)
    assert (waiting.first_number, waiting.count) == (None, 2)
    assert sequences_of(waiting) == [None, None]
    drafts = Invoice.objects.filter(pk__in=waiting.invoice_ids)
    assert all(d.being_numbered and d.status == "draft" for d in drafts)
    assert not InvoiceEvent.objects.exists()  # "issued" is written with the numbers

    billing_chunk(subscription_ids=[second.pk], day=DAY)

    # The next chunk's lock holder gave the older claim its block first, then its own…
    waiting.refresh_from_db()
    own = NumberClaim.objects.exclude(pk=waiting.pk).get()
    assert (waiting.first_number, own.first_number) == (1, 3)
    assert waiting.issued_at == own.issued_at
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == 4
    # …and set only its own on its documents: the other's are set by the recovery.
    assert waiting.applied_at is None and own.applied_at is not None
    assert sequences_of(own) == [3, 4]
    assert sequences_of(waiting) == [None, None]

    assert numbering_recover() == 1

    waiting.refresh_from_db()
    assert waiting.applied_at is not None
    assert list(Invoice.objects.order_by("sequence").values_list("number", flat=True)) == [
        "F2026-000001",
        "F2026-000002",
        "F2026-000003",
        "F2026-000004",
    ]
    assert set(Invoice.objects.values_list("status", flat=True)) == {"issued"}
    assert InvoiceEvent.objects.filter(kind="issued").count() == 4
    assert numbering_recover() == 0  # nothing left: safe to run again


def test_a_numbered_claim_keeps_its_block_until_it_is_applied(monkeypatch, two):
    first, second = two
    numbered = stopped_after_commit(monkeypatch, first, numbered=True)
    assert numbered.first_number == 1 and numbered.issued_at is not None
    assert InvoiceSequence.objects.get(series="F", year=2026).last_number == 2  # held for it

    billing_chunk(subscription_ids=[second.pk], day=DAY)  # numbered after the held block
    assert numbering_recover() == 1

    assert sequences_of(numbered) == [1, 2]
    issued = Invoice.objects.filter(pk__in=numbered.invoice_ids)
    assert {i.issued_at for i in issued} == {numbered.issued_at}  # the time of its numbers
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4]


def test_a_draft_waiting_for_its_number_is_neither_deleted_nor_issued_by_hand(
    monkeypatch, two, client, operator
):
    waiting = stopped_after_commit(monkeypatch, two[0])
    draft = Invoice.objects.get(pk=waiting.invoice_ids[0])
    client.force_login(operator)

    response = client.get(reverse("admin:billing_invoice_delete", args=[draft.pk]))

    assert response.status_code == 403
    from billing.services import invoice_issue
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="The billing run is issuing this draft"):
        invoice_issue(invoice=draft, day=DAY)
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)


def test_a_claim_whose_document_went_missing_is_refused_loudly(monkeypatch, two, caplog):
    """Applying numbers to fewer documents than the block would leave a gap: never silently.
    The recovery logs it and leaves that claim for a person; the other claims go on."""
    broken = stopped_after_commit(monkeypatch, two[0])
    other = stopped_after_commit(monkeypatch, two[1])
    # A document removed behind the service's back (a manual SQL edit).
    Invoice.objects.filter(pk=broken.invoice_ids[-1]).delete()

    assert numbering_recover() == 1

    assert "its number would be lost" in caplog.text
    assert [r.levelname for r in caplog.records if "would be lost" in r.message] == ["ERROR"]
    broken.refresh_from_db()
    other.refresh_from_db()
    assert broken.first_number == 1 and broken.applied_at is None  # its block held, unapplied
    assert other.applied_at is not None
    assert sequences_of(other) == [3, 4]
    assert sequences_of(broken) == [None]


def test_a_month_does_not_close_while_the_run_is_still_issuing_in_it(monkeypatch, two):
    """The run's drafts are dated when they are committed: the close of their month waits for
    their numbers, or they would be issued into a closed month."""
    from billing.services import month_close
    from core.errors import ApplicationError

    stopped_after_commit(monkeypatch, two[0])  # drafts dated 2026-02-01, waiting
    with time_machine.travel(date(2026, 3, 5)):
        with pytest.raises(ApplicationError, match="still issuing documents dated in"):
            month_close(month=date(2026, 2, 1), user=None)
        month_close(month=date(2026, 1, 1), user=None)  # January is not held

        numbering_recover()
        closed = month_close(month=date(2026, 2, 1), user=None)

    assert closed.month == date(2026, 2, 1)
    assert set(Invoice.objects.values_list("issue_date", flat=True)) == {DAY}


def test_the_operator_sees_the_register_of_claims_in_the_admin(monkeypatch, two, client, operator):
    waiting = stopped_after_commit(monkeypatch, two[0])
    billing_chunk(subscription_ids=[two[1].pk], day=DAY)
    client.force_login(operator)
    changelist = reverse("admin:billing_numberclaim_changelist")
    page = reverse("admin:billing_numberclaim_change", args=[waiting.pk])

    listed = client.get(changelist).content.decode()
    assert "F2026-000003 – F2026-000004" in listed  # the chunk billed after: issued
    assert "numbered, not yet set on its documents" in listed  # the stopped one: its block held
    held = client.get(changelist, {"state": "numbered"}).content.decode()
    assert "F2026-000001 – F2026-000002" in held and "F2026-000003" not in held
    shown = client.get(page).content.decode()
    assert "F2026-000001 – F2026-000002" in shown
    assert '<div class="readonly">numbered, not yet set on its documents</div>' in shown
    assert f"draft #{waiting.invoice_ids[0]}" in shown  # its documents, linked
    assert reverse("admin:billing_invoice_change", args=[waiting.invoice_ids[0]]) in shown
    assert client.post(page, {}).status_code == 403  # read-only: the numbering writes it

    numbering_recover()

    shown = client.get(page).content.decode()
    assert "F2026-000001" in shown and "draft #" not in shown
    assert '<div class="readonly">issued</div>' in shown
