"""Issued invoices are immutable, enforced by the database (not only hidden in the admin).

After issue, an invoice may only change its status (paid, overdue, cancelled by credit note),
what was paid and when it was emailed; its lines and taxes never change, and it is never
deleted. Corrections are credit notes.
"""

from django.db import migrations

# Columns that may still change on an issued invoice: status, amount_paid, paid_on, sent_at.
LOCKED = [
    "kind", "series", "year", "sequence", "number", "customer_id", "subscription_id", "billing_key",
    "credited_invoice_id", "currency", "language", "po_reference", "customer_name", "customer_address",
    "customer_vat_number", "issue_date", "due_date", "period_start", "period_end", "net_total",
    "tax_total", "total", "note", "issued_at",
]
MESSAGE = "issued invoices are immutable: issue a credit note instead"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN RAISE EXCEPTION '{MESSAGE} (%)', OLD.number; END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'draft' AND (
       NEW.status = 'draft'
       OR ({", ".join("NEW." + c for c in LOCKED)}) IS DISTINCT FROM ({", ".join("OLD." + c for c in LOCKED)})
  ) THEN
    RAISE EXCEPTION '{MESSAGE} (%)', OLD.number;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable BEFORE UPDATE OR DELETE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();

CREATE OR REPLACE FUNCTION billing_invoice_part_immutable() RETURNS trigger AS $$
DECLARE parent_status text;
BEGIN
  SELECT status INTO parent_status FROM billing_invoice
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
  IF parent_status IS NOT NULL AND parent_status <> 'draft' THEN
    RAISE EXCEPTION '{MESSAGE}';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.invoice_id <> NEW.invoice_id THEN
    SELECT status INTO parent_status FROM billing_invoice WHERE id = OLD.invoice_id;
    IF parent_status <> 'draft' THEN RAISE EXCEPTION '{MESSAGE}'; END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_part_immutable();
CREATE TRIGGER billing_invoicetax_immutable BEFORE INSERT OR UPDATE OR DELETE ON billing_invoicetax
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_part_immutable();
"""

POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS billing_invoicetax_immutable ON billing_invoicetax;
DROP TRIGGER IF EXISTS billing_invoiceline_immutable ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_part_immutable();
DROP FUNCTION IF EXISTS billing_invoice_immutable();
"""


def _sqlite_statements() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in LOCKED)
    statements = [
        f"""CREATE TRIGGER billing_invoice_immutable_update BEFORE UPDATE ON billing_invoice
            WHEN OLD.status <> 'draft' AND (NEW.status = 'draft' OR {changed})
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER billing_invoice_immutable_delete BEFORE DELETE ON billing_invoice
            WHEN OLD.status <> 'draft'
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    ]
    for table in ("billing_invoiceline", "billing_invoicetax"):
        statements += [
            f"""CREATE TRIGGER {table}_immutable_insert BEFORE INSERT ON {table}
                WHEN (SELECT status FROM billing_invoice WHERE id = NEW.invoice_id) <> 'draft'
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
            f"""CREATE TRIGGER {table}_immutable_update BEFORE UPDATE ON {table}
                WHEN (SELECT status FROM billing_invoice WHERE id = OLD.invoice_id) <> 'draft'
                  OR (SELECT status FROM billing_invoice WHERE id = NEW.invoice_id) <> 'draft'
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
            f"""CREATE TRIGGER {table}_immutable_delete BEFORE DELETE ON {table}
                WHEN (SELECT status FROM billing_invoice WHERE id = OLD.invoice_id) <> 'draft'
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        ]
    return statements


SQLITE_TRIGGERS = [
    "billing_invoice_immutable_update",
    "billing_invoice_immutable_delete",
    *[f"{t}_immutable_{op}" for t in ("billing_invoiceline", "billing_invoicetax") for op in ("insert", "update", "delete")],
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Straight to the cursor: the function bodies hold % signs that are not placeholders.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in _sqlite_statements():
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
