"""CSV and XLSX writers of a dataset's rows, in constant memory.

CSV is streamed: rows are written into a small buffer, handed out every `FLUSH_ROWS` rows as
UTF-8 bytes, and forgotten. The default is RFC 4180 (comma, CRLF, UTF-8 without a byte-order
mark), what programs read; `delimiter=";"` and `bom=True` suit a spreadsheet set to French
(Excel reads a comma file as one column there, and reads UTF-8 as Windows-1252 without a BOM).
The values are written as they are stored: a text that begins with `=` is not altered, since
a minus sign begins every negative amount and a machine reading the file wants the data. Who
opens an export in a spreadsheet takes the XLSX, where every text is a text cell, never a
formula.

XLSX (xlsxwriter, `constant_memory`): each row goes to a temporary file as soon as the next
one starts, strings inline (no shared-strings table growing with the rows); the workbook is
then zipped into the file it was given. A zip's directory comes last, so the file is whole
only at the end: the caller writes it to a temporary file and sends that. XLSX holds at most
1,048,576 rows: an export beyond is refused rather than cut.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import xlsxwriter
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from reports.exports.datasets import Dataset, Kind

FLUSH_ROWS = 1000  # rows per chunk of a CSV response: ~100 kB, few writes to the socket
XLSX_MAX_ROWS = 1_048_576  # Excel's limit, the header row included
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _datetime_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


_CSV_TEXT: dict[Kind, Callable[[Any], str]] = {Kind.BOOL: _bool_text, Kind.DATETIME: _datetime_text}


def csv_chunks(
    dataset: Dataset, rows: Iterable[tuple], *, delimiter: str = ",", bom: bool = False
) -> Iterator[bytes]:
    """The CSV file of `rows`, header first, in chunks of bytes.

    Decimals, dates and integers are written by the csv module as `str()` writes them
    (`129.60`, `2026-12-06`); None is an empty field. Only booleans and timestamps need
    converting, so a row of a dataset without them goes to the writer untouched.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    convert = [
        (index, _CSV_TEXT[column.kind])
        for index, column in enumerate(dataset.columns)
        if column.kind in _CSV_TEXT
    ]
    writer.writerow(dataset.header)
    pending = 0
    first = True
    for row in rows:
        if convert:
            values = list(row)
            for index, text in convert:
                if values[index] is not None:
                    values[index] = text(values[index])
            writer.writerow(values)
        else:
            writer.writerow(row)
        pending += 1
        if pending == FLUSH_ROWS:
            yield _take(buffer, bom and first)
            first = False
            pending = 0
    yield _take(buffer, bom and first)


def _take(buffer: io.StringIO, bom: bool) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return codecs.BOM_UTF8 + data if bom else data


def xlsx_write(dataset: Dataset, rows: Iterable[tuple], file: IO[bytes]) -> int:
    """Write the XLSX workbook of `rows` into `file` (binary, seekable); the rows written.

    Numbers are number cells (Excel keeps 15 significant digits: every amount Cadence stores),
    dates date cells, timestamps UTC date-time cells, texts text cells.
    """
    workbook = xlsxwriter.Workbook(
        file,
        {
            "constant_memory": True,
            "default_date_format": "yyyy-mm-dd",
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(dataset.key)
        bold = workbook.add_format({"bold": True})
        # Two places at least (129.60), four at most (a unit price of 0.0020).
        decimal = workbook.add_format({"num_format": "0.00##"})
        timestamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        sheet.write_row(0, 0, dataset.header, bold)
        sheet.freeze_panes(1, 0)
        cells = [_xlsx_cell(sheet, column.kind, decimal, timestamp) for column in dataset.columns]
        count = 0
        for count, row in enumerate(rows, start=1):
            if count >= XLSX_MAX_ROWS:
                raise ApplicationError(
                    _(
                        "An XLSX sheet holds at most %(limit)s rows: narrow the export with "
                        "filters, or export it as CSV."
                    )
                    % {"limit": number_format(XLSX_MAX_ROWS - 1, force_grouping=True)}
                )
            for index, value in enumerate(row):
                if value is not None:
                    cells[index](count, index, value)
    finally:
        workbook.close()
    return count


def _xlsx_cell(sheet, kind: Kind, decimal, timestamp) -> Callable[[int, int, Any], Any]:
    if kind == Kind.DECIMAL:
        return lambda row, col, value: sheet.write_number(row, col, value, decimal)
    if kind == Kind.INT:
        return sheet.write_number
    if kind == Kind.DATE:
        return sheet.write_datetime
    if kind == Kind.DATETIME:
        # Excel has no time zones: the UTC wall clock, as the CSV gives it.
        return lambda row, col, value: sheet.write_datetime(
            row, col, value.astimezone(UTC).replace(tzinfo=None), timestamp
        )
    if kind == Kind.BOOL:
        return sheet.write_boolean
    return lambda row, col, value: sheet.write_string(row, col, str(value))
