"""docs/benchmarks.md states the size the pages were measured at: `make bench` measures them
after bench.reports has padded the database to a million invoice lines (issue 19)."""

from bench.report import render

RUN = {
    "seconds": 10.0,
    "subscriptions": 1000,
    "threads": 2,
    "renewals": 100,
    "invoices": 900,
    "lines": 1200,
    "queries": 70,
    "chunks": 1,
    "peak_rss_mb": 120.0,
    "lock_hold_mean_ms": 300.0,
    "lock_hold_max_ms": 400.0,
    "phases": {"load": 1.0, "compute": 5.0, "commit": 1.0},
}
MACHINE = {
    "date": "2026-12-06",
    "cpu": "2 cores",
    "memory": "4 GB",
    "system": "Linux",
    "python": "3.11",
    "postgresql": "PostgreSQL 16",
    "load": "1.0",
}
PAGE = {"path": "/admin/billing/invoice/", "median_ms": 120.0, "p95_ms": 200.0, "queries": 8}


def results(pages: dict) -> dict:
    return {
        "n": 1000,
        "small_n": 1000,
        "day": "2027-01-01",
        "generate": {"seconds": 5, "renewing": 10, "seats_added": 5, "cancelling": 3, "ending": 1},
        "run": RUN,
        "run_1": RUN,
        "baseline": {"seconds": 5.0, "invoices": 900, "lines": 1200},
        "run_small": RUN,
        "celery_1": {**RUN, "workers": 1},
        "celery_2": {**RUN, "workers": 2, "seconds": 6.0},
        "pages": pages,
    }


def test_the_pages_are_stated_at_the_subscriptions_and_invoice_lines_measured_on():
    measured = {
        "subscriptions": 100_002,
        "invoice_lines": 1_000_004,
        "pages": {"admin: invoices": PAGE, "admin: invoice lines": {**PAGE, "median_ms": 400.0}},
    }

    page = render(results(measured), MACHINE)

    assert "## Pages at 100,002 subscriptions and 1,000,004 invoice lines" in page
    assert "| admin: invoices | 120 ms | 200 ms | 8 |" in page
    assert "- **admin: invoice lines**: median 400 ms, 8 queries." in page


def test_results_written_before_keep_their_heading():
    page = render(results({"admin: invoices": PAGE}), MACHINE)

    assert "## Pages at 1,000 subscriptions\n" in page
    assert "| admin: invoices | 120 ms | 200 ms | 8 |" in page
