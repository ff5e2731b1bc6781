"""`manage.py mrr_refresh [--full]`: bring the MRR figures up to date now (the job does it every
15 minutes, everything on its first run of the day)."""

from django.core.management.base import BaseCommand

from core import clock
from reports.services import mrr_refresh


class Command(BaseCommand):
    help = "Rebuild the MRR segments and monthly movements (--full: every subscription)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="every subscription, not only those changed"
        )

    def handle(self, *args, full: bool = False, **options) -> None:
        report = mrr_refresh(today=clock.today(), full=full)
        self.stdout.write(
            f"MRR refreshed: {report.subscriptions} subscriptions, {report.segments} segments, "
            f"{report.months} months stored{' (full)' if report.full else ''}."
        )
