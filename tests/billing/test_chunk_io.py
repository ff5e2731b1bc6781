"""The billing run's one door to the bulk tools (billing/services/chunk_io.py): what it writes
is what the models say, and nothing else in the domain opens core.db's tools."""

import ast
from pathlib import Path

import pytest
from django.db.models.signals import m2m_changed, post_init, post_save, pre_init, pre_save

from billing.models import InvoiceLine
from billing.services import chunk_io
from catalog.models import Plan
from subscriptions.models import Customer, Subscription, SubscriptionSeat

ROOT = Path(__file__).resolve().parents[2]
# The tools the door keeps (`lookups` is not one: the ORM's `__any` lookup, used anywhere).
TOOLS = {"core.db.bulk", "core.db.reads", "core.db.gc_pause"}
DOOR = ROOT / "billing" / "services" / "chunk_io.py"
SKIPPED = {".venv", "var", "node_modules", ".git", "tests"}


def test_the_bulk_writes_miss_no_field_signal_or_history():
    assert chunk_io.audit() == []


def test_the_audit_sees_a_field_the_bulk_update_would_skip():
    written = [c for c in chunk_io.SUBSCRIPTION_WRITTEN if c != "renewal_date"]
    problems = chunk_io.audit(updated={Subscription: written})
    assert problems == ["Subscription.renewal_date is not written by the bulk update"]
    # ...and one written without having been read (it would be written as NULL).
    read = {SubscriptionSeat: [c for c in chunk_io.SEAT_COLUMNS if c != "quantity"]}
    problems = chunk_io.audit(updated={SubscriptionSeat: chunk_io.SEAT_WRITTEN}, read=read)
    assert problems == ["SubscriptionSeat.quantity is written but not read first"]


def test_the_column_lists_follow_the_models():
    concrete = [f.attname for f in Subscription._meta.concrete_fields]
    assert [c for c in concrete if c not in ("id", "created_at")] == chunk_io.SUBSCRIPTION_WRITTEN
    assert [c for c in concrete if c != "updated_at"] == chunk_io.SUBSCRIPTION_COLUMNS
    assert [f.attname for f in SubscriptionSeat._meta.concrete_fields] == chunk_io.SEAT_COLUMNS


@pytest.mark.parametrize("signal", [pre_save, post_save], ids=["pre_save", "post_save"])
def test_the_audit_sees_a_save_receiver_the_bulk_writes_would_skip(signal):
    def receiver(sender, **kwargs):
        pass

    signal.connect(receiver, sender=InvoiceLine)
    try:
        problems = chunk_io.audit()
    finally:
        signal.disconnect(receiver, sender=InvoiceLine)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"InvoiceLine has a {(signal is pre_save and 'pre') or 'post'}_save"
    )


@pytest.mark.parametrize("signal", [pre_init, post_init], ids=["pre_init", "post_init"])
def test_the_audit_sees_an_init_receiver_the_bulk_reads_would_skip(signal):
    def receiver(sender, **kwargs):
        pass

    signal.connect(receiver, sender=Customer)  # loaded by the run's locked reads, no __init__
    try:
        problems = chunk_io.audit()
    finally:
        signal.disconnect(receiver, sender=Customer)
    assert len(problems) == 1
    assert problems[0].startswith(f"Customer has a {(signal is pre_init and 'pre') or 'post'}_init")


def test_the_audit_sees_a_many_to_many_the_bulk_writes_would_not_set():
    # A plan has many-to-many bundles: written in bulk, they would be left out.
    problems = chunk_io.audit(inserted=[Plan], updated={})
    assert "Plan.bundles is a many-to-many the bulk writes do not set" in problems
    # ...and rows of a many-to-many written in bulk would skip its m2m_changed receivers.
    through = Plan.bundles.through

    def receiver(sender, **kwargs):
        pass

    m2m_changed.connect(receiver, sender=through)
    try:
        problems = chunk_io.audit(inserted=[through], updated={})
    finally:
        m2m_changed.disconnect(receiver, sender=through)
    assert problems == [f"{through.__name__} has an m2m_changed receiver the bulk writes skip"]


