"""`manage.py einvoice_validate <invoice number>…`: the CII and UBL of issued documents — the
files stored and served (made now if they are not yet) — and what the official XSDs and
Schematrons (EN 16931, French BR-FR) find in them, offline. Exits with an error when any
document has an error."""

from django.core.management.base import BaseCommand, CommandError

from billing.einvoice.validation import validate
from billing.models import Invoice
from billing.services import einvoice_generate


class Command(BaseCommand):
    help = "Validate the CII and UBL e-invoices of issued invoices or credit notes (offline)."

    def add_arguments(self, parser):
        parser.add_argument("numbers", nargs="+", help="invoice or credit note numbers")

    def handle(self, *args, numbers, **options):
        invoices = {i.number: i for i in Invoice.objects.filter(number__in=numbers)}
        missing = [n for n in numbers if n not in invoices]
        if missing:
            raise CommandError(f"No issued document numbered {', '.join(missing)}.")
        stored = {number: einvoice_generate(invoice=invoices[number]) for number in numbers}
        documents = [
            (number, syntax, bytes(getattr(stored[number], f"{syntax}_xml")))
            for number in numbers
            for syntax in ("cii", "ubl")
        ]
        results = validate([(syntax, xml) for _number, syntax, xml in documents])
        failed = False
        for (number, syntax, _xml), result in zip(documents, results, strict=True):
            self.stdout.write(
                f"{number} {syntax.upper()}: {len(result.errors)} error(s), "
                f"{len(result.warnings)} warning(s)"
            )
            for finding in result.errors:
                self.stdout.write(self.style.ERROR(f"  error   {finding}"))
            for finding in result.warnings:
                self.stdout.write(self.style.WARNING(f"  warning {finding}"))
            failed = failed or not result.ok
        if failed:
            raise CommandError("Some e-invoices have errors.")
