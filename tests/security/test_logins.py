"""Logins: brute force is locked out per account and address (django-axes), passwords go through
Django's validators, logout and every change need a POST with the CSRF token, and production
cookies are secure."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscription
from tests.partners import builders

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3J9x-2mQpL8vR4tY7wZ1aB5cD6eF0gH-iJ2kL3mN4oP5qR6sT7uV8wX9yZ"


def log_in(client: Client, password: str, address: str, username: str = "paul"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_the_login_page_is_the_portal_form(client):
    page = client.get(reverse("login")).content.decode()
    assert 'id="login-form"' in page and 'name="csrfmiddlewaretoken"' in page


def test_a_login_lands_on_the_persons_own_pages(acme, client):
    response = log_in(client, builders.PASSWORD, "10.0.0.1")
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("partners:customers")


def test_five_failures_lock_the_account_from_that_address_only(acme, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    attacker = Client()
    for attempt in range(1, 5):
        refused = log_in(attacker, f"guess-{attempt}", "10.0.0.1")
        assert refused.status_code == 200
        assert "Please enter a correct username and password" in refused.content.decode()
    log_in(attacker, "guess-5", "10.0.0.1")  # the fifth failure reaches the limit

    # The sixth attempt from that address is refused, even with the right password
    locked = log_in(attacker, builders.PASSWORD, "10.0.0.1")
    assert locked.status_code == 429
    assert "After 5 failed attempts" in locked.content.decode()
    assert SESSION_KEY not in attacker.session
    assert attacker.get(reverse("partners:customers")).status_code == 302  # still logged out

    # From another address the owner still logs in
    owner = Client()
    welcome = log_in(owner, builders.PASSWORD, "10.0.0.2")
    assert welcome.status_code == 302
    assert owner.get(reverse("partners:customers")).status_code == 200

    # and another account from the first address is not locked
    builders.user("someone")
    other = log_in(Client(), builders.PASSWORD, "10.0.0.1", username="someone")
    assert other.status_code == 302


def test_behind_a_trusted_proxy_the_lockout_is_per_account_and_client_address(acme, settings):
    """Every request comes from the proxy (REMOTE_ADDR 10.9.9.9); the client is the address our
    proxy appended to X-Forwarded-For. What the client wrote to its left is not trusted."""
    settings.TRUSTED_PROXY_COUNT = 1

    def through_proxy(password: str, client_address: str, claimed: str = ""):
        forwarded = f"{claimed}, {client_address}" if claimed else client_address
        return Client().post(
            reverse("login"),
            {"username": "paul", "password": password},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for attempt in range(5):
        # a forged left-hand address changes nothing: the attacker is still 203.0.113.7
        through_proxy(f"guess-{attempt}", "203.0.113.7", claimed=f"198.51.100.{attempt}")
    assert through_proxy(builders.PASSWORD, "203.0.113.7").status_code == 429
    # the owner, behind the same proxy from another address, still logs in
    assert through_proxy(builders.PASSWORD, "198.51.100.20").status_code == 302


def test_without_trusted_proxies_the_forwarded_header_is_ignored(acme, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(5):
        Client().post(
            reverse("login"),
            {"username": "paul", "password": f"guess-{attempt}"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",  # a client cannot rotate its address
        )
    assert log_in(Client(), builders.PASSWORD, "10.0.0.5").status_code == 429


def test_a_success_resets_the_failure_count(acme):
    client = Client()
    for attempt in range(4):
        log_in(client, f"guess-{attempt}", "10.0.0.3")
    assert log_in(client, builders.PASSWORD, "10.0.0.3").status_code == 302
    for attempt in range(4):
        log_in(Client(), f"again-{attempt}", "10.0.0.3")
    assert log_in(Client(), builders.PASSWORD, "10.0.0.3").status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "This password is entirely numeric."),
        ("password", "This password is too common."),
        ("x7#kQ", "This password is too short. It must contain at least 8 characters."),
        ("paul.example", "The password is too similar to the email address."),
    ],
)
def test_the_password_change_applies_djangos_validators(acme, partner_client, password, message):
    url = reverse("password_change")
    assert 'id="password-form"' in partner_client.get(url).content.decode()
    response = partner_client.post(
        url,
        {"old_password": builders.PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    user = acme.users.get().user
    user.refresh_from_db()
    assert user.check_password(builders.PASSWORD)


def test_a_strong_password_is_accepted(acme, partner_client):
    new = "Tide-harbour-Lantern-42"
    response = partner_client.post(
        reverse("password_change"),
        {"old_password": builders.PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user = acme.users.get().user
    user.refresh_from_db()
    assert user.check_password(new)


def test_logout_is_a_post(partner_client):
    assert partner_client.get(reverse("logout")).status_code == 405
    response = partner_client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert partner_client.get(reverse("partners:customers")).status_code == 302


def test_changes_without_the_csrf_token_are_refused(acme, bakery, on):
    subscription = builders.sell_seats(bakery, years=1)
    on(date(2026, 5, 1))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(acme.users.get().user)
    response = browser.post(reverse("partners:cancel", args=[subscription.pk]))
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    page = browser.get(reverse("partners:cancel", args=[subscription.pk])).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_production_settings_make_the_session_and_csrf_cookies_secure():
    # A bare environment, as production starts (see tests/config/test_settings.py).
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="billing.example.com")
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "'django.middleware.csrf.CsrfViewMiddleware' in s.MIDDLEWARE, "
        "s.MIDDLEWARE[-1] == 'axes.middleware.AxesMiddleware', "
        "s.AUTHENTICATION_BACKENDS[0] == 'axes.backends.AxesStandaloneBackend', "
        "len(s.AUTH_PASSWORD_VALIDATORS))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    settings_line = result.stdout.strip().splitlines()[-1]  # after the shell's banner, if any
    assert settings_line.split() == ["True", "True", "True", "True", "True", "True", "4"]
