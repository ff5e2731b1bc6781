"""Test settings: the production settings, plus what only a test run wants.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so that CI runs the suite on
PostgreSQL and Redis; without them the suite runs on SQLite.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
# The production default, whatever development defaults `make setup` wrote to var/.env
# (`make test` still exports DEBUG=true, as it always did).
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("EMAIL_URL", "memorymail://")
# Rendering a PDF per invoice is slow: the tests about emails turn them on themselves.
os.environ.setdefault("INVOICE_EMAILS", "false")
# Likewise the e-invoices of each document issued: the tests about them ask for them.
os.environ.setdefault("EINVOICES_ON_ISSUE", "false")

from config.settings import *  # noqa: F403

# Hashing passwords slowly is the point in production and a waste of minutes in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks run in the calling process unless a test starts a real worker (tests/billing/test_concurrency.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Parallel test processes (pytest-xdist) each get their own Redis database: a real worker that
# one test starts never takes the messages of another's (nor the leftovers of a killed one).
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if CELERY_BROKER_URL.startswith("redis://") and _XDIST_WORKER.startswith("gw"):  # noqa: F405
    _base, _sep, _db = CELERY_BROKER_URL.rpartition("/")  # noqa: F405
    _index = (int(_db) if _db.isdigit() else 0) + 1 + int(_XDIST_WORKER[2:])
    CELERY_BROKER_URL = f"{_base}/{_index % 16}"
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL  # Celery reads the variable before us
