"""Idempotency keys: the same key and body replay the first answer and charge nothing more;
another body is refused; a failed request leaves the key free; keys expire after 24 hours."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.models import InvoiceLine
from integrations.models import IdempotencyKey
from integrations.services import idempotency_keys_purge
from integrations.tasks import idempotency_keys_purge as purge_task
from subscriptions.models import Subscription, SubscriptionEvent

pytestmark = pytest.mark.django_db

KEY = "5f0c6d1e-9a43-4b8e-b1a1-3f9f2f1c0a77"


def charged():
    return (
        Subscription.objects.count(),
        SubscriptionEvent.objects.count(),
        InvoiceLine.objects.count(),
    )


@pytest.fixture
def seats_url(tenants):
    return f"/api/v1/subscriptions/{tenants.fjord_seats.pk}/seats/"


def test_the_same_key_and_body_replay_the_answer_and_charge_nothing_more(
    tenants, api, seats_url, django_capture_on_commit_callbacks
):
    client = api("partner2")
    body = {"seat_type": "gateway", "quantity": 2}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(seats_url, body, HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    after_first = charged()
    assert InvoiceLine.objects.filter(kind="proration").count() == 1  # invoiced at once
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            seats_url, {"quantity": 2, "seat_type": "gateway"}, HTTP_IDEMPOTENCY_KEY=KEY
        )
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert charged() == after_first
    assert tenants.fjord_seats.seats.get().quantity == 7


def test_the_same_key_with_another_body_or_address_is_refused(tenants, api, seats_url):
    client = api("partner2")
    assert (
        client.post(
            seats_url, {"seat_type": "gateway", "quantity": 2}, HTTP_IDEMPOTENCY_KEY=KEY
        ).status_code
        == 200
    )
    before = charged()
    other_body = client.post(
        seats_url, {"seat_type": "gateway", "quantity": 3}, HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert other_body.status_code == 422
    assert "was already used with another request" in other_body.json()["detail"]
    other_path = client.post(seats_url + "preview/", {}, HTTP_IDEMPOTENCY_KEY=KEY)
    assert other_path.status_code != 422  # previews charge nothing: no key needed or kept
    cancel = client.post(
        f"/api/v1/subscriptions/{tenants.fjord_seats.pk}/cancel/", {}, HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert cancel.status_code == 422
    assert charged() == before


def test_keys_belong_to_their_user(tenants, api):
    body = {"seat_type": "gateway", "quantity": 1}
    assert (
        api("partner")
        .post(
            f"/api/v1/subscriptions/{tenants.bakery_seats.pk}/seats/",
            body,
            HTTP_IDEMPOTENCY_KEY=KEY,
        )
        .status_code
        == 200
    )
    response = api("partner2").post(
        f"/api/v1/subscriptions/{tenants.fjord_seats.pk}/seats/", body, HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert IdempotencyKey.objects.filter(key=KEY).count() == 2


def test_a_refused_request_leaves_the_key_free_for_the_corrected_one(tenants, api, seats_url):
    client = api("partner2")
    refused = client.post(
        seats_url, {"seat_type": "gateway", "quantity": 0}, HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    accepted = client.post(
        seats_url, {"seat_type": "gateway", "quantity": 1}, HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert accepted.status_code == 200
    stored = IdempotencyKey.objects.get()
    assert (stored.method, stored.path, stored.response_status) == ("POST", seats_url, 200)
    assert stored.response_body == accepted.json()


def test_a_subscription_created_twice_with_one_key_exists_once(tenants, api):
    body = {
        "customer": tenants.clinic.pk,
        "plan": "device-seats",
        "start_date": "2026-12-01",
        "seats": {"sensor": 6},
    }
    client = api("partner")
    first = client.post("/api/v1/subscriptions/", body, HTTP_IDEMPOTENCY_KEY=KEY)
    second = client.post("/api/v1/subscriptions/", body, HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert tenants.clinic.subscriptions.count() == 1


def test_every_change_that_can_charge_replays(tenants, api, django_capture_on_commit_callbacks):
    """Cancel (a penalty), redeem a coupon, change plan, record credit consumption."""
    from datetime import date

    from catalog.models import ProductContract
    from subscriptions import services

    held = services.subscription_contract_add(
        subscription=tenants.office,
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
    )
    cases = [
        ("customer2", f"/api/v1/subscriptions/{tenants.office.pk}/cancel/", {}),
        ("customer2", f"/api/v1/subscriptions/{tenants.backup.pk}/coupons/", {"code": "coupon_89"}),
        (
            "customer",
            f"/api/v1/subscriptions/{tenants.hosting.pk}/plan-change/",
            {"plan": "hosting-b"},
        ),
        (
            "customer2",
            f"/api/v1/subscriptions/{tenants.office.pk}/contracts/{held.pk}/consumptions/",
            {"amount": "2"},
        ),
    ]
    for number, (username, url, body) in enumerate(cases):
        client = api(username)
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post(url, body, HTTP_IDEMPOTENCY_KEY=f"key-{number}")
        assert first.status_code in (200, 201), (url, first.content)
        state = charged(), held.credits.count()
        with django_capture_on_commit_callbacks(execute=True):
            again = client.post(url, body, HTTP_IDEMPOTENCY_KEY=f"key-{number}")
        assert (again.status_code, again.json()) == (first.status_code, first.json()), url
        assert (charged(), held.credits.count()) == state, url


def test_keys_expire_after_24_hours(tenants, api, seats_url):
    client = api("partner2")
    body = {"seat_type": "gateway", "quantity": 1}
    assert client.post(seats_url, body, HTTP_IDEMPOTENCY_KEY=KEY).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        again = client.post(seats_url, body, HTTP_IDEMPOTENCY_KEY=KEY)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert tenants.fjord_seats.seats.get().quantity == 7  # 5 + 1 + 1
    assert IdempotencyKey.objects.count() == 1


def test_the_purge_forgets_expired_keys_only(tenants, api, seats_url):
    client = api("partner2")
    client.post(seats_url, {"seat_type": "gateway", "quantity": 1}, HTTP_IDEMPOTENCY_KEY="old")
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        client.post(seats_url, {"seat_type": "gateway", "quantity": 1}, HTTP_IDEMPOTENCY_KEY="new")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=30)):
        assert idempotency_keys_purge() == 1
        assert purge_task.apply().get() == 0
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "with space"])
def test_a_malformed_key_is_refused(tenants, api, seats_url, key):
    response = api("partner2").post(
        seats_url, {"seat_type": "gateway", "quantity": 1}, HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400
    assert response.json() == {
        "Idempotency-Key": ["An Idempotency-Key is 1 to 255 visible ASCII characters."]
    }
    assert tenants.fjord_seats.seats.get().quantity == 5
