"""The dashboard, the reports and the figures' API at the benchmark's size: the billing
benchmark's database after its run (N subscriptions), padded to BENCH_REPORT_LINES invoice lines
(1,000,000 by default, bench/revenue.py's `fill`), its MRR segments rebuilt (timed), then each
page's median and p95 over repeated requests and its query count. Prints one JSON line.

    DATABASE_URL=postgres://…/cadence_bench … python -m bench.reports
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date

REPEAT = 7
DAY = date(2027, 1, 1)
START = (
    "<!-- bench-reports: measured by `make bench` and `make bench-reports` (bench/reports.py) -->"
)
END = "<!-- /bench-reports -->"
TARGETS = {"dashboard": 500, "report": 2000}


def section(results: dict, machine: dict) -> str:
    """docs/benchmarks.md's section of these figures."""
    rows = []
    for title, page in results["pages"].items():
        if "median_ms" not in page:
            rows.append(f"| {title} | {page.get('status', '')} | | | |")
            continue
        limit = next((ms for key, ms in TARGETS.items() if title.startswith(key)), None)
        verdict = "" if limit is None else ("met" if page["median_ms"] < limit else "not met")
        target = "" if limit is None else f"< {limit:,} ms — {verdict}"
        rows.append(
            f"| {title} | {page['median_ms']:,.0f} ms | {page['max_ms']:,.0f} ms "
            f"| {page['queries']} | {target} |"
        )
    return "\n".join(
        [
            START,
            "## Dashboard, reports and MRR (issue 16)",
            "",
            f"- Date: {machine.get('date', '')}; {machine.get('cpu', '')}, {machine.get('memory', '')};"
            f" load average at the end: {machine.get('load', '')}.",
            f"- {results['mrr_refresh_subscriptions']:,} subscriptions billed by the run, padded to"
            f" {results['invoice_lines']:,} invoice lines; MRR rebuilt for every subscription in"
            f" {results['mrr_refresh_full_s']} s, then what changed since in"
            f" {results['mrr_refresh_incremental_s']} s. Each page asked for {REPEAT} times.",
            "",
            "| page | median | slowest | queries | target |",
            "|---|---|---|---|---|",
            *rows,
            END,
        ]
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import time_machine
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from rest_framework.authtoken.models import Token

    from bench.revenue import fill
    from demo.logins import seed_operator
    from partners.models import Partner, PartnerUser
    from reports.services import mrr_refresh

    lines = int(os.environ.get("BENCH_REPORT_LINES", "1000000"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        present = cursor.fetchone()[0]
        if present < lines:
            with transaction.atomic():
                fill(cursor, lines - present)
            cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        present = cursor.fetchone()[0]
    results: dict = {"invoice_lines": present}

    started = time.perf_counter()
    refresh = mrr_refresh(today=DAY, full=True)
    results["mrr_refresh_full_s"] = round(time.perf_counter() - started, 1)
    results["mrr_refresh_subscriptions"] = refresh.subscriptions
    started = time.perf_counter()
    mrr_refresh(today=DAY)
    results["mrr_refresh_incremental_s"] = round(time.perf_counter() - started, 2)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reports_mrrsegment")

    seed_operator()
    operator = get_user_model().objects.get(username="operator")
    token, _created = Token.objects.get_or_create(user=operator)
    # The generated data has partners but no portal users: one for the largest partner.
    partner = Partner.objects.annotate(n=Count("customer_links")).order_by("-n").first()
    partner_user = None
    if partner is not None:
        user, _created = get_user_model().objects.get_or_create(username="bench-partner")
        partner_user, _created = PartnerUser.objects.get_or_create(
            user=user, defaults={"partner": partner}
        )
    report = lambda slug: reverse("reports:report", args=[slug])  # noqa: E731
    pages = [
        ("dashboard (admin home, 12 months)", operator, reverse("admin:index"), {}),
        ("dashboard, 24 months", operator, reverse("admin:index") + "?months=24", {}),
        *(
            (f"report: {slug}", operator, report(slug), {})
            for slug in (
                "mrr",
                "mrr-breakdown",
                "revenue",
                "aged-receivables",
                "invoicing",
                "receivables",
                "active-subscriptions",
            )
        ),
        (
            "report: MRR movements drill-down",
            operator,
            reverse("reports:mrr-movements") + "?month=2026-12",
            {},
        ),
        (
            "API: MRR, 12 months",
            None,
            "/api/v1/reports/mrr/",
            {"HTTP_AUTHORIZATION": f"Token {token.key}"},
        ),
        (
            "partner: figures",
            partner_user.user if partner_user else None,
            reverse("partners:figures"),
            {},
        ),
    ]
    timings_of: dict = {}
    with time_machine.travel(DAY, tick=True):
        for title, user, path, headers in pages:
            client = Client()
            if user is not None:
                client.force_login(user)
            response = client.get(path, **headers)  # warm
            if response.status_code != 200:
                timings_of[title] = {"status": f"HTTP {response.status_code}", "path": path}
                continue
            with CaptureQueriesContext(connection) as queries:
                client.get(path, **headers)
            count = len(queries.captured_queries)
            timings = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                client.get(path, **headers)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            timings_of[title] = {
                "path": path,
                "median_ms": round(statistics.median(timings), 1),
                "max_ms": round(timings[-1], 1),
                "queries": count,
            }
    results["pages"] = timings_of
    print(json.dumps(results))


if __name__ == "__main__":
    main()
