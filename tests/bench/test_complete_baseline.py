"""bench/complete_baseline.py at a small size: the run's statements, recorded and replayed on a
copy of the data it started from, leave the copy as the run left its database."""

from pathlib import Path

import psycopg
import pytest
from django.db import connection

from bench import complete_baseline, generate

# The run commits its chunks, and the copy is made from the committed data.
pytestmark = pytest.mark.django_db(transaction=True)


def _dsn(name: str) -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=name,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
    )


def _invoices(cursor) -> list[tuple]:
    cursor.execute(
        "SELECT number, subscription_id, currency, net_total, total FROM billing_invoice"
        " ORDER BY number"
    )
    return cursor.fetchall()


def _lines(cursor) -> list[tuple]:
    cursor.execute(
        "SELECT i.number, l.position, l.charge, l.net FROM billing_invoiceline AS l"
        " JOIN billing_invoice AS i ON i.id = l.invoice_id ORDER BY i.number, l.position"
    )
    return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statements are PostgreSQL's")
def test_replayed_statements_leave_the_database_the_run_left(tmp_path: Path, settings):
    # given 120 subscriptions due on D (and the demo's few), in chunks of 40 (two processes replay them at once), and a
    # copy of the database as it is before the run
    settings.BILLING_CHUNK_SIZE = 40
    generate.generate(120)
    source = connection.settings_dict["NAME"]
    copy = f"{source}_complete_baseline"[:63]
    connection.close()  # a database is copied only while nobody is connected to it
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    try:
        # when the run is recorded, then replayed on the copy by two processes
        recording = complete_baseline.record(generate.DAY)
        path = tmp_path / "recording.pickle"
        complete_baseline.save(recording, path)
        with psycopg.connect(_dsn(copy)) as before:
            untouched = complete_baseline.state(before.cursor())
        replayed = complete_baseline.replay(path, _dsn(copy), processes=2)

        # then the copy holds the run's invoices, numbers and totals, and lines
        figures = complete_baseline.figures(recording)
        assert figures["invoices"] > 0
        assert figures["chunks"] >= 3
        assert figures["copies_per_chunk"] >= 3  # lines, taxes, invoices at least
        # as the run commits them: the chunk's, the numbers taken, the numbers set
        assert figures["transactions_per_chunk"] == 3
        # the claims' keys are written, not left to the table: two replaying processes
        # insert the same claims and number and apply each in its own chunk
        claims = [
            sql
            for chunk in recording.chunks
            for sql, _ in chunk.statements
            if sql.startswith('INSERT INTO "billing_numberclaim"')
        ]
        assert len(claims) == figures["chunks"]
        assert all(sql.startswith('INSERT INTO "billing_numberclaim" ("id",') for sql in claims)
        assert untouched != recording.state  # the check sees the run's writes
        assert replayed["same"], replayed["differs"]
        with connection.cursor() as run, psycopg.connect(_dsn(copy)) as other:
            assert len(_invoices(run)) == recording.invoices
            assert _invoices(other.cursor()) == _invoices(run)
            assert _lines(other.cursor()) == _lines(run)
    finally:
        with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
