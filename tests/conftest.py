"""Shared fixtures: fixed users for permission tests and the demo catalog."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation

from demo.catalog import seed_catalog
from demo.logins import seed_operator


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in French must not leak its
    activated language into the next test (LocaleMiddleware activates it for the thread)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (entitlements are cached, subscriptions/
    entitlements.py): rows of an earlier test, rolled back, may have had the same ids."""
    cache.clear()
    yield


@pytest.fixture
def demo_catalog(db):
    return seed_catalog()


@pytest.fixture
def operator(db, django_user_model):
    """A back-office operator: staff, in the Operators group (not a superuser)."""
    seed_operator()
    return django_user_model.objects.get(username="operator")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CADENCE_REQUIRE_SERVICES=1) a skipped test is a failure: nothing may hide."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CADENCE_REQUIRE_SERVICES") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {report.longrepr}"
