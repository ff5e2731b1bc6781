"""The restore drill of README "Operations", on a small data set: back up (pg_dump), restore on a
new database, run the billing of the same day there: nothing is billed twice, because the charge
keys of the invoiced lines travel with the data."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan
from demo.catalog import seed_catalog
from subscriptions import services
from tests.concurrency import postgresql_only
from tests.subscriptions.factories import CustomerFactory

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 4, 1)


def _url(name: str) -> str:
    database = connection.settings_dict
    host = database["HOST"] or "127.0.0.1"
    return f"postgres://{database['USER']}@{host}:{database['PORT'] or 5432}/{name}"


def test_a_restored_backup_bills_nothing_twice(tmp_path):
    seed_catalog()
    for _ in range(6):
        services.subscription_create(
            customer=CustomerFactory(),
            plan=Plan.objects.get(code="office-24m"),
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
        )
    billing_run(day=DAY)
    invoiced = Invoice.objects.count()
    assert invoiced == 24  # 4 months × 6

    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore"
    dump = tmp_path / "cadence.dump"
    env = {**os.environ, "PGHOST": connection.settings_dict["HOST"] or "127.0.0.1"}
    user = connection.settings_dict["USER"]
    subprocess.run(["pg_dump", "-U", user, "-Fc", "-f", dump, source], env=env, check=True)
    subprocess.run(["dropdb", "-U", user, "--if-exists", restored], env=env, check=True)
    subprocess.run(["createdb", "-U", user, restored], env=env, check=True)
    try:
        subprocess.run(
            ["pg_restore", "-U", user, "--no-owner", "-d", restored, dump], env=env, check=True
        )
        child_env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ} | {
            "DEBUG": "true",
            "DATABASE_URL": _url(restored),
            "CELERY_BROKER_URL": "memory://",
            "INVOICE_EMAILS": "false",
        }
        run = subprocess.run(
            [sys.executable, "manage.py", "run_billing", "--date", DAY.isoformat()],
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        assert " 0 invoices" in run.stdout, run.stdout
        count = subprocess.run(
            ["psql", "-U", user, "-tAc", "select count(*) from billing_invoice", restored],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(count.stdout) == invoiced
    finally:
        subprocess.run(["dropdb", "-U", user, "--if-exists", restored], env=env, check=True)
