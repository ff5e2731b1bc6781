"""`make bench-reports`: N subscriptions (100,000 by default) generated and billed as `make bench`
does, padded to 1,000,000 invoice lines (BENCH_REPORT_LINES), then the MRR rebuild, the
dashboard, each report and the figures' API timed (bench/reports.py). Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys

from bench import reports
from bench.__main__ import (
    DAY,
    ROOT,
    RUN_DB,
    SEED_DB,
    fresh,
    generate,
    machine,
    psql,
    python,
    step,
)


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
    write_section(reports.section(results, machine()))


def write_section(text: str) -> None:
    """Put `text` in docs/benchmarks.md in place of the previous reports section (or last)."""
    page = ROOT / "docs" / "benchmarks.md"
    current = page.read_text()
    before, found, rest = current.partition(reports.START)
    after = rest.partition(reports.END)[2] if found else ""
    page.write_text(before.rstrip("\n") + "\n\n" + text + "\n" + after.lstrip("\n"))


if __name__ == "__main__":
    main()
