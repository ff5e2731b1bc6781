"""The demo operator manages what the README says it does — webhooks, API tokens, logins — and
cannot grant itself or anyone more powers (issue 11)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token, TokenProxy

from integrations.models import IdempotencyKey, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

User = get_user_model()


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", [WebhookEndpoint, TokenProxy, User])
def test_the_operator_lists_and_adds_webhook_endpoints_tokens_and_users(client, operator, model):
    # The demo login as a person uses it: its password, through the admin's login page.
    login = {"username": "operator", "password": "cadence-demo", "next": "/admin/"}
    assert client.post("/admin/login/", login).status_code == 302
    assert client.get(_url(model, "changelist")).status_code == 200
    assert client.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", [WebhookDelivery, IdempotencyKey])
def test_the_operator_reads_the_delivery_log_and_idempotency_keys(operator_client, model):
    assert operator_client.get(_url(model, "changelist")).status_code == 200


def test_the_operator_creates_a_token_for_a_login(operator_client, django_user_model):
    someone = django_user_model.objects.create_user("integrator", password="x-Long-pass-1")
    response = operator_client.post(_url(TokenProxy, "add"), {"user": someone.pk})
    assert response.status_code == 302
    assert Token.objects.filter(user=someone).exists()


def test_the_operator_cannot_make_anyone_staff_or_superuser(operator_client, operator):
    # Given a login the operator edits, with the powers posted as if the fields were there
    someone = User.objects.create_user("someone", password="x-Long-pass-1")
    data = {
        "username": "someone",
        "first_name": "Some",
        "last_name": "One",
        "email": "someone@example.com",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    for user in (someone, operator):
        response = operator_client.post(
            _url(User, "change", user.pk), {**data, "username": user.username}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        user.refresh_from_db()
        assert not user.is_superuser
    someone.refresh_from_db()
    assert (someone.first_name, someone.is_staff) == ("Some", False)


def test_the_operator_cannot_edit_a_superuser(operator_client):
    root = User.objects.create_superuser("root", "root@example.com", "x-Long-pass-1")
    assert operator_client.get(_url(User, "change", root.pk)).status_code == 200  # read-only
    assert operator_client.get(_url(User, "password_change", root.pk)).status_code == 403
