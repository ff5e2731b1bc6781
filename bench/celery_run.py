"""The billing run fanned out as Celery tasks on the `billing` queue, with W worker processes
(`python -m bench.celery_run DAY W [THREADS]`): each worker runs one chunk at a time (the solo
pool), or THREADS chunks at once in Celery's thread pool. Times from the first chunk queued to
the last subscription billed. Prints one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.clock import travel

    travel()  # the nightly job's time (BENCH_NOW)
    from celery import current_app
    from django.conf import settings

    from billing.models import Invoice, NumberClaim
    from billing.services import due_chunks
    from billing.tasks import new_run_id, run_chunk
    from subscriptions.models import Subscription

    day = date.fromisoformat(sys.argv[1])
    workers_count = int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    pool = ["--pool", "solo"] if threads == 1 else ["--pool", "threads"]
    current_app.control.purge()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.clock",  # celery, on the benchmark's clock
                "-A",
                "config",
                "worker",
                "--queues",
                "billing",
                "--concurrency",
                str(threads),
                *pool,
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench{index}@%h",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(workers_count)
    ]
    try:
        # The clock starts once every worker answers (started, connected, consuming).
        deadline = time.monotonic() + 120
        while len(current_app.control.ping(timeout=0.5)) < workers_count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise SystemExit("the Celery workers did not start")
        due = Subscription.objects.filter(next_billing_date__lte=day).count()
        started = time.perf_counter()
        chunks = 0
        run = new_run_id(day)
        last: list[int] = []
        for ids in due_chunks(day=day, chunk_size=settings.BILLING_CHUNK_SIZE):
            run_chunk.apply_async(args=[ids, day.isoformat(), run], queue="billing")
            chunks += 1
            last = ids

        def waiting(ids=None) -> bool:
            # Watching the chunk queued last is a primary-key lookup; a scan of the due index
            # twenty times a second would take PostgreSQL's time from the workers.
            rows = Subscription.objects.filter(next_billing_date__lte=day)
            return (rows.filter(pk__any=ids) if ids else rows).exists()

        def numbering() -> bool:
            # A chunk has committed its subscriptions before its documents get their numbers.
            return NumberClaim.objects.filter(applied_at__isnull=True).exists()

        while waiting(last) or waiting() or numbering():
            if any(worker.poll() is not None for worker in workers):
                raise SystemExit("a worker stopped")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(60)
    print(
        json.dumps(
            {
                "workers": workers_count,
                "threads": threads,
                "seconds": seconds,
                "subscriptions": due,
                "chunks": chunks,
                "invoices": Invoice.objects.count(),
            }
        )
    )


if __name__ == "__main__":
    main()
