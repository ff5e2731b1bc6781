"""`manage.py run_contracts --date YYYY-MM-DD`: the product contracts job, by hand.

Runs in this process what Celery beat runs each night after the billing run: contracts started
and ended, issues scheduled, credits granted and expired, for the given date (default: today in
the billing time zone), catching up the days missed. Safe to run twice.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core import clock
from subscriptions import services


class Command(BaseCommand):
    help = "Run the product contracts job for a date (start, issues, credits, end)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", dest="day", help="the business date to run, YYYY-MM-DD (default: today)"
        )

    def handle(self, *args, day=None, **options):
        try:
            run_day = date.fromisoformat(day) if day else clock.today()
        except ValueError:
            raise CommandError(
                f"--date {day!r} is not a date: write it YYYY-MM-DD, e.g. 2026-11-21."
            ) from None
        report = services.contracts_run(day=run_day)
        self.stdout.write(
            f"{run_day}: {report.contracts} contracts, {report.started} started, "
            f"{report.ended} ended, {report.issues_scheduled} issues scheduled, "
            f"{report.credits_granted} grants, {report.credits_expired} expiries"
        )
