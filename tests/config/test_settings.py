"""Settings come from the environment: production passes check --deploy, bad values stop start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3J9x-2mQpL8vR4tY7wZ1aB5cD6eF0gH-iJ2kL3mN4oP5qR6sT7uV8wX9yZ"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # A bare environment: nothing of this test run's settings leaks into the child.
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_a_warning():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="billing.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_a_secret_key_production_refuses_to_start():
    result = manage("check", DEBUG="false")
    assert result.returncode == 2
    assert "Environment variable SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEBUG", "ture", "one of true/false"),
        ("DATABASE_URL", "mysql://root@localhost/cadence", "postgres://"),
        ("DATABASE_URL", "nonsense", "postgres://"),
        ("BILLING_TIME_ZONE", "Mars/Olympus_Mons", "IANA time zone"),
        ("DEFAULT_CURRENCY", "XYZ", "one of EUR, CAD"),
        ("CELERY_BROKER_URL", "ftp://broker", "redis://"),
        ("EMAIL_URL", "carrier-pigeon://", "email URL"),
        ("DATABASE_CONN_MAX_AGE", "-5", "at least 0"),
        ("LOG_LEVEL", "LOUD", "one of DEBUG, INFO"),
    ],
)
def test_a_bad_environment_value_stops_start_up_naming_the_variable(name, value, expected):
    result = manage("check", **{"DEBUG": "true", name: value})
    assert result.returncode == 2, result.stdout
    assert f"Environment variable {name}=" in result.stderr
    assert expected in result.stderr


def printed(code: str, **env: str) -> str:
    """What `code` prints in a fresh interpreter with these settings (DEBUG on, nothing of this
    test run's environment but the basics)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **{k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_embedded_broker_keeps_every_folder_under_var(tmp_path):
    # kombu's filesystem transport writes broadcasts to ./control unless told otherwise: a
    # worker started from the repository must not litter it.
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    options = json.loads(printed(code, CADENCE_VAR_DIR=str(tmp_path)))
    folders = [v for k, v in options.items() if k.endswith("_folder") or k.startswith("data_")]
    assert len(folders) == 4
    assert all(Path(folder).is_relative_to(tmp_path) for folder in folders)


def worker_concurrency(**env: str) -> int:
    return int(printed("from config.celery import app; print(app.conf.worker_concurrency)", **env))


def test_on_sqlite_the_worker_runs_one_process_and_on_postgresql_one_per_core():
    # SQLite has one writer at a time and an unfair busy handler: two worker processes starved
    # a billing chunk past its timeout under `make run` (the Procfile leaves this to settings).
    assert worker_concurrency() == 1
    assert worker_concurrency(DATABASE_URL="postgres://u@127.0.0.1:5432/x") == 0  # cpu count
    assert worker_concurrency(CELERY_WORKER_CONCURRENCY="3") == 3
    procfile = (ROOT / "Procfile").read_text()
    assert "--concurrency" not in procfile
