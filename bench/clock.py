"""The benchmark's clock: every measured process runs as the nightly job would, at BENCH_NOW.

The honest data's run is for D = 2027-01-01, at 23:00 UTC on D (bench.honest.run_day): the
usage window of December is then closed, so the metered subscriptions are billed, not held as
waiting. Processes the benchmark starts (the run, the replay, the Celery workers) call
`travel()` first; the clock then ticks from BENCH_NOW (durations are measured with
time.perf_counter, which time-machine leaves alone).
"""

from __future__ import annotations

import os
from datetime import datetime

import time_machine

_traveller = None


def travel() -> None:
    """Move this process's clock to BENCH_NOW (ISO 8601), once; nothing when it is not set."""
    global _traveller
    now = os.environ.get("BENCH_NOW")
    if not now or _traveller is not None:
        return
    _traveller = time_machine.travel(datetime.fromisoformat(now), tick=True)
    _traveller.start()


def celery_main() -> None:
    """`python -m bench.clock`: a Celery worker (arguments as for `celery`) on the bench's clock."""
    import sys

    from celery.__main__ import main

    travel()
    sys.argv[0] = "celery"
    main()


if __name__ == "__main__":
    celery_main()
