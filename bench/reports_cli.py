"""`make bench-reports`: N subscriptions (100,000 by default) generated and billed as `make bench`
does, padded to 1,000,000 invoice lines (BENCH_REPORT_LINES), then the MRR rebuild, the
dashboard, each report and the figures' API timed (bench/reports.py). Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys

from bench.__main__ import DAY, RUN_DB, SEED_DB, fresh, generate, psql, python, step


def main() -> None:
    n = int(os.environ.get("N", "100000"))
    seed = SEED_DB + "_reports"
    step(f"generating {n} subscriptions")
    generate(n, seed)
    fresh(RUN_DB, seed)
    step("billing run")
    python("bench.run_once", DAY, "2", database=RUN_DB)
    step("the dashboard and the reports")
    results = python("bench.reports", database=RUN_DB)
    psql(f"DROP DATABASE IF EXISTS {seed} WITH (FORCE)")
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
