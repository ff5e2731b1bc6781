"""The immutability trigger of invoice lines and taxes looks up the parent invoice by its
primary key, once per row. PL/pgSQL caches that plan for the session: planned while
billing_invoice is empty (a new database's first billing run, which writes the lines of a chunk
before its invoices), it would stay a sequential scan, and every later row would read the whole
table. Sequential scans are switched off inside the function so that the cached plan is always
the index lookup.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER FUNCTION billing_invoice_part_immutable() SET enable_seqscan = off"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER FUNCTION billing_invoice_part_immutable() RESET enable_seqscan")


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_invoice_events")]
    operations = [migrations.RunPython(forwards, backwards)]
