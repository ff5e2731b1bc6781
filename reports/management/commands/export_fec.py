"""`manage.py export_fec --start 2026-01-01 --end 2026-12-31 [--output FILE]`: the FEC of a
fiscal period (reports/fec.py), written as it is read — a year of a million lines in constant
memory. Without --output, the file is named as the norm says (<SIREN>FEC<end>.txt) in the
current directory; `--output -` writes to the standard output."""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import clock
from core.errors import ApplicationError
from reports.fec import default_period, fec_chunks, fec_filename, fec_period_check


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: write it as 2026-12-31.") from None


class Command(BaseCommand):
    help = "Export the FEC (Fichier des Écritures Comptables) of a fiscal period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="first day, YYYY-MM-DD (default: 1 January last year)")
        parser.add_argument("--end", help="last day, YYYY-MM-DD (default: 31 December last year)")
        parser.add_argument("--output", help="the file to write ('-': standard output)")

    def handle(self, *args, start=None, end=None, output=None, **options) -> None:
        first, last = default_period(today=clock.today())
        start_day = _day(start) if start else first
        end_day = _day(end) if end else last
        try:
            fec_period_check(start=start_day, end=end_day)
            path = output or fec_filename(end=end_day)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        chunks = fec_chunks(start=start_day, end=end_day)
        if path == "-":
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        size = 0
        with open(path, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
                size += len(chunk)
        self.stderr.write(f"{path}: {size} bytes, {start_day} to {end_day}")
