"""E-invoices at scale: `make bench-einvoices` (`python -m bench.einvoices --count N`, default
10,000), on PostgreSQL.

In a fresh database (BENCH_EINVOICES_DB, default cadence_bench_einvoices), in its own
process: N issued invoices (one customer each, three lines at 20 % VAT, numbered as the run
numbers them), then each one's e-invoice made as `billing.einvoices_generate` makes it, timed
stage by stage — the CII, the UBL, the PDF/A-3 render (WeasyPrint), the Factur-X embedding
(factur-x: XSD check, attachment, XMP) and the row written — one invoice after another in one
process (a worker's solo pool). Prints one JSON line: per-invoice means and p95 of each stage,
invoices per second, the stored size per e-invoice, peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

from bench.__main__ import fresh, python, step

DATABASE = os.environ.get("BENCH_EINVOICES_DB", "cadence_bench_einvoices")
STAGES = ["cii", "ubl", "pdf_render", "embed", "store"]


def _issued(count: int) -> list[int]:
    """`count` issued invoices, saved as the billing run saves them (save_documents)."""
    from datetime import date
    from decimal import Decimal

    from django.db import transaction

    from billing.models import Invoice, InvoiceLine, InvoiceTax
    from billing.services.documents import Document, save_documents
    from demo.catalog import seed_catalog
    from subscriptions.models import Customer

    seed_catalog()
    day = date(2026, 11, 1)
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Bench customer {i:05d}",
            email=f"bench{i}@example.com",
            address_line1=f"{i} rue du Banc",
            postal_code="75001",
            city="Paris",
            country="FR",
            currency="EUR",
        )
        for i in range(count)
    )
    net = Decimal("129.60")
    for start in range(0, count, 1000):
        documents = []
        for customer in customers[start : start + 1000]:
            invoice = Invoice(
                customer=customer,
                currency="EUR",
                customer_name=customer.name,
                customer_address=f"{customer.address_line1}\n75001 Paris",
                language="fr",
                net_total=net,
                tax_total=net * Decimal("0.2"),
                total=net * Decimal("1.2"),
                amount_paid=Decimal("0"),
                period_start=day,
                period_end=date(2026, 11, 30),
            )
            lines = [
                InvoiceLine(
                    position=position,
                    kind=InvoiceLine.Kind.ONE_OFF,
                    description=f"Service {position}",
                    currency="EUR",
                    quantity=Decimal("1"),
                    unit_price=net / 3,
                    gross=net / 3,
                    discount_total=Decimal("0"),
                    net=net / 3,
                    tax_rate=Decimal("20"),
                )
                for position in range(1, 4)
            ]
            taxes = [
                InvoiceTax(currency="EUR", rate=Decimal("20"), base=net, tax=net * Decimal("0.2"))
            ]
            documents.append(Document(invoice=invoice, lines=lines, taxes=taxes))
        with transaction.atomic():  # the lines point to the documents: one commit
            save_documents(documents, issue_on=day)
    return list(Invoice.objects.order_by("pk").values_list("pk", flat=True))


def inner(count: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from billing.einvoice.cii import invoice_cii
    from billing.einvoice.facturx import embed_cii, render_pdfa
    from billing.einvoice.ubl import invoice_ubl
    from billing.models import EInvoice, Invoice
    from billing.services.einvoices import _store

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    ids = _issued(count)
    setup_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    started = time.perf_counter()
    for pk in ids:
        invoice = Invoice.objects.select_related("customer", "credited_invoice").get(pk=pk)
        t0 = time.perf_counter()
        cii = invoice_cii(invoice)
        t1 = time.perf_counter()
        ubl = invoice_ubl(invoice)
        t2 = time.perf_counter()
        pdf = render_pdfa(invoice)
        t3 = time.perf_counter()
        facturx = embed_cii(invoice, pdf, cii)
        t4 = time.perf_counter()
        _store(invoice, cii=cii, ubl=ubl, pdf=facturx)
        t5 = time.perf_counter()
        for stage, seconds in zip(
            STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True
        ):
            timings[stage].append(seconds)
    total = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(length(cii_xml) + length(ubl_xml) + length(facturx_pdf)),"
            " avg(length(facturx_pdf)) FROM billing_einvoice"
        )
        stored, pdf_size = cursor.fetchone()

    def ms(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
            "p95_ms": round(
                ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0] * 1000, 2
            ),
        }

    return {
        "count": count,
        "einvoices": EInvoice.objects.count(),
        "setup_seconds": round(setup_seconds, 1),
        "seconds": round(total, 1),
        "per_second": round(count / total, 1),
        "per_invoice_ms": round(total / count * 1000, 1),
        "stages": {stage: ms(values) for stage, values in timings.items()},
        "stored_kb_per_einvoice": round(float(stored) / 1024, 1),
        "facturx_pdf_kb": round(float(pdf_size) / 1024, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("N", "10000")))
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inner:
        print(json.dumps(inner(options.count)))
        return
    step(f"e-invoices of {options.count} invoices, database {DATABASE}")
    fresh(DATABASE)
    result = python("bench.einvoices", "--inner", "--count", str(options.count), database=DATABASE)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
