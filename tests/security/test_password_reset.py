"""The password reset, through the real views: asked from the login page, emailed in the person's
language, never telling whether an address is known, the new password held to Django's
validators, and the lockout of django-axes lifted by a reset (not bypassed by anything else)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import forms as auth_forms
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from partners.passwords import user_language
from tests.partners import builders

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Tide-harbour-Lantern-42"
LINK = re.compile(r"https?://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)")


def ask_reset(client: Client, email: str, **headers):
    return client.post(reverse("password_reset"), {"email": email}, **headers)


def reset_link() -> str:
    [email] = mail.outbox
    [path] = LINK.findall(email.body)
    return path


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_the_login_page_links_to_the_reset_in_the_portals_page(client):
    login = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in login and "Forgot your password?" in login
    page = client.get(reverse("password_reset")).content.decode()
    assert 'id="password-reset-form"' in page and 'href="/static/cadence/portal.css"' in page
    assert 'for="id_email"' in page  # a labelled field


def test_a_reset_sets_a_new_password_held_to_the_validators(acme, client):
    # Given Paul (Acme's portal user) asks for a reset from the login page
    sent = ask_reset(client, "paul@example.com")
    assert sent.status_code == 302 and sent.url == reverse("password_reset_done")
    assert "If an account has this email address" in client.get(sent.url).content.decode()
    [email] = mail.outbox
    assert email.to == ["paul@example.com"] and email.subject == "Reset your Cadence password"
    assert "paul" in email.body

    # When he opens the link: Django swaps the token for a session one, then shows the form
    opened = client.get(reset_link())
    assert opened.status_code == 302
    form_url = opened.url
    page = client.get(form_url).content.decode()
    assert 'id="password-reset-confirm-form"' in page
    weak = client.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 200 and "This password is too common." in weak.content.decode()

    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    assert 'id="password-reset-complete"' in client.get(done.url).content.decode()

    # Then the new password logs him in, the old one no longer does, and the link is spent
    assert log_in(Client(), "paul", builders.PASSWORD).status_code == 200
    assert log_in(Client(), "paul", NEW_PASSWORD).status_code == 302
    spent = Client().get(reset_link(), follow=True).content.decode()
    assert 'id="password-reset-invalid"' in spent


def test_an_unknown_address_is_answered_the_same_and_sent_nothing(acme, client):
    known = ask_reset(client, "paul@example.com")
    unknown = ask_reset(Client(), "nobody@example.com")
    assert unknown.status_code == known.status_code == 302 and unknown.url == known.url
    assert len(mail.outbox) == 1


def test_the_email_is_in_the_users_language_not_the_pages(demo_catalog, client, monkeypatch):
    customer = builders.self_service_customer("Atelier Dupont", "denis", currency="EUR")
    customer.locale = "fr"
    customer.save(update_fields=["locale"])
    rendered_in = []
    render = auth_forms.loader.render_to_string

    def spy(template_name, *args, **kwargs):
        rendered_in.append((template_name, translation.get_language()))
        return render(template_name, *args, **kwargs)

    monkeypatch.setattr(auth_forms.loader, "render_to_string", spy)
    ask_reset(client, "denis@example.com", HTTP_ACCEPT_LANGUAGE="en")
    assert len(mail.outbox) == 1
    assert rendered_in == [
        ("registration/password_reset_subject.txt", "fr"),
        ("registration/password_reset_email.html", "fr"),
    ]


def test_the_language_of_a_user(acme, demo_catalog):
    paul = acme.users.get().user
    assert user_language(paul) == "en"  # its partner's billing account's
    acme.account.locale = "fr"
    acme.account.save(update_fields=["locale"])
    paul.refresh_from_db()
    assert user_language(paul) == "fr"
    assert user_language(builders.user("operator-ann", is_staff=True)) is None


def test_a_reset_lifts_the_lockout_of_django_axes(acme, client):
    for attempt in range(5):
        log_in(Client(), "paul", f"guess-{attempt}")
    assert log_in(Client(), "paul", builders.PASSWORD).status_code == 429
    # Asking for a reset changes nothing yet: anyone may ask
    ask_reset(client, "paul@example.com")
    assert log_in(Client(), "paul", builders.PASSWORD).status_code == 429

    form_url = client.get(reset_link()).url
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert log_in(Client(), "paul", NEW_PASSWORD).status_code == 302
