"""Charts drawn on the server as SVG: no JavaScript, no CDN, they print, and they scale to any
width (a viewBox and `width="100%"`). Pure functions of plain figures (no model, no query):
the reports and the dashboard compute the figures, these only draw them.

Every chart is accessible as one image (role="img", a <title> and an aria-label) and each bar or
point carries its own <title>, which browsers show as a tooltip, with the amount written in the
active language (core.money). Colours are not written here but chosen by CSS classes
(static/cadence/reports.css), so that the palette is one colour-blind-friendly list, and the
admin's dark theme can change it.

Coordinates are computed in Decimal, like the amounts: a pixel is not money, but staying in one
number type keeps the arithmetic exact and the tests comparing heights simple.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from core.money import money_text

ZERO = Decimal(0)
WIDTH = 480  # viewBox units; 1 unit is about 1 px in a dashboard panel at 1280 px
FONT = 11
# Room given to one character: text is 11 units on a desktop, and 14 on a phone, where the
# picture is shrunk (reports.css), so the layout leaves room for the larger one.
CHAR = 8
MAX_X_LABELS = 12  # more month labels than this overlap: every n-th is written
PAD_TOP = 22
PAD_RIGHT = 8
LEGEND_ROW = 20
X_LABELS = 36  # two lines: the month, then the year
# Tick steps tried, per power of ten: the usual "nice" numbers of chart axes.
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Series:
    """One named row of figures, one value per category; `css` names its colour class
    (`series-new`, `series-churn`…, defined in static/cadence/reports.css)."""

    label: str
    values: list[Decimal]
    css: str


def month_labels(months: Iterable[date]) -> list[str]:
    """Axis labels of months in the active language: the month's abbreviation and the year on
    a second line ("juil.\\n2026"); the tooltips read them on one line."""
    return [f"{date_format(month, 'N')}\n{month.year}" for month in months]


def nice_ticks(low: Decimal, high: Decimal, *, count: int = 5) -> list[Decimal]:
    """About `count` round values covering [low, high] and zero (1, 2, 2.5 or 5 × a power of
    ten apart). An empty span (all zero) still gets an axis: 0 and 1."""
    low, high = min(low, ZERO), max(high, ZERO)
    if low == high:
        return [ZERO, Decimal(1)]
    raw = (high - low) / (count - 1)
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(s * magnitude for s in NICE_STEPS if s * magnitude >= raw)
    first = (low / step).to_integral_value(ROUND_FLOOR)
    last = (high / step).to_integral_value(ROUND_CEILING)
    ticks = [(first + i) * step for i in range(int(last - first) + 1)]
    # 5E+2 is 500: written out, so that a tick reads like the number it is.
    return [t.quantize(Decimal(1)) if _exponent(t) > 0 else t for t in ticks]


def stacked_bars(
    *,
    categories: list[str],
    series: list[Series],
    currency: str,
    title: str,
    height: int = 240,
    line: Series | None = None,
) -> SafeString:
    """One bar per category stacking every series: positive values above the axis, negative
    ones below (MRR movements: new, expansion, reactivation up; contraction, churn down), with
    an optional line over them (the net movement, or the MRR)."""
    lows = [sum((min(s.values[i], ZERO) for s in series), ZERO) for i in range(len(categories))]
    highs = [sum((max(s.values[i], ZERO) for s in series), ZERO) for i in range(len(categories))]
    extra = line.values if line else []
    chart = _Frame(categories, series, currency, title, height, [*lows, *highs, *extra], line)
    if chart.empty:
        return chart.render([])
    band, bar = chart.band(), chart.band() * Decimal("0.7")
    shapes = []
    for i in range(len(categories)):
        up, down = ZERO, ZERO  # where the next positive / negative piece starts
        x = chart.left + band * i + (band - bar) / 2
        for s in series:
            value = s.values[i]
            if not value:
                continue  # nothing to draw (and no empty tooltip to hover)
            if value > 0:
                base, up = up, up + value
                top, bottom = chart.y(up), chart.y(base)
            else:
                base, down = down, down + value
                top, bottom = chart.y(base), chart.y(down)
            shapes.append((s, chart.rect(x, top, bar, bottom - top, s, i)))
    return chart.render(shapes)


def bars(
    *,
    categories: list[str],
    series: list[Series],
    currency: str,
    title: str,
    height: int = 240,
) -> SafeString:
    """Bars side by side, one per series in each category (invoiced beside collected)."""
    values = [v for s in series for v in s.values]
    chart = _Frame(categories, series, currency, title, height, values, None)
    if chart.empty:
        return chart.render([])
    band = chart.band()
    bar = band * Decimal("0.8") / len(series)
    shapes = []
    for i in range(len(categories)):
        for j, s in enumerate(series):
            x = chart.left + band * i + band * Decimal("0.1") + bar * j
            value = s.values[i]
            if not value:
                continue
            top, bottom = chart.y(max(value, ZERO)), chart.y(min(value, ZERO))
            shapes.append((s, chart.rect(x, top, bar, bottom - top, s, i)))
    return chart.render(shapes)


def line_chart(
    *,
    categories: list[str],
    series: list[Series],
    currency: str,
    title: str,
    height: int = 240,
) -> SafeString:
    """One line per series, a point (with its tooltip) per category."""
    values = [v for s in series for v in s.values]
    chart = _Frame(categories, series, currency, title, height, values, None)
    if chart.empty:
        return chart.render([])
    return chart.render([(s, chart.polyline(s)) for s in series])


class _Frame:
    """What the three charts share: the scale, the axes, the legend, the tooltips."""

    def __init__(
        self,
        categories: Sequence[str],
        series: Sequence[Series],
        currency: str,
        title: str,
        height: int,
        values: Sequence[Decimal],
        line: Series | None,
    ) -> None:
        for s in [*series, *([line] if line else [])]:
            if len(s.values) != len(categories):
                raise ValueError(f"{s.label}: {len(s.values)} values for {len(categories)} months")
        self.categories, self.series, self.line = list(categories), list(series), line
        self.currency, self.title, self.height = currency, title, height
        self.empty = not categories or not series
        self.ticks = nice_ticks(min(values, default=ZERO), max(values, default=ZERO))
        tick_texts = [self.tick_text(t) for t in self.ticks]
        # Room for the longest tick label, at about 0.6 em a character.
        self.left = Decimal(max(len(t) for t in tick_texts) * CHAR + 10)
        self.legend_rows = self._legend_layout()
        self.top = Decimal(PAD_TOP)
        self.bottom = Decimal(height - X_LABELS - LEGEND_ROW * len(self.legend_rows))
        self.right = Decimal(WIDTH - PAD_RIGHT)

    # Scale -----------------------------------------------------------------------------------

    def band(self) -> Decimal:
        return (self.right - self.left) / len(self.categories)

    def y(self, value: Decimal) -> Decimal:
        low, high = self.ticks[0], self.ticks[-1]  # never equal (nice_ticks)
        return self.top + (high - value) / (high - low) * (self.bottom - self.top)

    # Text ------------------------------------------------------------------------------------

    def amount(self, value: Decimal) -> str:
        if self.currency:
            return money_text(value, self.currency)
        return number_format(value, use_l10n=True, force_grouping=True)

    def tick_text(self, value: Decimal) -> str:
        # Round numbers on the axis: no cents unless the step needs them ("2.5").
        decimals = max(0, -_exponent(value.normalize())) if value else 0
        return number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)

    def tooltip(self, s: Series, i: int) -> str:
        month = self.categories[i].replace("\n", " ")
        return f"{s.label} — {month}: {self.amount(s.values[i])}"

    # Shapes ----------------------------------------------------------------------------------

    def rect(self, x: Decimal, y: Decimal, width: Decimal, height: Decimal, s: Series, i: int):
        return (
            f'<rect class="chart-bar" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" '
            f'height="{_n(height)}" data-value="{s.values[i]}">'
            f"<title>{escape(self.tooltip(s, i))}</title></rect>"
        )

    def polyline(self, s: Series, css: str = "chart-line") -> str:
        band = self.band()
        points = [
            (self.left + band * i + band / 2, self.y(value)) for i, value in enumerate(s.values)
        ]
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        dots = "".join(
            f'<circle class="chart-point" cx="{_n(x)}" cy="{_n(y)}" r="3" '
            f'data-value="{s.values[i]}"><title>{escape(self.tooltip(s, i))}</title></circle>'
            for i, (x, y) in enumerate(points)
        )
        return f'<polyline class="{css}" fill="none" points="{path}"/>{dots}'

    def _legend_layout(self) -> list[list[tuple[Series, bool]]]:
        """Legend items in rows that fit the width (a swatch, then the label)."""
        items = [(s, False) for s in self.series]
        if self.line:
            items.append((self.line, True))
        rows: list[list[tuple[Series, bool]]] = [[]]
        used = 0
        for item in items:
            width = 20 + len(item[0].label) * CHAR + 14
            if rows[-1] and used + width > WIDTH - 10:
                rows.append([])
                used = 0
            rows[-1].append(item)
            used += width
        return rows if items else []

    # The whole picture -----------------------------------------------------------------------

    def render(self, shapes: list[tuple[Series, str]]) -> SafeString:
        title = escape(self.title)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} '
            f'{self.height}" width="100%" role="img" aria-label="{title}" '
            f'preserveAspectRatio="xMidYMid meet"><title>{title}</title>'
        )
        if self.empty:
            body = (
                f'<text class="chart-empty" x="{WIDTH // 2}" y="{self.height // 2}" '
                f'text-anchor="middle">{escape(_("No data yet"))}</text>'
            )
            return mark_safe(head + body + "</svg>")  # noqa: S308 - every text is escaped
        parts = [head, self._grid()]
        for s in self.series:  # one group per series, in the legend's order
            pieces = "".join(markup for owner, markup in shapes if owner is s)
            parts.append(
                f'<g class="chart-series {escape(s.css)}" data-series="{escape(s.label)}">'
                f"{pieces}</g>"
            )
        zero = _n(self.y(ZERO))
        parts.append(
            f'<line class="chart-axis" x1="{_n(self.left)}" x2="{_n(self.right)}" '
            f'y1="{zero}" y2="{zero}"/>'
        )
        if self.line:
            parts.append(
                f'<g class="chart-overlay {escape(self.line.css)}" '
                f'data-series="{escape(self.line.label)}">{self.polyline(self.line)}</g>'
            )
        parts += [self._x_labels(), self._legend(), "</svg>"]
        return mark_safe("".join(parts))  # noqa: S308 - every text is escaped

    def _grid(self) -> str:
        lines = []
        for tick in self.ticks:
            y = _n(self.y(tick))
            lines.append(
                f'<line class="chart-gridline" x1="{_n(self.left)}" x2="{_n(self.right)}" '
                f'y1="{y}" y2="{y}"/>'
                f'<text class="chart-tick" x="{_n(self.left - 4)}" y="{y}" '
                f'text-anchor="end" dominant-baseline="middle">'
                f"{escape(self.tick_text(tick))}</text>"
            )
        unit = f'<text class="chart-unit" x="2" y="{FONT}">{escape(self.currency)}</text>'
        return f'<g class="chart-grid" aria-hidden="true">{"".join(lines)}{unit}</g>'

    def _x_labels(self) -> str:
        every = -(-len(self.categories) // MAX_X_LABELS)  # ceiling division
        band = self.band()
        texts = []
        for i, category in enumerate(self.categories):
            if i % every:
                continue
            # Every other written label is "minor": a phone hides them (reports.css).
            css = "chart-label minor" if (i // every) % 2 else "chart-label"
            x = _n(self.left + band * i + band / 2)
            lines = category.split("\n")
            spans = "".join(
                f'<tspan x="{x}" dy="{0 if n == 0 else "1.1em"}">{escape(text)}</tspan>'
                for n, text in enumerate(lines)
            )
            texts.append(
                f'<text class="{css}" x="{x}" y="{_n(self.bottom + FONT + 4)}" '
                f'text-anchor="middle">{spans}</text>'
            )
        return f'<g class="chart-x" aria-hidden="true">{"".join(texts)}</g>'

    def _legend(self) -> str:
        items = []
        y = self.bottom + X_LABELS + 4
        for row in self.legend_rows:
            x = Decimal(self.left)
            for s, is_line in row:
                swatch = (
                    f'<line class="chart-line" x1="{_n(x)}" x2="{_n(x + 14)}" '
                    f'y1="{_n(y + 5)}" y2="{_n(y + 5)}"/>'
                    if is_line
                    else f'<rect class="chart-swatch" x="{_n(x)}" y="{_n(y)}" width="10" '
                    f'height="10"/>'
                )
                items.append(
                    f'<g class="chart-legend-item {escape(s.css)}">{swatch}'
                    f'<text x="{_n(x + 18)}" y="{_n(y + 9)}">{escape(s.label)}</text></g>'
                )
                x += 20 + len(s.label) * CHAR + 14
            y += LEGEND_ROW
        return f'<g class="chart-legend">{"".join(items)}</g>'


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number (never NaN or infinity here)
    return exponent


def _n(value: Decimal) -> str:
    """A coordinate, to the hundredth of a unit, without a trailing ".00"."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
