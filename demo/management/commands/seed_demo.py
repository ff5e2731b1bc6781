"""`manage.py seed_demo`: the demo data and logins, safe to run again and again."""

from django.core.management.base import BaseCommand
from django.db import transaction

from core import clock
from demo.billing import seed_invoices
from demo.catalog import seed_catalog
from demo.history import seed_history
from demo.logins import DEMO_PASSWORD, seed_operator, seed_portal_logins, served_url
from demo.partners import seed_partners
from demo.payments import seed_payments
from demo.subscriptions import seed_subscriptions
from demo.usage import seed_usage
from reports.services import mrr_refresh
from subscriptions import services


class Command(BaseCommand):
    help = "Load the demo catalog, customers, subscriptions, invoices and logins (idempotent)."

    def handle(self, *args, **options) -> None:
        # One transaction: the billing tasks the sales of past starts queue on commit then
        # find their history already billed, day by day, by seed_invoices.
        with transaction.atomic():
            seed_catalog()
            sold = seed_subscriptions()
            seed_usage(sold["offers"])
            # The product contracts brought to today, as the nightly job would have them:
            # the paper's issues delivered, the credits granted and expired.
            services.contracts_run(day=clock.today())
            seed_partners()
            seed_history()
            logins = seed_operator() + seed_portal_logins()
            invoices = seed_invoices()
            seed_payments()
            # The dashboard's figures, as the reports job would have them by now.
            mrr_refresh(today=clock.today(), full=True)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded ({invoices} invoices and credit notes).")
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        site = served_url()
        for username, url, what in logins:
            self.stdout.write(f"  {username:<10} {site}{url:<12} {what}")
        # The storefront needs no login: a visitor signs up from the demo's grid.
        self.stdout.write(
            f"Offers grid (sign up as a new customer): {site}/offers/cadence/ "
            "(test card 4242 4242 4242 4242; the confirmation email appears in the make run console)"
        )
