"""Immutability, completed.

- The end customer an invoice names (0006) is locked after issue like the rest of the bill-to.
- TRUNCATE skips row triggers: on PostgreSQL, statement triggers now refuse it on invoices,
  their lines and taxes, and the numbering sequences, unless the transaction sets
  `cadence.allow_truncate` (only `manage.py flush` does, core/db/postgresql/base.py). Disabling
  triggers (`session_replication_role = replica`) needs a superuser: the application's database
  role must not be one (README, "Operations").
"""

import importlib

from django.db import migrations

initial = importlib.import_module("billing.migrations.0002_immutable_issued_invoices")

LOCKED = [*initial.LOCKED, "end_customer_id", "end_customer_name"]
NO_TRUNCATE = [
    "billing_invoice",
    "billing_invoiceline",
    "billing_invoicetax",
    "billing_invoicesequence",
]


def _invoice_function(locked: list[str]) -> str:
    return f"""
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN RAISE EXCEPTION '{initial.MESSAGE} (%)', OLD.number; END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'draft' AND (
       NEW.status = 'draft'
       OR ({", ".join("NEW." + c for c in locked)}) IS DISTINCT FROM ({", ".join("OLD." + c for c in locked)})
  ) THEN
    RAISE EXCEPTION '{initial.MESSAGE} (%)', OLD.number;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


TRUNCATE = """
CREATE OR REPLACE FUNCTION billing_refuse_truncate() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('cadence.allow_truncate', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'issued invoices are immutable: % cannot be truncated', TG_TABLE_NAME;
END $$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_truncate();\n"
    for table in NO_TRUNCATE
)
TRUNCATE_REVERSE = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n" for table in NO_TRUNCATE)
    + "DROP FUNCTION IF EXISTS billing_refuse_truncate();\n"
)


def _sqlite_update_trigger(locked: list[str]) -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in locked)
    return [
        "DROP TRIGGER IF EXISTS billing_invoice_immutable_update",
        f"""CREATE TRIGGER billing_invoice_immutable_update BEFORE UPDATE ON billing_invoice
            WHEN OLD.status <> 'draft' AND (NEW.status = 'draft' OR {changed})
            BEGIN SELECT RAISE(ABORT, '{initial.MESSAGE}'); END""",
    ]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_invoice_function(LOCKED))
            cursor.execute(TRUNCATE)
    elif schema_editor.connection.vendor == "sqlite":  # SQLite has no TRUNCATE
        for statement in _sqlite_update_trigger(LOCKED):
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(TRUNCATE_REVERSE)
            cursor.execute(_invoice_function(initial.LOCKED))
    elif schema_editor.connection.vendor == "sqlite":
        for statement in _sqlite_update_trigger(initial.LOCKED):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_invoice_end_customer")]
    operations = [migrations.RunPython(forwards, backwards)]
