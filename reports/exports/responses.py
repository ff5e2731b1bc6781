"""The HTTP answers of an export, shared by the admin and the API.

A CSV answer streams (StreamingHttpResponse over the writer's chunks): its first bytes leave
before the query has read its last row. An XLSX answer is written to a temporary file first,
on disk, not in memory (a zip is whole only once closed), then sent from it; the file is gone
once sent (FileResponse closes it, and an unnamed temporary file disappears when closed).
"""

from __future__ import annotations

import tempfile

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from core import clock
from reports.exports.datasets import Dataset
from reports.exports.writers import csv_chunks, xlsx_write

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Past this size the temporary file of an XLSX goes from memory to disk.
SPOOL_BYTES = 4 * 1024 * 1024


def export_filename(dataset: Dataset, file_format: str) -> str:
    """`invoices-2026-12-06.csv`: the dataset and the business day it was taken."""
    return f"{dataset.key}-{clock.today().isoformat()}.{file_format}"


def csv_response(
    dataset: Dataset, queryset: QuerySet, *, delimiter: str = ",", bom: bool = False
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_chunks(dataset, dataset.rows(queryset), delimiter=delimiter, bom=bom),
        content_type="text/csv; charset=utf-8",
    )
    _attach(response, export_filename(dataset, CSV))
    return response


def xlsx_response(dataset: Dataset, queryset: QuerySet) -> FileResponse:
    """Raises ApplicationError when the rows do not fit in a sheet (nothing is sent)."""
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
    try:
        xlsx_write(dataset, dataset.rows(queryset), file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    response = FileResponse(
        file,
        as_attachment=True,
        filename=export_filename(dataset, XLSX),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


def _attach(response, filename: str) -> None:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # An export is the data of the moment it was asked for: no cache keeps a copy.
    response["Cache-Control"] = "no-store"
