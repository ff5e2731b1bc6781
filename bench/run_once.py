"""One measured billing run, in its own process: `python -m bench.run_once DAY [PROCESSES]`
(default: BILLING_RUN_PROCESSES).

Prints one JSON line: seconds, subscriptions, invoices, lines, queries, peak RSS, and how long
the invoice-number lock was held (from taking it to the commit that releases it). With several
processes, each forked from this one, the queries and lock holds are counted in shared memory
(the counters are made before the fork), and the peak RSS is the largest of this process's and
its children's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import date

_SELF_AND_CHILDREN = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)


def _cpu_seconds() -> float:
    """Processor time used so far by this process and its children (once they have ended)."""
    return sum(
        used.ru_utime + used.ru_stime for used in map(resource.getrusage, _SELF_AND_CHILDREN)
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.clock import travel

    travel()  # the nightly job's time (BENCH_NOW)
    from django.conf import settings
    from django.db import connection
    from django.db.backends.signals import connection_created

    from billing.services import numbering as numbering_module
    from billing.services import run as run_module

    day = date.fromisoformat(sys.argv[1])
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else settings.BILLING_RUN_PROCESSES
    shared = multiprocessing.get_context("fork")
    queries = shared.Value("q", 0)
    holds = shared.Value("i", 0)
    held = shared.Value("d", 0.0)
    longest = shared.Value("d", 0.0)

    def count(execute, sql, params, many, context):
        with queries.get_lock():
            queries.value += 1
        return execute(sql, params, many, context)

    # Every connection the run opens (one per process) counts its queries, once: a connection
    # reopened (the run closes this process's before it forks) keeps its wrappers. COPY
    # statements go straight to psycopg and are not counted: three to five per chunk.
    def wrap(sender, connection, **kwargs):
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    connection_created.connect(wrap)
    connection.ensure_connection()
    wrap(None, connection)

    real_number = numbering_module.number_claims
    waited = shared.Value("d", 0.0)

    def timed_number(series_years, *, timings=None):
        # The lock is held from the grant to the end of number_claims' own commit.
        mine: dict[str, float] = {}
        numbered = real_number(series_years, timings=mine)
        if timings is not None:
            for name, value in mine.items():
                timings[name] = timings.get(name, 0.0) + value
        if "numbering held" in mine:
            with waited.get_lock():
                waited.value += mine["numbering wait"]
            with holds.get_lock():
                holds.value += 1
                held.value += mine["numbering held"]
                longest.value = max(longest.value, mine["numbering held"])
        return numbered

    numbering_module.number_claims = timed_number
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    report = run_module.billing_run(day=day, processes=processes, send_emails=False)
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_before
    # The largest of this process's and its children's (each counts the pages they share).
    peak_kb = max(resource.getrusage(who).ru_maxrss for who in _SELF_AND_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "processes": processes,
                "chunk_size": settings.BILLING_CHUNK_SIZE,
                "subscriptions": report.subscriptions,
                "renewals": report.renewals,
                "invoices": report.invoices,
                "lines": report.lines,
                "queries": queries.value,
                "peak_rss_mb": peak_kb / 1024,
                # Processor time of this process and its children: the work, whatever the load
                # of the machine (the seconds above include waiting for a processor).
                "cpu_seconds": cpu_seconds,
                "lock_hold_max_ms": longest.value * 1000,
                "lock_hold_mean_ms": (held.value / holds.value * 1000) if holds.value else 0,
                # Waiting for the lock (another process holding it), summed over the chunks.
                "lock_wait_ms": waited.value * 1000,
                "chunks": holds.value,
                "phases": {
                    name: round(seconds, 3)
                    for name, seconds in report.timings.items()
                    if not name.startswith("numbering ")  # inside "numbering"
                },
            }
        )
    )


if __name__ == "__main__":
    main()
