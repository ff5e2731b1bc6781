"""The storefront's offers grid page (issue 18).

`make bench-storefront` (`python -m bench.storefront`; `make bench` runs it too) makes a fresh
database (BENCH_STOREFRONT_DB, default cadence_bench_storefront) on PostgreSQL, loads the demo
catalog and composes a grid of 6 plans with their features (one with a yearly twin, one with
a usage charge in tiers, one sold per seat), then requests its page with Django's test client
(no HTTP: the view, the selector, pricing, tax and the template) BENCH_STOREFRONT_REQUESTS times
(200) monthly for a French consumer, and as many yearly for a Belgian one: median and p95, and
the queries of one request.

Prints one JSON line, and writes the "Offers grid" section of docs/benchmarks.md (between its
markers; `make bench` keeps it when it does not run it).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from bench.__main__ import ROOT, fresh, machine, python, step

DATABASE = os.environ.get("BENCH_STOREFRONT_DB", "cadence_bench_storefront")
REQUESTS = int(os.environ.get("BENCH_STOREFRONT_REQUESTS", "200"))
TARGET_MS = 100
START = "<!-- bench-storefront: written by `make bench-storefront` (bench/storefront.py) -->"
END = "<!-- /bench-storefront -->"
PLANS = [
    ("cloud-backup-monthly", "cloud-backup-yearly"),
    ("api-metered-monthly", None),
    ("office-24m", None),
    ("platform-yearly", None),
    ("api-prepaid-monthly", None),
    ("device-seats", None),
]


def measure(requests: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.models import OffersGrid, OffersGridPlan, Plan
    from demo.catalog import seed_catalog

    call_command("migrate", verbosity=0)
    seed_catalog()
    grid = OffersGrid.objects.create(code="bench", name="Bench", currency="EUR")
    for position, (code, yearly) in enumerate(PLANS):
        OffersGridPlan.objects.create(
            grid=grid,
            plan=Plan.objects.get(code=code),
            yearly_plan=Plan.objects.get(code=yearly) if yearly else None,
            position=position,
            highlighted=position == 1,
            badge="Most popular" if position == 1 else "",
        )
    client = Client()
    results: dict = {"plans": len(PLANS), "requests": requests}
    for name, params in (
        ("monthly_fr", {}),
        ("yearly_be", {"period": "yearly", "country": "BE"}),
    ):
        for _warm in range(5):
            client.get("/offers/bench/", params)
        # The request's request_started signal empties the connection's log: empty it first,
        # so that the context counts from 0.
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/offers/bench/", params)
        # Read now: the context reads the connection's log, which the next request empties.
        count = len(queries)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b'class="offers__item"') == len(PLANS)
        times = []
        for _i in range(requests):
            started = time.perf_counter()
            response = client.get("/offers/bench/", params)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        results[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "queries": count,
            "bytes": len(response.content),
        }
    return results


def run() -> dict:
    step(f"storefront: the offers grid page, {REQUESTS} requests, on {DATABASE}")
    fresh(DATABASE)
    return python("bench.storefront", "measure", str(REQUESTS), database=DATABASE)


def _met(value: float) -> str:
    return "met" if value < TARGET_MS else "**not met**"


def line(results: dict) -> str:
    fr, be = results["monthly_fr"], results["yearly_be"]
    return (
        f"storefront: grid of {results['plans']} plans, {results['requests']} requests: "
        f"{fr['median_ms']} ms median, {fr['p95_ms']} ms p95, {fr['queries']} queries "
        f"(yearly, BE: {be['median_ms']} ms, {be['queries']} queries)"
    )


def section(results: dict, machine: dict) -> str:
    rows = []
    for name, label in (
        ("monthly_fr", "monthly prices, a French consumer"),
        ("yearly_be", "yearly prices, a Belgian consumer (One-Stop Shop rate)"),
    ):
        r = results[name]
        rows.append(
            f"| `/offers/<grid>/`, {results['plans']} plans, {label} | **{r['median_ms']} ms**"
            f" median, {r['p95_ms']} ms p95; {r['queries']} queries; {r['bytes']:,} bytes"
            f" | < {TARGET_MS} ms — {_met(r['median_ms'])} |"
        )
    return "\n".join(
        [
            START,
            "## Offers grid (issue 18)",
            "",
            f"- Date: {machine['date']}; machine: {machine['cpu']}, {machine['memory']} RAM;"
            f" load average at the end: {machine['load']}",
            "- Command: `make bench-storefront` (also run by `make bench`; under a minute);"
            " PostgreSQL, a fresh database with the demo catalog; Django's test client (the"
            f" view, selector, pricing, tax and template; no HTTP), {results['requests']}"
            " requests after 5 to warm up.",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            *rows,
            "",
            "The queries do not grow with the plans (tests/storefront/test_embed_and_queries.py:"
            " the same for 2 plans and 6): the grid and its campaign, its entries with their"
            " plans, terms and tax rates joined, then one query per relation for all the plans"
            " (bundles, items, tiers, features, usage charges, service periods), and the"
            " seller's tax rules once.",
            END,
        ]
    )


def write_section(text: str) -> None:
    page = ROOT / "docs" / "benchmarks.md"
    current = page.read_text() if page.exists() else "# Benchmarks\n"
    before, found, rest = current.partition(START)
    after = rest.partition(END)[2] if found else ""
    page.write_text(before.rstrip("\n") + "\n\n" + text + "\n" + after.lstrip("\n"))


def main() -> None:
    command = sys.argv[1:] or ["all"]
    if command[0] == "measure":
        print(json.dumps(measure(int(command[1]))))
        return
    results = run()
    results["machine"] = machine()
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-storefront.json").write_text(json.dumps(results, indent=2))
    write_section(section(results, results["machine"]))
    sys.stderr.write(line(results) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
