"""Exports at scale: `make bench-exports` (`python -m bench.exports --count N`, default
1,000,000 invoice lines), on PostgreSQL.

In a fresh database (BENCH_EXPORTS_DB, default cadence_bench_exports), in its own process:
N invoice lines, four to an issued invoice, over 1,000 customers, written by SQL in a few
statements (the billing run would take hours to write a million lines: bench/generate.py is
for the run's own benchmark). Then, each in a fresh process, the invoice-lines export is asked
for as an operator asks the API for it (`GET /api/v1/exports/invoice-lines/`, Django's test
client, no server), every byte of the answer read and dropped: CSV of the N lines, then XLSX
of XLSX_N lines (`--xlsx-count`, default min(N, 200,000): a sheet holds at most 1,048,575
rows, and the XLSX writer is the slower of the two). Prints one JSON line: rows per second,
megabytes, queries, and the process's peak memory (RSS) before and after the export — the
same at any N is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

from bench.__main__ import fresh, python, step

DATABASE = os.environ.get("BENCH_EXPORTS_DB", "cadence_bench_exports")
CUSTOMERS = 1000
LINES_PER_INVOICE = 4


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _columns(model, **overrides: str) -> tuple[str, str]:
    """The INSERT column list of `model` (its id left out) and the SELECT list copying the
    template row `t`, with SQL expressions for the columns named in `overrides`."""
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    return (
        ", ".join(columns),
        ", ".join(overrides.get(column, f"t.{column}") for column in columns),
    )


def _generate(count: int, xlsx_count: int) -> dict:
    """`count` lines on count/4 issued invoices, copied by SQL from one template of each; the
    invoices of the first `xlsx_count` lines issued on 2026-10-01, the others on 2026-11-01."""
    from datetime import date
    from decimal import Decimal

    from django.db import connection

    from billing.models import Invoice, InvoiceLine
    from catalog.models import Product
    from demo.catalog import seed_catalog
    from subscriptions.models import Customer

    started = time.perf_counter()
    seed_catalog()
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Bench customer {i:04d}",
            email=f"bench{i}@example.com",
            address_line1=f"{i} rue du Banc",
            postal_code="75001",
            city="Paris",
            country="FR",
            currency="EUR",
        )
        for i in range(CUSTOMERS)
    )
    net = Decimal("108.00")
    template = Invoice.objects.create(
        customer=customers[0],
        currency="EUR",
        customer_name=customers[0].name,
        customer_address="1 rue du Banc\n75001 Paris",
        net_total=net * LINES_PER_INVOICE,
        tax_total=net * LINES_PER_INVOICE * Decimal("0.2"),
        total=net * LINES_PER_INVOICE * Decimal("1.2"),
        amount_paid=Decimal("0"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 12, 1),
    )
    line = InvoiceLine.objects.create(
        invoice=template,
        kind=InvoiceLine.Kind.RECURRING,
        description="Licence passerelle, 10 sièges",
        product=Product.objects.order_by("pk").first(),
        currency="EUR",
        quantity=Decimal("10"),
        unit_price=Decimal("15"),
        gross=Decimal("150"),
        discount_total=Decimal("42"),
        net=net,
        tax_rate=Decimal("20"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 12, 1),
        ledger_account="706100",
        invoice_item_type="licence",
    )
    invoices = -(-count // LINES_PER_INVOICE)
    first_customer = customers[0].pk
    with connection.cursor() as cursor:
        insert, select = _columns(
            Invoice,
            customer_id=f"{first_customer} + g %% {CUSTOMERS}",
            po_reference="'PO-' || g",
        )
        cursor.execute(
            f"INSERT INTO billing_invoice ({insert}) SELECT {select} "  # noqa: S608 - our columns
            f"FROM billing_invoice t, generate_series(1, %s) g WHERE t.id = %s",
            [invoices - 1, template.pk],
        )
        cursor.execute(
            "SELECT array_agg(id ORDER BY id) FROM billing_invoice WHERE id <> %s", [template.pk]
        )
        ids = [template.pk, *cursor.fetchone()[0]]
        cursor.execute(
            "CREATE TEMP TABLE bench_invoice AS "
            "SELECT (ord - 1) AS k, id FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(id, ord)",
            [ids],
        )
        insert, select = _columns(
            InvoiceLine,
            invoice_id=f"(SELECT id FROM bench_invoice WHERE k = (g - 1) / {LINES_PER_INVOICE})",  # noqa: S608 - constants
            position=f"(g - 1) %% {LINES_PER_INVOICE}",
            description="t.description || ' #' || g",
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_invoice (k)")
        cursor.execute(
            f"INSERT INTO billing_invoiceline ({insert}) SELECT {select} "  # noqa: S608
            f"FROM billing_invoiceline t, generate_series(2, %s) g WHERE t.id = %s",
            [count, line.pk],
        )
        # Issued as the run issues them: numbered in id order (drafts may change; issued not).
        october = ids[-(-xlsx_count // LINES_PER_INVOICE) - 1]
        cursor.execute(
            "UPDATE billing_invoice SET status = 'issued', series = 'F', year = 2026, "
            "sequence = id, number = 'F2026-' || lpad(id::text, 7, '0'), "
            "issue_date = CASE WHEN id <= %s THEN date '2026-10-01' ELSE date '2026-11-01' END,"
            " due_date = '2026-12-01', issued_at = now()",
            [october],
        )
        cursor.execute("ANALYZE billing_invoice; ANALYZE billing_invoiceline")
    return {
        "lines": InvoiceLine.objects.count(),
        "invoices": Invoice.objects.count(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _export(file_format: str, query: str) -> dict:
    """One export asked for as an operator asks the API for it, every byte read and dropped."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    operator, _created = get_user_model().objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True}
    )
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=operator)[0].key}"
    )
    rss_before = _rss_mb()
    started = time.perf_counter()
    size = 0
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/exports/invoice-lines/?format={file_format}{query}")
        assert response.status_code == 200, response.content
        for chunk in response.streaming_content:
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "megabytes": round(size / 1e6, 1),
        "queries": len(queries.captured_queries),
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb": _rss_mb(),
    }


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def inner_generate(count: int, xlsx_count: int) -> dict:
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return _generate(count, xlsx_count)


