import logging
import os
from importlib import import_module
from pathlib import Path

from celery import Celery
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender: Celery, **kwargs) -> None:
    # kombu's filesystem transport expects its folders to exist.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def send(name: str, *args, queue: str | None = None) -> bool:
    """Queue the task called `name` without importing it (apps that must not import the app
    owning the task use this). In eager mode — no broker: tests, debugging — run it here.

    Sent after a commit, as a nudge: what it asks for is recorded in the database and a beat
    job sweeps it up (the nightly run, the email outbox). So a broker that cannot be reached is
    logged and answered False, never raised: it must not turn a committed sale into a 500 or
    stop a billing run halfway."""
    if app.conf.task_always_eager:
        import_module(name.rsplit(".", 1)[0] + ".tasks")  # "billing.run_chunk" → billing.tasks
        app.tasks[name].apply(args=args, throw=True)
        return True
    try:
        app.send_task(name, args=args, queue=queue)
    except (OperationalError, OSError) as error:
        logger.warning("broker unreachable, %s left to its sweep: %s", name, error)
        return False
    return True
