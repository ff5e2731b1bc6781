"""A real process that kills itself (SIGKILL) in its Nth billing chunk. Deterministic, unlike
a kill timed from outside. Run as a script by tests/billing/test_concurrency.py
(KILL_IN_CHUNK=N), at KILL_AT:

- `lock` (the default): the subscriptions locked, the transaction open, nothing committed;
- `claimed`: the chunk committed (documents as drafts, their number claim), no number taken;
- `numbered`: the claim's numbers taken and committed, not yet set on the documents.

    die_in_chunk.py worker                  a Celery worker (solo pool)
    die_in_chunk.py run_billing --date D    the management command
"""

import os
import signal
import sys
from pathlib import Path

# This checkout's code, whichever checkout the virtual environment was installed from.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from billing.services import numbering, run  # noqa: E402 - after setup
from config.celery import app  # noqa: E402

real_lock_and_load = run._lock_and_load
real_issue_claimed = numbering.issue_claimed
KILL_AT = os.environ.get("KILL_AT", "lock")
chunks = 0


def dying() -> bool:
    return chunks == int(os.environ["KILL_IN_CHUNK"])


def lock_then_die(*args, **kwargs):
    global chunks
    locked = real_lock_and_load(*args, **kwargs)
    if not locked:
        return locked  # a message left by an earlier run, about rows not here: not a chunk
    chunks += 1
    if dying() and KILL_AT == "lock":
        os.kill(os.getpid(), signal.SIGKILL)
    return locked


def issue_then_die(claims, invoices=(), *, timings=None):
    if not (claims and dying()):
        return real_issue_claimed(claims, invoices, timings=timings)
    if KILL_AT == "numbered":
        numbering.number_claims({(c.series, c.year) for c in claims})
    os.kill(os.getpid(), signal.SIGKILL)


run._lock_and_load = lock_then_die
numbering.issue_claimed = issue_then_die
if sys.argv[1] == "worker":
    app.worker_main(
        [
            "worker",
            "--pool",
            "solo",
            "--queues",
            "celery,billing",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
else:
    call_command(*sys.argv[1:])
