"""The operator's dashboard and a report, in Chromium, in English and French, on a desktop and
on a phone: the charts are drawn, the filters filter, the CSV downloads, nothing overflows.

Screenshots go where the other browser tests put theirs (tests/browser/screenshots/<test>/),
and also to $SCREENSHOTS_DIR when it is set, to look at them side by side.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    _page,
    business_day,
    load_demo,
    no_horizontal_scroll,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280", "375"])
def screen(request, browser):
    yield from _page(browser, request.param)


@pytest.fixture
def snap(shoot, request):
    """snap(page, step): the conftest's screenshot, copied to $SCREENSHOTS_DIR when set."""
    folder = os.environ.get("SCREENSHOTS_DIR")

    def snap(page, step: str) -> Path:
        path = shoot(page, step)
        if folder:
            target = Path(folder)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / f"{path.parent.name}-{path.name}")
        return path

    return snap


def use_language(page, language: str) -> None:
    """Through the admin's own language menu, as an operator would."""
    if language == "en":
        return
    with page.expect_navigation():
        page.locator("#language-select").select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dashboard_then_a_report_and_its_csv(screen, language, log_in, snap, live_server):
    page = screen
    with business_day(2026, 12, 6):
        load_demo()
        log_in(page, "operator", next_url="/admin/")
        use_language(page, language)

        # The dashboard, above the apps: cards, then the charts of each currency sold.
        dashboard = page.locator(".cadence-dashboard")
        expect(dashboard).to_be_visible()
        # MRR, ARR, the month's movements, subscriptions, invoiced, collected, overdue
        expect(dashboard.locator(".dashboard-card")).to_have_count(7)
        charts = dashboard.locator("svg.chart")
        # The MRR and its movements, invoiced and receivables, in CAD and in EUR
        expect(charts).to_have_count(6)
        assert dashboard.locator("svg.chart .chart-bar").count() > 0
        # A point a month on the MRR lines and the receivables lines
        assert dashboard.locator("svg.chart .chart-point").count() == 4 * 12
        assert charts.first.bounding_box()["height"] > 100  # drawn, not collapsed
        assert no_horizontal_scroll(page)
        snap(page, f"dashboard-{language}")

        # Over 24 months.
        page.locator(".dashboard-toolbar a[href='?months=24']").click()
        page.wait_for_url("**/admin/?months=24")
        assert dashboard.locator("svg.chart .chart-point").count() == 4 * 24
        assert no_horizontal_scroll(page)
        snap(page, f"dashboard-24-months-{language}")

        # A panel's table is one click away: the invoicing report of the same months.
        dashboard.locator(".dashboard-panel .panel-link").nth(4).click()  # EUR, invoiced
        page.wait_for_url("**/admin/reports/invoicing/?*currency=EUR*")
        expect(page.locator(".report-page svg.chart")).to_have_count(1)
        expect(page.locator(".report-table tbody tr")).to_have_count(24)
        assert no_horizontal_scroll(page)
        snap(page, f"invoicing-eur-{language}")

        # Filters: the last twelve months, every currency.
        page.locator("#id_start").fill("2026-01")
        page.locator("#id_end").fill("2026-12")
        page.locator("#id_currency").select_option("")
        page.locator(".report-filters input[type=submit]").click()
        page.wait_for_url("**/admin/reports/invoicing/?start=2026-01&end=2026-12*")
        expect(page.locator(".report-page svg.chart")).to_have_count(2)  # CAD and EUR
        expect(page.locator(".report-table tbody tr")).to_have_count(24)
        bars = page.locator(".report-page svg.chart .chart-bar").count()
        assert bars > 0
        assert no_horizontal_scroll(page)
        snap(page, f"invoicing-all-{language}")

        # The CSV of what is shown, for machines whatever the language.
        with page.expect_download() as download:
            page.locator("a.report-csv").click()
        assert download.value.suggested_filename == "invoicing_2026-01_2026-12.csv"
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert len(rows) == 24
        assert {row["currency"] for row in rows} == {"CAD", "EUR"}
        assert rows[-1]["month"] == "2026-12"
        assert sum(int(row["invoices"]) for row in rows) > 0

        # Bad filters: the page says what is wrong, and draws nothing.
        page.goto(f"{live_server.url}/admin/reports/invoicing/?start=1999-01&end=2026-12")
        expect(page.locator(".report-filters .errorlist")).to_contain_text("2000-01")
        expect(page.locator(".report-page svg.chart")).to_have_count(0)
        assert no_horizontal_scroll(page)
        snap(page, f"invoicing-bad-filters-{language}")


def test_active_subscriptions_per_plan(page, log_in, snap, live_server):
    with business_day(2026, 12, 6):
        load_demo()
        log_in(page, "operator", next_url="/admin/reports/")
        page.get_by_role("link", name="Active subscriptions").click()
        chart = page.locator(".report-page svg.chart")
        expect(chart).to_have_count(1)
        assert chart.locator(".chart-legend-item").count() >= 2  # one per plan sold
        totals = page.locator(".report-table tbody tr:last-child td:last-child")
        assert int(totals.inner_text()) > 0
        snap(page, "active-subscriptions")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_mrr_its_movements_and_the_customers_behind_them(
    screen, language, log_in, snap, live_server
):
    page = screen
    with business_day(2026, 12, 6):
        load_demo()
        log_in(page, "operator", next_url="/admin/")
        use_language(page, language)

        # The MRR panel's table: the MRR report of the same months, in CAD
        dashboard = page.locator(".cadence-dashboard")
        dashboard.locator(".dashboard-panel .panel-link").first.click()
        page.wait_for_url("**/admin/reports/mrr/?*currency=CAD*")
        expect(page.locator(".report-page svg.chart")).to_have_count(1)
        expect(page.locator(".report-page .report-chart h3")).to_contain_text("CAD")
        expect(page.locator(".report-table tbody tr")).to_have_count(12)
        assert no_horizontal_scroll(page)
        snap(page, f"mrr-cad-{language}")

        # September's reactivation (the demo's Lakeshore Studio came back): the customer behind it
        page.locator(".report-table tbody tr").nth(8).locator("a").first.click()
        page.wait_for_url("**/admin/reports/mrr/movements/?month=2026-09*")
        rows = page.locator(".movements-detail tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Lakeshore Studio")
        expect(rows.first).to_contain_text("hosting-b")
        assert no_horizontal_scroll(page)
        snap(page, f"mrr-movements-{language}")
