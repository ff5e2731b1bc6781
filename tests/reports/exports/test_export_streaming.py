"""An export holds one chunk of rows in memory and makes the same queries whatever its size
(issue 16: a million lines in constant memory). Measured here on a few thousand lines:
tracemalloc's peak and the query count do not grow with the rows. The speed is measured by
`make bench-exports` (docs/benchmarks.md), not by a timed test."""

import tempfile
import tracemalloc
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import InvoiceLine
from reports.exports import DATASETS, csv_chunks, xlsx_write
from tests.billing.builders import manual_draft
from tests.support.api import token_client
from tests.support.exports import body

pytestmark = pytest.mark.django_db

LINES = DATASETS["invoice-lines"]


def add_lines(count: int) -> None:
    """`count` more lines on a draft, each with its own description (no string is shared)."""
    invoice = manual_draft(with_line=False)
    InvoiceLine.objects.bulk_create(
        (
            InvoiceLine(
                invoice=invoice,
                position=i % 30000,
                kind=InvoiceLine.Kind.ONE_OFF,
                description=f"Intervention sur site n° {i:06d}, technicien {i % 97}",
                currency="EUR",
                quantity=Decimal("1"),
                unit_price=Decimal("12.5"),
                gross=Decimal("12.5"),
                discount_total=Decimal("0"),
                net=Decimal("12.5"),
                tax_rate=Decimal("20"),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )


def peak_bytes(write) -> int:
    tracemalloc.start()
    try:
        write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def csv_peak() -> tuple[int, int]:
    """The peak memory of a CSV export of every line read in chunks of 200, and its bytes."""
    size = 0

    def write():
        nonlocal size
        for chunk in csv_chunks(LINES, LINES.rows(LINES.queryset(), chunk_size=200)):
            size += len(chunk)

    return peak_bytes(write), size


def xlsx_peak() -> int:
    with tempfile.TemporaryFile() as file:
        return peak_bytes(
            lambda: xlsx_write(LINES, LINES.rows(LINES.queryset(), chunk_size=200), file)
        )


def test_the_csv_memory_does_not_grow_with_the_rows():
    add_lines(1000)
    small, small_size = csv_peak()
    add_lines(9000)
    large, large_size = csv_peak()
    assert large_size > 9 * small_size  # ten times the rows were written…
    assert large < small * 1.25 + 64 * 1024  # …in the same memory, give or take
    assert large < 2 * 1024 * 1024


def test_the_xlsx_memory_does_not_grow_with_the_rows():
    add_lines(1000)
    small = xlsx_peak()
    add_lines(9000)
    large = xlsx_peak()
    assert large < small * 1.25 + 64 * 1024
    assert large < 4 * 1024 * 1024


def test_the_rows_are_read_in_chunks_by_one_query():
    add_lines(450)
    with CaptureQueriesContext(connection) as queries:
        rows = LINES.rows(LINES.queryset(), chunk_size=100)
        first = next(rows)
        assert len(queries.captured_queries) == 1
        # A server-side cursor (PostgreSQL; SQLite reads in chunks too): the other rows are
        # fetched as they are read, by the same query.
        assert sum(1 for _ in rows) == 449
    assert len(queries.captured_queries) == 1
    assert first[LINES.header.index("net")] == Decimal("12.50")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_queries_of_an_export_do_not_grow_with_the_rows(
    operator, django_assert_max_num_queries, file_format
):
    client = token_client(operator)
    url = f"/api/v1/exports/invoice-lines/?format={file_format}"
    add_lines(5)
    with CaptureQueriesContext(connection) as few:
        body(client.get(url))
    add_lines(4500)  # more than two chunks
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = body(client.get(url))
    # The token, the operator and the rows: no query per row, per chunk or per join.
    assert len(few.captured_queries) <= 3
    if file_format == "csv":
        assert data.count(b"\n") == 1 + 4505
    else:
        assert data.startswith(b"PK")  # a zip: the workbook


def test_a_csv_answer_streams_in_chunks(operator):
    add_lines(2500)
    response = token_client(operator).get("/api/v1/exports/invoice-lines/")
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 3  # a chunk every 1,000 rows (the header rides with the first)
    assert chunks[0].startswith(b"id,invoice_id,invoice_number,")
    assert sum(chunk.count(b"\n") for chunk in chunks) == 2501
