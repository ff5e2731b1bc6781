"""`manage.py run_billing --date YYYY-MM-DD`: the daily chain, by hand.

Runs in this process what Celery beat runs each night — renewals, trial ends, invoicing and
numbering, overdue and notice reminders, coupon expiry — for the given date (default: today in
the billing time zone). Safe to run twice; use it to catch up missed days or rehearse a date.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from billing.tasks import run_chain_now
from core import clock


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--date {value!r} is not a date: write it YYYY-MM-DD, e.g. 2026-11-21."
        ) from None


class Command(BaseCommand):
    help = "Run the daily billing chain for a date (renewals, invoicing, reminders, coupon expiry)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", dest="day", help="the business date to run, YYYY-MM-DD (default: today)"
        )
        parser.add_argument(
            "--from", dest="start", help="catch up every day from this date to --date, YYYY-MM-DD"
        )

    def handle(self, *args, day=None, start=None, **options):
        end = _date(day) if day else clock.today()
        first = _date(start) if start else end
        if first > end:
            raise CommandError("--from must not be after --date.")
        current = first
        while current <= end:
            result = run_chain_now(current)
            report = result["report"]
            self.stdout.write(
                f"{current}: {report.subscriptions} subscriptions, {report.renewals} renewals, "
                f"{report.invoices} invoices, {report.credit_notes} credit notes, {report.lines} lines "
                f"({report.skipped_locked} locked by another session, {report.retried_locked} of "
                f"them billed after waiting); "
                f"{result['overdue']} overdue, {result['reminders']} reminders, {result['notices']} notice "
                f"reminders, {result['expired_campaigns']} campaigns expired"
            )
            for subscription_id, reason in sorted(report.refused.items()):
                self.stderr.write(
                    f"{current}: subscription {subscription_id} not invoiced: {reason}"
                )
            current += timedelta(days=1)
