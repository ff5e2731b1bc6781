"""The SVG charts: parsed as XML, their shapes measured against the figures drawn."""

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree
from django.utils import translation

from reports.charts import Series, bars, line_chart, month_labels, nice_ticks, stacked_bars

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"
MONTHS = month_labels([date(2026, month, 1) for month in (1, 2, 3)])


def parse(markup: str) -> Element:
    return ElementTree.fromstring(str(markup))


def bars_of(root: Element, css: str) -> list[Element]:
    group = next(g for g in root.iter(f"{SVG}g") if css in g.get("class", "").split())
    return list(group.iter(f"{SVG}rect"))


def axis_y(root: Element) -> float:
    axis = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-axis")
    return float(axis.get("y1"))


def test_bar_heights_are_proportional_to_the_amounts():
    root = parse(
        bars(
            categories=MONTHS,
            series=[Series("Invoiced", [D("100.00"), D("250.00"), D("50.00")], "series-invoiced")],
            currency="EUR",
            title="Invoiced",
        )
    )
    heights = [float(rect.get("height")) for rect in bars_of(root, "series-invoiced")]
    assert heights[1] == pytest.approx(heights[0] * 2.5, rel=1e-3)
    assert heights[2] == pytest.approx(heights[0] / 2, rel=1e-3)
    # Every bar stands on the axis.
    for rect in bars_of(root, "series-invoiced"):
        assert float(rect.get("y")) + float(rect.get("height")) == pytest.approx(axis_y(root))


def test_stacked_movements_go_up_and_down_from_the_axis():
    root = parse(
        stacked_bars(
            categories=MONTHS,
            series=[
                Series("New", [D(30), D(0), D(10)], "series-new"),
                Series("Expansion", [D(100), D(20), D(0)], "series-expansion"),
                Series("Churn", [D(-100), D(0), D(-40)], "series-churn"),
            ],
            currency="EUR",
            title="MRR movements",
            line=Series("Net", [D(30), D(20), D(-30)], "series-net"),
        )
    )
    zero = axis_y(root)
    new, expansion, churn = (
        bars_of(root, css) for css in ("series-new", "series-expansion", "series-churn")
    )
    # Zero amounts draw nothing: 2 new, 2 expansion, 2 churn bars.
    assert (len(new), len(expansion), len(churn)) == (2, 2, 2)
    for rect in churn:
        assert float(rect.get("y")) == pytest.approx(zero)  # hangs below the axis
    for rect in new + expansion:
        assert float(rect.get("y")) < zero
    # January: expansion is stacked on top of new, and as tall as 100 / 30 of it.
    assert float(expansion[0].get("y")) + float(expansion[0].get("height")) == pytest.approx(
        float(new[0].get("y")),
        abs=0.02,  # coordinates are written to the hundredth
    )
    assert float(expansion[0].get("height")) == pytest.approx(
        float(new[0].get("height")) * 100 / 30, rel=1e-3
    )
    # The churn of 100 below is as tall as the expansion of 100 above.
    assert float(churn[0].get("height")) == pytest.approx(
        float(expansion[0].get("height")), abs=0.02
    )
    points = list(root.iter(f"{SVG}circle"))
    assert [p.get("data-value") for p in points] == ["30", "20", "-30"]
    assert float(points[2].get("cy")) > zero  # the net of March is negative


def test_ticks_are_round_and_cover_the_figures():
    assert nice_ticks(D(0), D(1234)) == [D(0), D(500), D(1000), D(1500)]
    assert nice_ticks(D(-130), D(480)) == [D(-200), D(0), D(200), D(400), D(600)]
    assert nice_ticks(D("0.3"), D("0.9")) == [D("0"), D("0.25"), D("0.5"), D("0.75"), D("1")]
    assert nice_ticks(D(0), D(0)) == [D(0), D(1)]
    root = parse(
        line_chart(
            categories=MONTHS,
            series=[Series("Overdue", [D("120.50"), D(1234), D(0)], "series-overdue")],
            currency="EUR",
            title="Receivables",
        )
    )
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-tick"]
    assert ticks == ["0", "500", "1,000", "1,500"]


