"""The operator's dashboard on the admin home: its figures, its charts, its queries."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from reports.dashboard import build_dashboard
from tests.partners import builders
from tests.reports.builders import figures_of_2026, issued, paid

D = Decimal
TODAY = date(2026, 4, 20)


@pytest.fixture
def documents(demo_catalog):
    with time_machine.travel(builders.at(TODAY), tick=False):
        yield figures_of_2026()


def cards_of(dashboard) -> dict[str, str]:
    return {card.label: card.value for card in dashboard.cards}


def test_the_cards_say_this_month_s_figures(documents):
    dashboard = build_dashboard(today=TODAY)

    cards = cards_of(dashboard)
    # April: nothing invoiced, the 40.00 credit note; nothing collected.
    assert cards["Invoiced"] == "-40.00 EUR"
    assert cards["Collected"] == "0.00 EUR"
    # Past due on 20 April (30 days): March's 300.00 EUR and 360.00 CAD, tax included.
    assert cards["Overdue"] == "360.00 CAD\n300.00 EUR"
    overdue = next(card for card in dashboard.cards if card.label == "Overdue")
    assert overdue.hint == "2 invoices past their due date"
    assert cards["Active subscriptions"] == "0"


def test_collected_counts_the_month_s_payments(documents):
    with time_machine.travel(builders.at(TODAY), tick=False):
        paid(documents["march"], "100.00", date(2026, 4, 2))
        paid(issued("10.00", date(2026, 4, 1), currency="CAD"), "12.00", date(2026, 4, 3))

    cards = cards_of(build_dashboard(today=TODAY))

    assert cards["Collected"] == "12.00 CAD\n100.00 EUR"
    assert cards["Invoiced"] == "10.00 CAD\n-40.00 EUR"
    assert cards["Overdue"] == "360.00 CAD\n200.00 EUR"


def test_a_french_operator_reads_french_amounts(documents):
    with translation.override("fr"):
        cards = cards_of(build_dashboard(today=TODAY))

    assert "-40,00\xa0€" in cards.values()


def test_each_currency_has_its_charts_over_12_or_24_months(documents):
    for months in (12, 24):
        dashboard = build_dashboard(today=TODAY, months=months)

        titles = [panel.title for panel in dashboard.panels]
        assert titles == [
            "Invoiced and collected (CAD)",
            "Receivables (CAD)",
            "Invoiced and collected (EUR)",
            "Receivables (EUR)",
        ]
        eur = dashboard.panels[2]
        assert eur.svg.count('class="chart-point"') == 0
        assert dashboard.panels[3].svg.count('class="chart-point"') == months
        # Bars: January and March invoiced (net), February collected, April's credit.
        assert eur.svg.count('class="chart-bar"') == 4
        first = "2025-05" if months == 12 else "2024-05"
        assert eur.table_url == f"/admin/reports/invoicing/?start={first}&end=2026-04&currency=EUR"


def test_the_dashboard_is_above_the_apps_on_the_admin_home_only(operator_client, documents):
    with time_machine.travel(builders.at(TODAY), tick=False):
        home = operator_client.get(reverse("admin:index"))
        longer = operator_client.get(reverse("admin:index"), {"months": "24"})
        wrong = operator_client.get(reverse("admin:index"), {"months": "1000"})
        app = operator_client.get(reverse("admin:app_list", args=["billing"]))

    page = home.content.decode()
    assert page.index('class="cadence-dashboard"') < page.index('id="content-main"')
    assert page.count('class="chart"') == 4
    assert "Invoices" in page  # the stock list of apps is still there
    points = page.count('class="chart-point"')
    assert points == 2 * 12  # the receivables of each currency, month by month
    assert longer.content.decode().count('class="chart-point"') == 2 * 24
    assert wrong.status_code == 200
    assert wrong.content.decode().count('class="chart-point"') == points
    assert b"cadence-dashboard" not in app.content
    assert b"Invoices" in app.content


def test_the_dashboard_makes_as_many_queries_whatever_the_rows(operator_client, documents):
    def count() -> int:
        with (
            time_machine.travel(builders.at(TODAY), tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            assert operator_client.get(reverse("admin:index")).status_code == 200
        return len(captured.captured_queries)

    before = count()
    with time_machine.travel(builders.at(TODAY), tick=False):
        for n in range(5):
            invoice = issued(f"{10 + n}.00", date(2025, 6 + n, 3))
            paid(invoice, "1.00", date(2025, 7 + n, 1))

    assert count() == before
    assert before <= 20  # the admin's own, the invoice figures, and the MRR figures (8)