def test_the_audit_sees_history_the_bulk_writes_would_not_write():
    problems = chunk_io.audit(history_written=())
    # simple_history's own receiver, and the history it keeps.
    assert any(p.startswith("Subscription has a post_save receiver") for p in problems)
    assert "Subscription keeps history the bulk writes do not write" in problems


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from core.db import bulk`
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_door_imports_the_bulk_tools():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if SKIPPED & set(relative.parts) or path == DOOR or relative.parts[:2] == ("core", "db"):
            continue
        used = {name for name in _imported(path) if any(name.startswith(t) for t in TOOLS)}
        if used:
            offenders.append(f"{relative}: {sorted(used)}")
    assert offenders == []


def test_the_door_check_reads_every_form_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from core.db import bulk\n    import core.db.reads\n")
    assert {"core.db.bulk", "core.db.reads"} <= _imported(module)


@pytest.mark.django_db
def test_the_numbering_lock_covers_only_taking_the_numbers_and_setting_them(office):
    """One issuing path for the run (SQLite as PostgreSQL): the documents, their lines and
    taxes are written as drafts with a claim for their numbers, and committed (here, the test's
    savepoint released); then a transaction of its own locks the sequence row, gives the claim
    its block (three narrow statements) and commits; only then are the numbers set on the
    documents (issue 19: the lock's hold does not grow with the chunk, its writes, their
    deferred checks or their commit)."""
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import Invoice, InvoiceEvent, NumberClaim
    from billing.services import billing_run

    with CaptureQueriesContext(connection) as captured:
        billing_run(day=date(2026, 2, 1))
    statements = [q["sql"] for q in captured]
    lock = next(i for i, sql in enumerate(statements) if "billing_invoicesequence" in sql)
    assert statements[lock].startswith("INSERT INTO billing_invoicesequence")
    assert "RETURNING last_number" in statements[lock]
    released = next(i for i in range(lock, len(statements)) if statements[i].startswith("RELEASE"))
    held = statements[lock + 1 : released]
    assert len(held) == 3, held
    assert held[0].startswith("SELECT") and '"billing_numberclaim"' in held[0]
    assert held[1].startswith('UPDATE "billing_invoicesequence"')
    assert held[2].startswith('UPDATE "billing_numberclaim"')
    # The claim was written with the documents, whose transaction ended before the lock.
    claimed = next(
        i for i, sql in enumerate(statements) if 'INSERT INTO "billing_numberclaim"' in sql
    )
    assert any(sql.startswith("RELEASE") for sql in statements[claimed:lock])
    # The numbers are set on the documents once the lock is let go, in one UPDATE.
    after = [sql for sql in statements[released:] if sql.startswith('UPDATE "billing_invoice"')]
    assert len(after) == 1
    assert not any(sql.startswith('UPDATE "billing_invoice"') for sql in statements[:released])
    invoices = list(Invoice.objects.order_by("id"))
    assert [i.number for i in invoices] == ["F2026-000001", "F2026-000002"]
    assert all(i.status == Invoice.Status.ISSUED and i.lines.exists() for i in invoices)
    assert InvoiceEvent.objects.filter(kind="issued").count() == 2
    claim = NumberClaim.objects.get()
    assert (claim.first_number, claim.count, claim.invoice_ids) == (1, 2, [i.pk for i in invoices])
    assert claim.applied_at is not None and claim.issued_at == invoices[0].issued_at
    # The keys reserved before the rows were written are the table's: the next ones follow.
    more = [Invoice(), Invoice()]
    chunk_io.reserve_row_ids(more)
    assert [i.pk for i in more] == [invoices[-1].pk + 1, invoices[-1].pk + 2]
