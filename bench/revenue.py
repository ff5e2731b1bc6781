"""Revenue figures at scale: 1,000,000 invoice lines (N=… to change), written by SQL, then the
timings of reports.revenue's functions (median of 5). PostgreSQL only; it writes into the
database of DATABASE_URL (use a scratch one):

    DATABASE_URL=postgres://…/scratch DEBUG=true .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://…/scratch DEBUG=true N=1000000 .venv/bin/python -m bench.revenue

Prints one JSON line."""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date

LINES_PER_INVOICE = 5


def _filler(cursor, table: str, given: dict[str, str]) -> tuple[str, str]:
    """(columns, expressions) of an INSERT … SELECT: the `given` expressions, and a neutral
    value for every other column that requires one (Django sets no database defaults)."""
    cursor.execute(
        """SELECT column_name, data_type FROM information_schema.columns
        WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
        AND is_identity = 'NO'""",
        [table],
    )
    neutral = {
        "boolean": "false",
        "jsonb": "'{}'::jsonb",
        "numeric": "0",
        "integer": "0",
        "smallint": "0",
        "bigint": "0",
        "timestamp with time zone": "now()",
        "date": "current_date",
    }
    values = dict(given)
    for column, kind in cursor.fetchall():
        values.setdefault(column, neutral.get(kind, "''"))
    return ", ".join(values), ", ".join(values.values())


def fill(cursor, lines: int) -> None:
    invoices = lines // LINES_PER_INVOICE
    cursor.execute("SELECT id FROM subscriptions_customer ORDER BY id LIMIT 1")
    if cursor.fetchone() is None:
        columns, values = _filler(
            cursor,
            "subscriptions_customer",
            {"name": "'Customer ' || g", "currency": "'EUR'", "country": "'FR'"},
        )
        cursor.execute(
            f"INSERT INTO subscriptions_customer ({columns}) "  # noqa: S608 - no input
            f"SELECT {values} FROM generate_series(1, 5000) g"
        )
    # The customers' ids need not follow each other (the honest data's copies stride them):
    # each invoice takes the (g mod n)-th customer.
    cursor.execute(
        "CREATE TEMP TABLE bench_customer AS SELECT (row_number() OVER (ORDER BY id) - 1) AS k,"
        " id FROM subscriptions_customer"
    )
    cursor.execute("CREATE INDEX ON bench_customer (k)")
    cursor.execute("SELECT count(*) FROM bench_customer")
    (span,) = cursor.fetchone()
    # Drafts first: the lines of an issued invoice cannot be written (immutability triggers).
    columns, values = _filler(
        cursor,
        "billing_invoice",
        {
            "kind": "'invoice'",
            "status": "'draft'",
            "customer_id": "c.id",
            "currency": "CASE WHEN g % 10 = 0 THEN 'CAD' ELSE 'EUR' END",
            "issue_date": "date '2024-01-01' + (g % 1095)",
            "due_date": "date '2024-01-31' + (g % 1095)",
            "billing_key": "'bench-revenue'",
        },
    )
    cursor.execute(
        f"INSERT INTO billing_invoice ({columns}) SELECT {values} "  # noqa: S608 - no input
        f"FROM generate_series(1, {invoices}) g JOIN bench_customer c ON c.k = g % {span}"
    )
    cursor.execute("DROP TABLE bench_customer")
    columns, values = _filler(
        cursor,
        "billing_invoiceline",
        {
            "invoice_id": "i.id",
            "position": "k",
            "kind": "'recurring'",
            "description": "'seats'",
            "currency": "i.currency",
            "period_start": "CASE WHEN k = 4 THEN NULL ELSE i.issue_date END",
            "period_end": "CASE k WHEN 0 THEN (i.issue_date + interval '1 month')::date "
            "WHEN 1 THEN (i.issue_date + interval '3 months')::date "
            "WHEN 4 THEN NULL ELSE (i.issue_date + interval '1 year')::date END",
            "net": "10 + (i.id % 997) + k",
            "gross": "10 + (i.id % 997) + k",
            "unit_price": "10 + (i.id % 997) + k",
            "quantity": "1",
        },
    )
    cursor.execute(
        f"INSERT INTO billing_invoiceline ({columns}) SELECT {values} "  # noqa: S608 - no input
        "FROM billing_invoice i CROSS JOIN generate_series(0, "
        f"{LINES_PER_INVOICE - 1}) k WHERE i.status = 'draft' AND i.billing_key = 'bench-revenue'"
    )
    # The lines' net, summed by its formula (a join would be planned before any statistics).
    net = f"({LINES_PER_INVOICE} * (10 + id % 997) + {sum(range(LINES_PER_INVOICE))})"
    cursor.execute(
        f"""UPDATE billing_invoice SET status = 'issued', series = 'B', year = 2000,
            sequence = id, number = 'B-' || id, net_total = {net}, total = {net} * 1.2,
            tax_total = {net} * 0.2
        WHERE status = 'draft' AND billing_key = 'bench-revenue'"""  # noqa: S608 - no input
    )
    cursor.execute("ANALYZE billing_invoice")
    # Three invoices in four paid, in full, 20 days after issue.
    columns, values = _filler(
        cursor,
        "billing_payment",
        {
            "invoice_id": "i.id",
            "currency": "i.currency",
            "amount": "i.total",
            "method": "'bank_transfer'",
            "received_on": "i.issue_date + 20",
        },
    )
    cursor.execute(
        f"INSERT INTO billing_payment ({columns}) SELECT {values} FROM billing_invoice i "  # noqa: S608 - no input
        "WHERE i.billing_key = 'bench-revenue' AND i.id % 4 <> 0 "
        "AND NOT EXISTS (SELECT 1 FROM billing_payment p WHERE p.invoice_id = i.id)"
    )
    cursor.execute("ANALYZE")


def timed(function, repeat: int = 5) -> float:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        durations.append(time.perf_counter() - started)
    return round(statistics.median(durations) * 1000, 1)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from reports.revenue import RevenueFilters, aged_receivables, deferred_on, revenue_by_month

    lines = int(os.environ.get("N", "1000000"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        present = cursor.fetchone()[0]
        if present < lines:
            with transaction.atomic():
                fill(cursor, lines - present)
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        present = cursor.fetchone()[0]
    start, end, on = date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 30)
    print(
        json.dumps(
            {
                "invoice_lines": present,
                "revenue_by_month_12_ms": timed(lambda: revenue_by_month(start=start, end=end)),
                "revenue_by_month_36_ms": timed(
                    lambda: revenue_by_month(start=date(2024, 1, 1), end=end)
                ),
                "revenue_by_month_cad_ms": timed(
                    lambda: revenue_by_month(
                        start=start, end=end, filters=RevenueFilters(currency="CAD")
                    )
                ),
                "deferred_on_ms": timed(lambda: deferred_on(on)),
                "aged_receivables_ms": timed(lambda: aged_receivables(on=on)),
                "aged_receivables_by_partner_ms": timed(
                    lambda: aged_receivables(on=on, by="partner")
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
