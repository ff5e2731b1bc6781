"""A real process that kills itself (SIGKILL) in the middle of its Nth billing chunk: the
subscriptions locked, the transaction open, nothing committed. Deterministic, unlike a kill
timed from outside. Run as a script by tests/billing/test_concurrency.py (KILL_IN_CHUNK=N):

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

from billing.services import run  # noqa: E402 - after setup
from config.celery import app  # noqa: E402

real_lock_and_load = run._lock_and_load
chunks = 0


def lock_then_die(*args, **kwargs):
    global chunks
    locked = real_lock_and_load(*args, **kwargs)
    if not locked:
        return locked  # a message left by an earlier run, about rows not here: not a chunk
    chunks += 1
    if chunks == int(os.environ["KILL_IN_CHUNK"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return locked


run._lock_and_load = lock_then_die
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
