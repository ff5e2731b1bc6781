"""SQLite rebuilds a table to add a column to it, and its triggers on the invoice parts, which
name billing_invoice, fail while the table is being replaced. A migration that changes
billing_invoice drops them first and puts them back after (PostgreSQL needs none of this).
Not a migration itself: the loader skips modules whose name starts with "_"."""

import importlib

from django.db import migrations

initial = importlib.import_module("billing.migrations.0002_immutable_issued_invoices")


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in initial.SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def recreate(locked: list[str]):
    def _create(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in locked)
        for statement in initial._sqlite_statements():
            if "billing_invoice_immutable_update" in statement:
                statement = f"""CREATE TRIGGER billing_invoice_immutable_update BEFORE UPDATE
                    ON billing_invoice
                    WHEN OLD.status <> 'draft' AND (NEW.status = 'draft' OR {changed})
                    BEGIN SELECT RAISE(ABORT, '{initial.MESSAGE}'); END"""
            schema_editor.execute(statement)

    return _create


def around(operations: list, locked: list[str]) -> list:
    """`operations` on billing_invoice, between dropping and recreating the SQLite triggers."""
    return [
        migrations.RunPython(_drop, recreate(locked)),
        *operations,
        migrations.RunPython(recreate(locked), _drop),
    ]
