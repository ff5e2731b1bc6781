"""The MRR figures at scale, in the database of DATABASE_URL (the billing benchmark's, after its
run): the full rebuild of the segments and months (`reports.mrr_refresh`), then the reads the
dashboard, the reports and the API make — median of 5. Prints one JSON line.

    DATABASE_URL=postgres://…/cadence_bench DEBUG=false … python -m bench.mrr
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from datetime import date

DAY = date(2027, 1, 1)


def timed(function, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from reports import selectors, services
    from reports.models import MrrMonth, MrrSegment
    from reports.months import months_back

    started = time.perf_counter()
    # BENCH_MRR_REFRESH=0 times the reads alone, on segments already built.
    refresh = services.mrr_refresh(today=DAY, full=os.environ.get("BENCH_MRR_REFRESH", "1") != "0")
    full_seconds = time.perf_counter() - started
    started = time.perf_counter()
    services.mrr_refresh(today=DAY)
    incremental_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reports_mrrsegment")
    months_12 = months_back(DAY, 12)
    months_24 = months_back(DAY, 24)
    days = [date.fromordinal(DAY.toordinal() - 364 + i) for i in range(365)]
    by_plan = selectors.MrrFilters(plan_id=MrrSegment.objects.values_list("plan", flat=True)[0])
    month = months_12[-2]
    results = {
        "subscriptions": refresh.subscriptions,
        "segments": MrrSegment.objects.count(),
        "months_stored": MrrMonth.objects.count(),
        "refresh_full_s": round(full_seconds, 2),
        "refresh_incremental_s": round(incremental_seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "reads_ms": {
            name: round(1000 * timed(call), 1)
            for name, call in {
                "mrr_on_today": lambda: selectors.mrr_on(DAY),
                "monthly_figures_12": lambda: selectors.monthly_figures(months_12, today=DAY),
                "monthly_figures_24": lambda: selectors.monthly_figures(months_24, today=DAY),
                "monthly_figures_12_by_plan_live": lambda: selectors.monthly_figures(
                    months_12, by_plan, today=DAY
                ),
                "mrr_series_365_days": lambda: selectors.mrr_series(days),
                "movements_month_with_100_largest_changes": lambda: selectors.change_details(
                    sorted(selectors.month_movements(month)[1], key=selectors.largest_first)[:100],
                    *selectors.month_bounds(month),
                ),
                "breakdown_by_plan": lambda: selectors.breakdown(DAY, "plan"),
            }.items()
        },
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
