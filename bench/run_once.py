"""One measured billing run, in its own process (peak memory is this process's own).

Prints one JSON line: seconds, subscriptions, invoices, lines, queries, peak RSS, and how long
the invoice-number lock was held (from taking it to the commit that releases it).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from billing.services import documents as documents_module
    from billing.services import run as run_module

    day = date.fromisoformat(sys.argv[1])
    chunk_size = int(sys.argv[2]) if len(sys.argv) > 2 else None
    queries = {"n": 0}

    def count(execute, sql, params, many, context):
        queries["n"] += 1
        return execute(sql, params, many, context)

    holds: list[float] = []
    real_take = documents_module.take_numbers

    def timed_take(invoices, *, day):
        started = time.perf_counter()
        numbered = real_take(invoices, day=day)
        # The sequence row stays locked until the chunk's transaction commits.
        transaction.on_commit(lambda: holds.append(time.perf_counter() - started))
        return numbered

    documents_module.take_numbers = timed_take
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        report = run_module.billing_run(day=day, chunk_size=chunk_size, send_emails=False)
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
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
