"""One measured billing run, in its own process (peak memory is this process's own):
`python -m bench.run_once DAY [THREADS]` (default: BILLING_RUN_THREADS).

Prints one JSON line: seconds, subscriptions, invoices, lines, queries, peak RSS, and how long
the invoice-number lock was held (from taking it to the commit that releases it).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from datetime import date


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.backends.signals import connection_created

    from billing.services import documents as documents_module
    from billing.services import run as run_module

    day = date.fromisoformat(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else settings.BILLING_RUN_THREADS
    queries = {"n": 0}
    counting = threading.Lock()

    def count(execute, sql, params, many, context):
        with counting:
            queries["n"] += 1
        return execute(sql, params, many, context)

    # Every connection the run opens (one per thread) counts its queries. COPY statements
    # go straight to psycopg and are not counted: three to five per chunk.
    def wrap(sender, connection, **kwargs):
        connection.execute_wrappers.append(count)

    connection_created.connect(wrap)
    connection.ensure_connection()
    if count not in connection.execute_wrappers:
        connection.execute_wrappers.append(count)

    holds: list[float] = []
    real_take = documents_module.take_numbers

    def timed_take(invoices, *, day):
        started = time.perf_counter()
        real_take(invoices, day=day)
        # The sequence row stays locked until the chunk's transaction commits.
        transaction.on_commit(lambda: holds.append(time.perf_counter() - started))

    documents_module.take_numbers = timed_take
    started = time.perf_counter()
    report = run_module.billing_run(day=day, threads=threads, send_emails=False)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "threads": threads,
                "chunk_size": settings.BILLING_CHUNK_SIZE,
                "subscriptions": report.subscriptions,
                "renewals": report.renewals,
                "invoices": report.invoices,
                "lines": report.lines,
                "queries": queries["n"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "lock_hold_max_ms": max(holds, default=0) * 1000,
                "lock_hold_mean_ms": (sum(holds) / len(holds) * 1000) if holds else 0,
                "chunks": len(holds),
                "phases": {name: round(seconds, 3) for name, seconds in report.timings.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
