"""Reading exports back in tests: a CSV or XLSX answer as rows of dicts keyed by the header."""

import csv
import io

from openpyxl import load_workbook


def body(response) -> bytes:
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content)


def csv_rows(response, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV answer (the header checked against the first row's keys)."""
    return list(csv.DictReader(io.StringIO(body(response).decode()), delimiter=delimiter))


def csv_header(response) -> list[str]:
    return next(csv.reader(io.StringIO(body(response).decode())))


def xlsx_sheet(response):
    """The one sheet of an XLSX answer, as openpyxl reads it."""
    workbook = load_workbook(io.BytesIO(body(response)))
    assert len(workbook.worksheets) == 1
    return workbook.worksheets[0]


def xlsx_rows(sheet) -> list[dict]:
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]