def inner_export(file_format: str, count: int, xlsx_count: int) -> dict:
    """In a process of its own, so that its peak memory is the export's."""
    _setup()
    from billing.models import InvoiceLine

    if file_format == "csv":
        result = _export("csv", "")
        result["rows"] = count
    else:
        # October's invoices: their lines are the first XLSX_N (rounded up to whole invoices).
        october = "&issue_date_before=2026-10-31" if xlsx_count < count else ""
        result = _export("xlsx", october)
        result["rows"] = (
            InvoiceLine.objects.filter(invoice__issue_date__lte="2026-10-31").count()
            if october
            else count
        )
    result["rows_per_second"] = round(result["rows"] / result["seconds"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("N", "1000000")))
    parser.add_argument("--xlsx-count", type=int, default=None)
    parser.add_argument("--inner", choices=["generate", "csv", "xlsx"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    count = options.count
    xlsx_count = min(options.xlsx_count or min(count, 200_000), count)
    if options.inner == "generate":
        print(json.dumps(inner_generate(count, xlsx_count)))
        return
    if options.inner:
        print(json.dumps(inner_export(options.inner, count, xlsx_count)))
        return
    step(f"{count} invoice lines, database {DATABASE}")
    fresh(DATABASE)
    sizes = ["--count", str(count), "--xlsx-count", str(xlsx_count)]
    result = {"count": count}
    result["generate"] = python("bench.exports", "--inner", "generate", *sizes, database=DATABASE)
    for file_format in ("csv", "xlsx"):
        step(f"{file_format} export")
        result[file_format] = python(
            "bench.exports", "--inner", file_format, *sizes, database=DATABASE
        )
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
