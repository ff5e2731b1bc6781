"""Browser tests: Playwright's sync API driving Debian's Chromium, headless, against pytest-django's
live server. No browser is ever downloaded (never `playwright install`): CI installs Debian's
`chromium` package, and a missing Chromium is a failure under CI (tests/conftest.py turns the
skip into one).

Dates are controlled with time_machine, which patches the whole process (the live server thread
too); the demo data is loaded inside the travel, so that it is as it would be on that day.
Every page a test passes through is saved to tests/browser/screenshots/<test>/<step>.png.
"""

from __future__ import annotations

import importlib
import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from demo.logins import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def business_day(year: int, month: int, day: int, hour: int = 10) -> time_machine.travel:
    """Travel to a time of a business day in the billing time zone; the clock keeps ticking
    (Playwright and the live server need time to pass)."""
    zone = ZoneInfo(settings.BILLING_TIME_ZONE)
    return time_machine.travel(datetime(year, month, day, hour, tzinfo=zone), tick=True)


def load_demo() -> None:
    """The demo data and logins, as the seed would leave them on the travelled date."""
    with open("/dev/null", "w") as quiet:
        call_command("seed_demo", stdout=quiet)


@pytest.fixture(autouse=True)
def _issued_invoices_can_be_flushed(transactional_db):
    """After each test the database is emptied (flush). PostgreSQL truncates, which the triggers
    that keep issued invoices immutable do not see; SQLite deletes row by row, which they refuse.
    On SQLite, set the invoices back to drafts first (triggers lifted for that one statement)."""
    yield
    if connection.vendor != "sqlite":
        return
    immutability = importlib.import_module("billing.migrations.0002_immutable_issued_invoices")
    with connection.cursor() as cursor:
        for name in immutability.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(
            "UPDATE billing_invoice SET status = 'draft', number = NULL, sequence = NULL"
        )
        for statement in immutability._sqlite_statements():
            cursor.execute(statement)


@pytest.fixture
def browser(live_server, monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop alive in this thread between its calls, and
    # Django refuses ORM calls from a thread with a running loop. The test's own database work
    # (loading data, checking what was saved) never runs concurrently with the loop: allow it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
        # While the loop runs, Django keeps this thread's connections per context, apart from
        # the ones it had before: close those opened meanwhile, or they would outlive the test
        # (and keep PostgreSQL from dropping the test database at the end of the run).
        connections.close_all()


def _page(browser, viewport: dict) -> Iterator:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    # Let the last requests finish: the live server must not be left serving one (holding a
    # database connection) when the test's database is emptied or dropped.
    page.wait_for_load_state("networkidle")
    context.close()


@pytest.fixture
def page(browser):
    """A desktop-sized page."""
    yield from _page(browser, DESKTOP)


@pytest.fixture
def phone_page(browser):
    """A page 375 px wide, as on a phone."""
    yield from _page(browser, PHONE)


@pytest.fixture
def shoot(request) -> Callable:
    """shoot(page, "step"): a full-page screenshot, numbered in the order of the test's steps."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = itertools.count(1)

    def shoot(page, step: str) -> Path:
        page.wait_for_load_state("load")  # a click starts a navigation; its page has loaded
        path = folder / f"{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


@pytest.fixture
def log_in(live_server, shoot) -> Callable:
    """log_in(page, username): through the real login form, as a person would."""

    def log_in(page, username: str, *, next_url: str = "/") -> None:
        page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        shoot(page, f"login-{username}")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        assert "/accounts/login/" not in page.url, f"{username} could not log in"

    return log_in


# WCAG 2.1 A and AA: what axe-core can check in a page (best-practice rules left aside).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def accessibility_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations in the page as it is now, one line each (rule,
    impact, the first offending element): an empty list when none. Every form field labelled,
    names on buttons and links, contrast, landmarks' structure, lang attribute…"""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("load")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''} — {v['help']}"
        for v in results.response["violations"]
    ]


def no_horizontal_scroll(page) -> bool:
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
