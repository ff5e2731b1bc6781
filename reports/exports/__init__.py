"""Exports (issue 16): invoices, credit notes, invoice lines, payments, customers and
subscriptions as CSV or XLSX, streamed in constant memory, from the admin's lists
(reports/admin_exports.py) and from the API (reports/api.py, /api/v1/exports/<dataset>/)."""

from reports.exports.datasets import CHUNK_SIZE, DATASETS, Column, Dataset, Kind
from reports.exports.responses import (
    CSV,
    FORMATS,
    XLSX,
    csv_response,
    export_filename,
    xlsx_response,
)
from reports.exports.writers import DELIMITERS, XLSX_MAX_ROWS, csv_chunks, xlsx_write

__all__ = [
    "CHUNK_SIZE",
    "CSV",
    "DATASETS",
    "DELIMITERS",
    "FORMATS",
    "XLSX",
    "XLSX_MAX_ROWS",
    "Column",
    "Dataset",
    "Kind",
    "csv_chunks",
    "csv_response",
    "export_filename",
    "xlsx_response",
    "xlsx_write",
]
