"""The tables of the reports: one description, two renderings. On the page every value is written
for people, in the active language ("1 234,50 €", "juillet 2026"); in the CSV download for
machines (header = the column keys, "1234.50", "2026-07", ISO dates), so that a spreadsheet or
a script reads the same figures whatever the operator's language.

A table's rows may be any iterable (a generator streams a long report into the CSV without
holding it); the page lists them, so a page's table is bounded by its filters.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.http import StreamingHttpResponse
from django.utils.formats import date_format, number_format

from core.money import money_decimal, money_text

# A cell may also be (value, url): shown as a link to what is behind the figure (a drill-down).
Kind = Literal["text", "money", "int", "percent", "date", "month"]
NUMERIC: frozenset[str] = frozenset({"money", "int", "percent"})
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP):
# a customer's name "=HYPERLINK(…)" must stay a name.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Table:
    """`rows` are dicts keyed by the columns' keys; a money column takes its currency from the
    table's, or else from the row's "currency" key (a table of several currencies)."""

    title: str
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    currency: str | None = None
    footer: dict[str, Any] | None = None
    filename: str = field(default="report.csv")
    # The page shows the first `shown` rows (a table of every customer can hold 100,000); the
    # CSV has them all.
    shown: int | None = None

    def currency_of(self, row: dict[str, Any]) -> str:
        return self.currency or str(row.get("currency") or "")

    def display_rows(self) -> list[list[tuple[str, bool, str]]]:
        """The cells of each row as people read them, with whether they are numbers (aligned
        right) and the link behind them ("" for none)."""
        rows = self.rows if self.shown is None else itertools.islice(self.rows, self.shown)
        return [self._display(row) for row in rows]

    @property
    def cut(self) -> tuple[int, int] | None:
        """(rows shown, rows in all) when the page shows only the first ones."""
        if self.shown is None:
            return None
        rows = self.rows
        total = len(rows) if isinstance(rows, Sized) else sum(1 for _row in rows)
        return (self.shown, total) if total > self.shown else None

    def display_footer(self) -> list[tuple[str, bool, str]] | None:
        return self._display(self.footer) if self.footer else None

    def _display(self, row: dict[str, Any]) -> list[tuple[str, bool, str]]:
        cells = []
        for c in self.columns:
            value, url = split_link(row.get(c.key))
            cells.append((display_value(c, value, self.currency_of(row)), c.numeric, url))
        return cells


def split_link(value: Any) -> tuple[Any, str]:
    """A cell's value and the link behind it: (value, url) cells carry one."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return value[0], value[1]
    return value, ""


def display_value(column: Column, value: Any, currency: str) -> str:
    if value is None or value == "":
        return ""
    if column.kind in ("date", "month") and not isinstance(value, date):
        return str(value)  # a footer's "Total" in the month column
    match column.kind:
        case "money":
            return money_text(value, currency) if currency else number_format(value, 2)
        case "int":
            return number_format(value, 0, use_l10n=True, force_grouping=True)
        case "percent":
            return f"{number_format(value, 1, use_l10n=True)}\u00a0%"
        case "date":
            return date_format(value, "DATE_FORMAT")
        case "month":
            return date_format(value, "YEAR_MONTH_FORMAT")
    return str(value)


def machine_value(column: Column, value: Any, currency: str) -> str:
    if value is None:
        return ""
    match column.kind:
        case "money":
            return (money_decimal(value, currency) or "") if currency else f"{Decimal(value):f}"
        case "int":
            return str(int(value))
        case "percent":
            return f"{Decimal(value):f}"
        case "date":
            assert isinstance(value, date)
            return value.isoformat()
        case "month":
            assert isinstance(value, date)
            return f"{value:%Y-%m}"
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


class _Echo:
    """The file csv.writer writes to: hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def table_lines(table: Table) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        currency = table.currency_of(row)
        yield writer.writerow(
            [machine_value(c, split_link(row.get(c.key))[0], currency) for c in table.columns]
        )


def table_csv(table: Table, *, filename: str | None = None) -> StreamingHttpResponse:
    """The table as a CSV download, streamed row by row (the footer's totals are left out: a
    machine sums the rows itself, and a total row would be summed with them)."""
    name = filename or table.filename
    response = StreamingHttpResponse(table_lines(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
