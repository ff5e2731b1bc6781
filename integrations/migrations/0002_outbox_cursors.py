"""The webhook dispatcher's cursors start at the outboxes' last ids: the history written before
integrations existed is not sent to the first endpoints registered."""

from django.db import migrations
from django.db.models import Max

OUTBOXES = {
    "subscription_events": ("subscriptions", "SubscriptionEvent"),
    "invoice_events": ("billing", "InvoiceEvent"),
}


def create_cursors(apps, schema_editor):
    cursor_model = apps.get_model("integrations", "OutboxCursor")
    for source, (app_label, model_name) in OUTBOXES.items():
        last = apps.get_model(app_label, model_name).objects.aggregate(last=Max("pk"))["last"]
        cursor_model.objects.get_or_create(source=source, defaults={"position": last or 0})


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("subscriptions", "0002_drop_unused_index"),
        ("billing", "0003_invoice_events"),
    ]

    operations = [migrations.RunPython(create_cursors, migrations.RunPython.noop)]
