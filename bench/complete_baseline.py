"""The complete baseline (issue 19, step 2): the billing run's own SQL, replayed with its charges
computed in advance — the limit for this schema, where bench/baseline.py is the limit for its
writes alone.

`record`: the real run (billing_run, one process, one thread) on a copy of the data, with every
statement it sends captured in order, its parameters bound: Django's execute and executemany,
and the COPY statements core/db/bulk.py sends straight through psycopg, with the bytes they
write. A billing chunk's statements are kept in its transactions, as the run commits them (the
chunk's, then the numbering's: the numbers taken under the lock, then set on the documents);
those between chunks (the price book, the pages of due subscriptions) are kept with the chunk
they precede.

`replay`: on a fresh copy of the same starting data, each chunk in its own transactions (BEGIN,
its statements in order, every row of every read fetched, COPY with the recorded bytes, COMMIT)
— the same reads, locks, writes, triggers and deferred foreign-key checks, with nothing computed
in Python — on 1 connection, or on several processes pulling chunks in turn as the run's threads
do. The ids the run took with nextval() are the ones written again (a concurrent replay takes
others from the sequences, and writes the recorded ones), so the replayed database must equal
the run's: checked on the invoices, lines, taxes, events and subscriptions.

    python -m bench.complete_baseline record DAY OUTFILE     (DATABASE_URL: the run's copy)
    python -m bench.complete_baseline replay OUTFILE PROCESSES   (DATABASE_URL: a fresh copy)

Each prints one JSON line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg.copy import LibpqWriter, Writer

# A statement as the server received it: the SQL with its parameters bound (Django binds them
# on the client: its cursor is psycopg's ClientCursor), and for a COPY the bytes it wrote.
Statement = tuple[str, bytes | None]

# What the replayed database must share with the run's: every column but the primary keys (those
# of lines, taxes, events and history come from the tables' defaults, which a concurrent replay
# hands out in another order), timestamps included (the run stamps them in Python). Not the
# invoice sequence row: each chunk writes its new last number as a value (read under the lock,
# added to in Python), so after a concurrent replay it holds the number of the chunk that
# committed last, not always the highest; the invoices' numbers, checked, are the run's.
CHECKED_TABLES = (
    "billing_invoice",
    "billing_invoiceline",
    "billing_invoicetax",
    "billing_invoiceevent",
    "subscriptions_subscription",
    "subscriptions_subscriptionevent",
    "subscriptions_subscriptionseat",
    "subscriptions_historicalsubscription",
)


# Where the run commits a transaction and begins the next, within a chunk's statements.
END = ("-- the run commits here", None)


@dataclass
class Chunk:
    # The run's statements since the previous chunk, each in its own transaction (autocommit):
    # the price book, the page of due subscriptions that made this chunk.
    before: list[Statement] = field(default_factory=list)
    # The chunk: its transactions, separated by END.
    statements: list[Statement] = field(default_factory=list)

    def transactions(self) -> Iterator[list[Statement]]:
        part: list[Statement] = []
        for statement in self.statements:
            if statement == END:
                if part:
                    yield part
                part = []
            else:
                part.append(statement)
        if part:
            yield part


@dataclass
class Recording:
    day: str
    seconds: float  # the run, recording included
    recording_seconds: float  # of which binding the parameters and keeping the COPY data
    subscriptions: int
    invoices: int
    lines: int
    chunks: list[Chunk]
    after: list[Statement]  # after the last chunk: the last, empty, page of due subscriptions
    executemany: int  # executemany calls, each recorded as one statement per parameter set
    state: dict[str, Any]  # the database after the run (`state`)


class _Recorder:
    """Keeps every statement the run sends on Django's default connection, in order."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.pending: list[Statement] = []  # outside a chunk, until the next one starts
        self.current: list[Statement] | None = None
        self.executemany = 0
        self.seconds = 0.0
        self.binders: dict[int, psycopg.ClientCursor] = {}

    def binder(self, connection: psycopg.Connection) -> psycopg.ClientCursor:
        """Binds parameters as Django's cursor (a ClientCursor of that connection) does."""
        cursor = self.binders.get(id(connection))
        if cursor is None:
            cursor = self.binders[id(connection)] = psycopg.ClientCursor(connection)
        return cursor

    def keep(self, statement: Statement) -> None:
        (self.pending if self.current is None else self.current).append(statement)

    def execute(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        started = time.perf_counter()
        # A cursor of its own: mogrify() resets the one that has just run (and its rows).
        cursor = self.binder(context["connection"].connection)
        if many:
            self.executemany += 1
            for one in params:
                self.keep((cursor.mogrify(sql, one), None))
        else:
            self.keep((sql if params is None else cursor.mogrify(sql, params), None))
        self.seconds += time.perf_counter() - started
        return result

    @contextmanager
    def chunk(self) -> Iterator[None]:
        self.current = []
        try:
            yield
        finally:
            self.chunks.append(Chunk(before=self.pending, statements=self.current))
            self.pending, self.current = [], None


class _KeptWriter(Writer):
    """psycopg's COPY writer, keeping a copy of the bytes it sends."""

    def __init__(self, writer: Writer, recorder: _Recorder) -> None:
        self.writer = writer
        self.recorder = recorder
        self.parts: list[bytes] = []

    def write(self, data) -> None:
        started = time.perf_counter()
        self.parts.append(bytes(data))
        self.recorder.seconds += time.perf_counter() - started
        self.writer.write(data)

    def finish(self, exc: BaseException | None = None) -> None:
        self.writer.finish(exc)


@contextmanager
def _recording_copies(recorder: _Recorder) -> Iterator[None]:
    """Bench-only instrumentation, as bench/run_once.py times take_numbers: psycopg's
    Cursor.copy, wrapped in this process, keeps each COPY statement and the bytes written."""
    real_copy = psycopg.Cursor.copy

    @contextmanager
    def copy(self, statement, params=None, *, writer=None):
        kept = _KeptWriter(writer or LibpqWriter(self), recorder)
        with real_copy(self, statement, params, writer=kept) as copying:
            yield copying
        text = statement if params is None else self.mogrify(statement, params)
        if not isinstance(text, str):  # a psycopg.sql.Composed
            text = text.as_string(self)
        recorder.keep((text, b"".join(kept.parts)))

    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.Cursor.copy = real_copy  # type: ignore[method-assign]


def record(day: date) -> Recording:
    """Run billing_run for `day` on Django's default database (committed: not inside a
    transaction), in one thread, recording its statements."""
    from django.db import connection

    from billing.services import numbering
    from billing.services import run as run_module

    if connection.in_atomic_block:
        raise RuntimeError(
            "the recorded run commits its chunks: call record() outside a transaction"
        )
    recorder = _Recorder()
    real_chunk = run_module.billing_chunk
    real_number, real_apply = numbering.number_claims, numbering.apply_claims

    def chunk(**kwargs):
        with recorder.chunk():
            return real_chunk(**kwargs)

    def committing(real):
        # Each numbering step is a transaction of its own, after the chunk's commit.
        def step(*args, **kwargs):
            recorder.keep(END)
            try:
                return real(*args, **kwargs)
            finally:
                recorder.keep(END)

        return step

    run_module.billing_chunk = chunk
    numbering.number_claims = committing(real_number)
    numbering.apply_claims = committing(real_apply)
    connection.ensure_connection()
    try:
        with _recording_copies(recorder), connection.execute_wrapper(recorder.execute):
            started = time.perf_counter()
            report = run_module.billing_run(day=day, processes=1, send_emails=False)
            seconds = time.perf_counter() - started
    finally:
        run_module.billing_chunk = real_chunk
        numbering.number_claims, numbering.apply_claims = real_number, real_apply
    with connection.cursor() as cursor:
        after_run = state(cursor)
    return Recording(
        day=day.isoformat(),
        seconds=seconds,
        recording_seconds=recorder.seconds,
        subscriptions=report.subscriptions,
        invoices=report.invoices,
        lines=report.lines,
        chunks=recorder.chunks,
        after=recorder.pending,
        executemany=recorder.executemany,
        state=after_run,
    )


def save(recording: Recording, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        pickle.dump(recording, file, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: Path) -> Recording:
    with path.open("rb") as file:
        return pickle.load(file)  # noqa: S301 - a file this module wrote


def figures(recording: Recording) -> dict[str, Any]:
    """What the recording holds, per chunk."""
    chunks = recording.chunks
    statements = [sum(len(t) for t in c.transactions()) for c in chunks]
    copies = [sum(1 for _, data in c.statements if data is not None) for c in chunks]
    between = sum(len(c.before) for c in chunks) + len(recording.after)
    return {
        "day": recording.day,
        "run_seconds": recording.seconds - recording.recording_seconds,
        "record_seconds": recording.seconds,
        "recording_overhead_seconds": recording.recording_seconds,
        "subscriptions": recording.subscriptions,
        "invoices": recording.invoices,
        "lines": recording.lines,
        "chunks": len(chunks),
        "statements_per_chunk": max(statements, default=0),
        "statements_per_chunk_min": min(statements, default=0),
        "copies_per_chunk": max(copies, default=0),
        "transactions_per_chunk": max((len(list(c.transactions())) for c in chunks), default=0),
        "statements_between_chunks": between,
        "copy_mb": sum(len(d) for c in chunks for _, d in c.statements if d) / 1e6,
        "executemany": recording.executemany,
    }


# Replay ---------------------------------------------------------------------------------------


def _connect(dsn: str) -> psycopg.Connection:
    # Like Django's connection: client-side binding, no prepared statements. Autocommit, so that
    # each chunk is BEGIN … COMMIT as in the run, and the statements between chunks stand alone.
    return psycopg.connect(
        dsn, autocommit=True, prepare_threshold=None, cursor_factory=psycopg.ClientCursor
    )


def _play(cursor: psycopg.Cursor, statements: Sequence[Statement]) -> None:
    for sql, data in statements:
        if (sql, data) == END:
            continue  # between chunks, every statement stands alone (autocommit)
        if data is None:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()  # the rows come over, as they did to the run
        else:
            with cursor.copy(sql) as copy:
                copy.write(data)


def _replayer(path: str, dsn: str, turn, ready, go) -> None:
    """One replaying process: its own connection, the next chunk not yet taken, until none."""
    chunks = load(Path(path)).chunks
    with _connect(dsn) as conn, conn.cursor() as cursor:
        ready.release()
        go.wait()
        while True:
            with turn.get_lock():
                index = turn.value
                turn.value += 1
            if index >= len(chunks):
                return
            chunk = chunks[index]
            _play(cursor, chunk.before)
            for statements in chunk.transactions():
                with conn.transaction():
                    _play(cursor, statements)


def replay(path: Path, dsn: str, processes: int) -> dict[str, Any]:
    """Replay the recording at `path` into the database at `dsn` (a fresh copy of the data the
    run started from) in `processes` processes; the seconds from the start of the first chunk to
    the last commit, and whether the database ended as the run's did."""
    recording = load(path)
    spawn = multiprocessing.get_context("spawn")  # a clean process: no inherited connection
    turn = spawn.Value("l", 0)
    ready = spawn.Semaphore(0)
    go = spawn.Event()
    workers = [
        spawn.Process(target=_replayer, args=(str(path), dsn, turn, ready, go))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:  # loaded and connected: only the replay is timed
        while not ready.acquire(timeout=1):
            if any(w.exitcode for w in workers):  # died before it was ready: never comes
                go.set()
                raise RuntimeError("a replaying process failed before the replay")
    with _connect(dsn) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        go.set()
        for worker in workers:
            worker.join()
        _play(cursor, recording.after)
        seconds = time.perf_counter() - started
        failed = [w.exitcode for w in workers if w.exitcode]
        if failed:
            raise RuntimeError(f"a replaying process failed (exit codes {failed})")
        replayed = state(cursor)
    differences = [
        table
        for table in sorted(set(recording.state) | set(replayed))
        if recording.state.get(table) != replayed.get(table)
    ]
    run_seconds = recording.seconds - recording.recording_seconds
    return {
        "processes": processes,
        "seconds": seconds,
        # The recorded run (one thread) over this replay.
        "ratio": run_seconds / seconds if seconds else None,
        "same": not differences,
        "differs": differences,
    }


def measure(
    day: str, *, path: Path, fresh: Callable[[], None], command: Callable[..., dict]
) -> dict[str, Any]:
    """The main bench's step: the run recorded on a fresh copy of the data, then replayed on a
    fresh copy with 1 and 2 processes. `fresh()` makes the copy; `command(*args)` runs this
    module's command on it, in its own process, and returns its JSON line."""
    fresh()
    results = command("record", day, str(path))
    try:
        for processes in (1, 2):
            fresh()
            results[f"replay_{processes}"] = command("replay", str(path), str(processes))
    finally:
        path.unlink(missing_ok=True)
    return results


# The check --------------------------------------------------------------------------------------


def state(cursor) -> dict[str, Any]:
    """Per checked table: its rows and a digest of their values (every column but the primary
    key), and the invoices' totals per currency."""
    result: dict[str, Any] = {}
    for table in CHECKED_TABLES:
        cursor.execute(
            "SELECT a.attname FROM pg_attribute AS a"
            " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            " AND NOT EXISTS (SELECT FROM pg_index AS i WHERE i.indrelid = a.attrelid"
            " AND i.indisprimary AND a.attnum = ANY(i.indkey)) ORDER BY a.attnum",
            [table],
        )
        columns = [name for (name,) in cursor.fetchall()]
        if not columns:
            continue
        values = ", ".join(f'"{name}"' for name in columns)
        cursor.execute(
            # Each row as text, in the order of that text: the same whatever order they came in.
            f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), ''))"  # noqa: S608 - catalog names
            f" FROM (SELECT ROW({values})::text AS r FROM {table}) AS rows"
        )
        rows, digest = cursor.fetchone()
        result[table] = [rows, digest]
    cursor.execute(
        "SELECT currency, count(*), sum(total)::text, sum(net_total)::text FROM billing_invoice"
        " GROUP BY currency ORDER BY currency"
    )
    result["invoice_totals"] = [list(row) for row in cursor.fetchall()]
    return result


# Commands -------------------------------------------------------------------------------------


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.clock import travel

    travel()  # the nightly job's time (BENCH_NOW)


def _dsn() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.complete_baseline: DATABASE_URL must be PostgreSQL")
    return url


def main(argv: Sequence[str]) -> None:
    command, *args = argv
    if command == "record":
        _setup()
        recording = record(date.fromisoformat(args[0]))
        save(recording, Path(args[1]))
        print(json.dumps(figures(recording)))
    elif command == "replay":
        path, processes = Path(args[0]), int(args[1])
        print(json.dumps(replay(path, _dsn(), processes)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    # Through the module's own name: the recording pickles its classes by where they live.
    from bench.complete_baseline import main as complete_baseline_main

    complete_baseline_main(sys.argv[1:])
