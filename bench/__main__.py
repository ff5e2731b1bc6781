"""`make bench` (python -m bench): the billing run and the pages at scale, on PostgreSQL.

1. Generates N subscriptions (default 100,000; N=… to change) into a template database, once.
2. The daily billing run on a day when every subscription is due (renewals, invoicing,
   numbering), in a fresh process, alone and with two forked processes: subscriptions per second,
   invoices and lines written, peak memory, queries per subscription, how long the
   invoice-number lock is held. Also at N/10, to show memory stays flat in N.
3. The raw-SQL baseline: the same invoices, lines and taxes written with COPY and numbered by
   one UPDATE — the physical limit of this machine; the ratio run ÷ baseline. And the complete
   baseline (bench/complete_baseline.py): the run's own SQL, recorded, replayed with its
   charges computed in advance on 1 and 2 connections — the limit for this schema.
4. The pages at that size, once the reports' step has padded the database to a million invoice
   lines: admin subscription, invoice and invoice-line lists, a partner's customer list and
   customer page, the API subscription and invoice lists — median and p95 over repeated
   requests, and their query counts.
5. The billing run fanned out as Celery tasks on the `billing` queue: 1 and 2 workers of one
   thread each (solo pool), and 1 worker of two threads (thread pool).
6. The payments side (bench/statements.py, `make bench-payments` alone): a camt.053 of
   BENCH_PAYMENTS_N entries (10,000 by default), a pain.008 of as many debits and their
   collection from the statement.
7. Usage (bench/usage.py, `make bench-usage` alone): usage events recorded through the API
   over HTTP, and a period of 10,000,000 events aggregated (a few minutes more).
8. The offers grid page (bench/storefront.py, `make bench-storefront` alone): a grid of 6
   plans, median over 200 requests and its queries.
Writes docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAY = "2027-01-01"
PG = "postgres://postgres@127.0.0.1:5432/"
SEED_DB = "cadence_bench_seed"
RUN_DB = "cadence_bench"
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")


def env(database: str, **extra: str) -> dict[str, str]:
    values = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    # The benchmark's own knobs (BENCH_REPORT_LINES, BENCH_HONEST_ARCHETYPES…) reach its steps.
    values.update({k: v for k, v in os.environ.items() if k.startswith("BENCH_")})
    values.update(
        DEBUG="false",  # DEBUG keeps every query in memory: never measure with it
        SECRET_KEY="benchmark-only-secret-key-" + "k" * 40,
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        INVOICE_EMAILS="false",
        LOG_LEVEL="WARNING",
        DATABASE_URL=PG + database,
        CELERY_BROKER_URL=BROKER,
        DJANGO_SETTINGS_MODULE="config.settings",
        # The nightly run's time on D (bench/clock.py): December's usage window is closed.
        BENCH_NOW=f"{DAY}T23:00:00+00:00",
    )
    values.update(extra)
    return values


def sh(*args: str, database: str | None = None, **extra: str) -> str:
    result = subprocess.run(
        args,
        cwd=ROOT,
        env=env(database or RUN_DB, **extra),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench: {' '.join(args)} failed")
    return result.stdout


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True
    )


def fresh(database: str, template: str | None = None) -> None:
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}" + (f" TEMPLATE {template}" if template else ""))


def python(module: str, *args: str, database: str) -> dict:
    out = sh(sys.executable, "-m", module, *args, database=database)
    return json.loads(out.strip().splitlines()[-1])


def step(title: str) -> None:
    sys.stderr.write(f"bench: {title}…\n")


def generate(n: int, database: str) -> dict:
    fresh(database)
    # Honest data (bench/honest.py, issue 19): every rule the run applies, on its own dates.
    return python("bench.honest_cli", str(n), "--generate", database=database)


def main() -> None:
    n = int(os.environ.get("N", "100000"))
    small = max(n // 10, 1000)
    results: dict = {"n": n, "small_n": small, "day": DAY}
    results["billing_only"] = os.environ.get("BENCH_BILLING_ONLY") == "1"

    step(f"generating {n} subscriptions")
    results["generate"] = generate(n, SEED_DB)
    step("billing run, in one process")
    fresh(RUN_DB, SEED_DB)
    results["run_1"] = python("bench.run_once", DAY, "1", database=RUN_DB)
    step("billing run, in four processes (one PostgreSQL)")
    fresh(RUN_DB, SEED_DB)
    results["run_4"] = python("bench.run_once", DAY, "4", database=RUN_DB)
    step("billing run, in two processes")
    fresh(RUN_DB, SEED_DB)
    results["run"] = python("bench.run_once", DAY, "2", database=RUN_DB)
    step("what the run billed: line kinds, distinct invoices")
    results["data"] = python("bench.honest_cli", "--report", database=RUN_DB)
    step("raw-SQL baseline of the same writes")
    results["baseline"] = python("bench.baseline", database=RUN_DB)
    # A live database has autovacuum's statistics; a table just filled by the run has none yet,
    # and the planner would time pages on guesses no production server makes.
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", RUN_DB, "-qc", "VACUUM ANALYZE"],
        check=True,
    )
    step("the dashboard and the reports, padded to a million invoice lines")
    results["reports"] = python("bench.reports", database=RUN_DB)
    step("pages, on the padded invoice lines")
    results["pages"] = python("bench.pages", database=RUN_DB)
    step("complete baseline: the run's own SQL recorded, then replayed on 1 and 2 connections")
    from bench import complete_baseline

    results["complete_baseline"] = complete_baseline.measure(
        DAY,
        path=ROOT / "var" / "complete_baseline.pickle",
        fresh=lambda: fresh(RUN_DB, SEED_DB),
        command=lambda *args: python("bench.complete_baseline", *args, database=RUN_DB),
    )
    for workers, threads in ((1, 1), (2, 1), (4, 1)):
        step(f"billing run on {workers} Celery worker(s) of {threads} thread(s)")
        fresh(RUN_DB, SEED_DB)
        name = f"celery_{workers}" + ("" if threads == 1 else f"x{threads}")
        results[name] = python("bench.celery_run", DAY, str(workers), str(threads), database=RUN_DB)
    step(f"billing run at N={small}, for memory against N")
    generate(small, SEED_DB + "_small")
    fresh(RUN_DB, SEED_DB + "_small")
    results["run_small"] = python("bench.run_once", DAY, "2", database=RUN_DB)
    psql(f"DROP DATABASE IF EXISTS {SEED_DB}_small WITH (FORCE)")
    if os.environ.get("BENCH_BILLING_ONLY") == "1":
        # The other sections stay as their own commands last wrote them.
        finish(results)
        return
    from bench import statements

    results["payments"] = statements.run(int(os.environ.get("BENCH_PAYMENTS_N", "10000")))
    from bench import usage

    results["usage"] = usage.run()
    from bench import storefront

    results["storefront"] = storefront.run()
    finish(results)


def finish(results: dict) -> None:
    results["machine"] = machine()
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "benchmarks.json").write_text(json.dumps(results, indent=2))
    write_report(results)


def write_report(results: dict) -> None:
    from bench import reports, statements, storefront, usage
    from bench.report import render

    # The payments section: measured with this run, or kept from `make bench-payments`.
    payments = (
        statements.section(results["payments"], results["machine"])
        if "payments" in results
        else statements.kept_section()
    )
    page = render(results, results["machine"]).rstrip("\n") + "\n"
    if payments:
        page += "\n" + payments + "\n"
    # The sections measured by their own commands stay (exports); the reports' is this run's.
    page += kept(EXPORTS_START, EXPORTS_END)
    if "reports" in results:
        page += "\n" + reports.section(results["reports"], results["machine"]) + "\n"
    else:
        page += kept(reports.START, reports.END)
    # The usage section: measured with this run, or kept from `make bench-usage`.
    if "usage" in results:
        page += "\n" + usage.section(results["usage"], results["machine"]) + "\n"
    else:
        page += kept(usage.START, usage.END)
    # The offers grid's section: measured with this run, or kept from `make bench-storefront`.
    if "storefront" in results:
        page += "\n" + storefront.section(results["storefront"], results["machine"]) + "\n"
    else:
        page += kept(storefront.START, storefront.END)
    # The honest data's section (issue 19, step 1), measured by `make bench-honest`.
    page += kept(HONEST_START, HONEST_END)
    (ROOT / "docs" / "benchmarks.md").write_text(page)
    sys.stderr.write("bench: written docs/benchmarks.md\n")


EXPORTS_START = "<!-- bench-exports: measured by `make bench-exports` (bench/exports.py) -->"
EXPORTS_END = "<!-- /bench-exports -->"
HONEST_START = "<!-- bench-honest: measured by `make bench-honest` (bench/honest.py) -->"
HONEST_END = "<!-- /bench-honest -->"


def kept(start: str, end: str) -> str:
    """A section of docs/benchmarks.md written by another command, as it is now (or empty)."""
    page = ROOT / "docs" / "benchmarks.md"
    current = page.read_text() if page.exists() else ""
    if start not in current:
        return ""
    return "\n" + start + current.partition(start)[2].partition(end)[0] + end + "\n"


def machine() -> dict:
    def read(command: list[str]) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return ""

    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = int(meminfo.read_text().split()[1])
        memory = f"{total / 1024 / 1024:.1f} GiB"
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = f"{len(names)} × {names[0]}" if names else ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu or f"{os.cpu_count()} CPUs",
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": read(["psql", "--version"]),
        "system": platform.platform(),
        "load": read(["cat", "/proc/loadavg"]),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["report"]:  # docs/benchmarks.md again from the last run's figures
        write_report(json.loads((ROOT / "var" / "benchmarks.json").read_text()))
    else:
        main()
