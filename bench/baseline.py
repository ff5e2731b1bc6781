"""The physical limit: the invoices, lines and taxes the run wrote, written again with raw COPY
into tables of the same shape (indexes and checks included, no triggers or foreign keys), then
numbered by one UPDATE, in one transaction. Prints one JSON line."""

from __future__ import annotations

import io
import json
import os
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from billing.models import Invoice

    # Every column of the model (a hand-kept list missed end_customer_name, NOT NULL).
    invoice_columns = [field.column for field in Invoice._meta.concrete_fields]
    # Exported as drafts: the baseline numbers them itself.
    draft = {
        "status": "'draft'",
        "series": "''",
        "year": "NULL",
        "sequence": "NULL",
        "number": "NULL",
        "issue_date": "NULL",
        "issued_at": "NULL",
    }
    select_invoices = ", ".join(draft.get(c, c) for c in invoice_columns)
    exports = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_invoice")
        (invoices,) = cursor.fetchone()
        for table, query in (
            ("bench_invoice", f"SELECT {select_invoices} FROM billing_invoice"),  # noqa: S608
            ("bench_invoiceline", "SELECT * FROM billing_invoiceline"),
            ("bench_invoicetax", "SELECT * FROM billing_invoicetax"),
        ):
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for data in copy:
                    buffer.write(data)
            exports[table] = buffer.getvalue()
        for table, source in (
            ("bench_invoice", "billing_invoice"),
            ("bench_invoiceline", "billing_invoiceline"),
            ("bench_invoicetax", "billing_invoicetax"),
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, data in exports.items():
            columns = ", ".join(invoice_columns) if table == "bench_invoice" else ""
            target = f"{table} ({columns})" if columns else table
            with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                copy.write(data)
        cursor.execute(
            """
            UPDATE bench_invoice AS i
               SET status = 'issued', series = 'F', year = 2027, sequence = n.rn,
                   number = 'F2027-' || lpad(n.rn::text, 6, '0'), issue_date = DATE '2027-01-01',
                   issued_at = now()
              FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM bench_invoice) AS n
             WHERE i.id = n.id
            """
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in exports:
            cursor.execute(f"DROP TABLE {table}")
    lines = exports["bench_invoiceline"].count(b"\n")
    print(json.dumps({"seconds": seconds, "invoices": invoices, "lines": lines}))


if __name__ == "__main__":
    main()