def test_tooltips_write_amounts_and_months_in_the_active_language():
    series = [Series("Facturé", [D("1234.5"), D(0), D(3)], "series-invoiced")]
    with translation.override("fr"):
        months = month_labels([date(2026, month, 1) for month in (1, 2, 3)])
        markup = bars(categories=months, series=series, currency="EUR", title="Facturation")
        labels = month_labels([date(2026, 7, 1)])
    tooltip = bars_of(parse(markup), "series-invoiced")[0].find(f"{SVG}title").text
    assert tooltip == "Facturé — jan. 2026: 1\u202f234,50\xa0€"
    assert labels == ["juil.\n2026"]
    with translation.override("en"):
        markup = bars(categories=MONTHS, series=series, currency="EUR", title="Invoicing")
    tooltip = bars_of(parse(markup), "series-invoiced")[0].find(f"{SVG}title").text
    assert tooltip == "Facturé — Jan. 2026: 1234.50 EUR"


def test_the_chart_is_one_accessible_image_with_a_legend():
    root = parse(
        bars(
            categories=MONTHS,
            series=[
                Series("Invoiced", [D(1), D(2), D(3)], "series-invoiced"),
                Series("Collected", [D(1), D(1), D(1)], "series-collected"),
            ],
            currency="EUR",
            title="Revenue",
        )
    )
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Revenue"
    assert root.find(f"{SVG}title").text == "Revenue"
    assert root.get("viewBox").startswith("0 0 ") and root.get("width") == "100%"
    legend = [
        t.text for g in root.iter(f"{SVG}g") if g.get("class") == "chart-legend" for t in g.iter()
    ]
    assert "Invoiced" in legend and "Collected" in legend


def test_labels_are_escaped():
    root = parse(
        bars(
            categories=['<b>"Jan"</b>', "Feb & Mar", "x"],
            series=[Series("<script>alert(1)</script>", [D(1), D(2), D(3)], "series-1")],
            currency="EUR",
            title="A & B <i>",
        )
    )
    # Well-formed XML whose texts read back as given: nothing became markup.
    assert root.find(f"{SVG}title").text == "A & B <i>"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}b"))
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-series"))
    assert group.get("data-series") == "<script>alert(1)</script>"


def test_no_data_says_so_without_dividing_by_zero():
    for chart in (bars, line_chart, stacked_bars):
        root = parse(chart(categories=[], series=[], currency="EUR", title="Empty"))
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert texts == ["No data yet"]
        assert not list(root.iter(f"{SVG}rect"))
    # Months without any amount: an axis from 0 to 1 and no bar.
    root = parse(
        bars(
            categories=MONTHS,
            series=[Series("Invoiced", [D(0), D(0), D(0)], "series-invoiced")],
            currency="EUR",
            title="Quiet",
        )
    )
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-tick"] == [
        "0",
        "1",
    ]
    assert not bars_of(root, "series-invoiced")


def test_a_series_must_have_one_value_per_month():
    with pytest.raises(ValueError, match="2 values for 3 months"):
        bars(
            categories=MONTHS,
            series=[Series("Invoiced", [D(1), D(2)], "series-invoiced")],
            currency="EUR",
            title="Wrong",
        )


def test_counts_are_written_without_a_currency():
    root = parse(
        line_chart(
            categories=MONTHS,
            series=[Series("Plan A", [D(3), D(1200), D(5)], "series-1")],
            currency="",
            title="Active subscriptions",
        )
    )
    point = list(root.iter(f"{SVG}circle"))[1]
    assert point.find(f"{SVG}title").text == "Plan A — Feb. 2026: 1,200"


def test_many_months_write_every_other_label():
    months = month_labels([date(2025 + (m // 12), m % 12 + 1, 1) for m in range(24)])
    root = parse(
        bars(
            categories=months,
            series=[Series("Invoiced", [D(1)] * 24, "series-invoiced")],
            currency="EUR",
            title="Two years",
        )
    )
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class", "").startswith("chart-label")]
    assert len(labels) == 12
    assert len(bars_of(root, "series-invoiced")) == 24
