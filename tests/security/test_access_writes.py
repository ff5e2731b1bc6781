"""Who can change what: every write page of the partner portal and of the self-service, POSTed
by everyone but the owner, with a valid CSRF token.

Another partner's user, a customer user, a logged-in outsider get 404 and a visitor who is not
logged in the login page; in every case nothing changes in the database (every row a change
could touch: tests/support/snapshots.py). Then the owner makes the same POST and the change
happens, so the comparison can see a change when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from catalog.models import Bundle, Plan, SeatType
from subscriptions import services
from subscriptions.models import (
    CouponRedemption,
    Customer,
    CustomerUser,
    Subscription,
    SubscriptionSeat,
)
from tests.partners import builders
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db

SECRET_PO = "PO-SECRET-BM-2026"
CSRF_SECRET = "s3cr3tCsrfValue0123456789abcdefX"  # 32 characters, as Django's secrets
PARTNER_DAY = date(2026, 6, 1)  # before the freeze and the notice deadline of a 2027 renewal
SELF_SERVICE_DAY = date(2026, 11, 25)


def csrf_client(username: str | None) -> Client:
    """A client that enforces CSRF, as a browser would meet it, and holds a valid token."""
    client = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF_SECRET)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    if username is not None:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def login_redirect(response, url: str) -> bool:
    return response.status_code == 302 and response.url.startswith(
        reverse("login") + "?next=" + url
    )


@dataclass(frozen=True)
class Write:
    """One change a page makes: the POSTs in order (address, data)."""

    name: str
    steps: Callable[[object], list[tuple[str, dict]]]
    changed: Callable[[object], bool]  # whether the owner's change happened


# The partner portal ------------------------------------------------------------------------------


@dataclass
class Portal:
    bakery: object
    subscription: object
    gateway: SeatType
    clients: dict[str, Client]


@pytest.fixture
def portal(acme, nordic, bakery, time_machine) -> Portal:
    """Acme (paul) sells 12 gateway seats to Boulangerie Martin, invoiced since 2026-01-01.
    Nordic (nora) sells to Fjord Logistics; Bruno is Boulangerie Martin's own self-service
    user, Mary a direct customer's; Olga is logged in and nobody's."""
    subscription = builders.sell_seats(bakery, seats=12, years=1, po_reference=SECRET_PO)
    fjord = builders.partner_customer(nordic, "Fjord Logistics", country="NO")
    builders.devices(fjord, "gateway", 3)
    builders.sell_seats(fjord, seats=3, years=1, po_reference="FL-77")
    CustomerUser.objects.create(customer=bakery, user=builders.user("bruno"))
    maple = builders.self_service_customer("Maple Hosting Co.", "mary")
    builders.subscribe(maple, "hosting-a", date(2026, 1, 1))
    builders.user("olga")
    builders.bill(date(2026, 1, 1))
    builders.bill(date(2026, 4, 1))
    time_machine.move_to(builders.at(PARTNER_DAY), tick=False)
    users = ["paul", "nora", "bruno", "mary", "olga", None]
    return Portal(
        bakery=bakery,
        subscription=subscription,
        gateway=SeatType.objects.get(code="gateway"),
        clients={user or "anonymous": csrf_client(user) for user in users},
    )


def _purchase(p: Portal) -> list[tuple[str, dict]]:
    return [
        (
            reverse("partners:subscription_new", args=[p.bakery.pk]),
            {
                "plan": Plan.objects.get(code="device-seats").pk,
                "start_date": "2026-07-01",
                "po_reference": "PO-INTRUDER",
                "seats_gateway": "2",
                "seats_sensor": "0",
                "service_period_years": "1",
                "action": "review",
            },
        ),
        (reverse("partners:subscription_review", args=[p.bakery.pk]), {"accept_terms": "on"}),
    ]


def _seats_add(p: Portal) -> list[tuple[str, dict]]:
    return [
        (
            reverse("partners:seats_add", args=[p.bakery.pk]),
            {"subscription": p.subscription.pk, "seat_type": p.gateway.pk, "quantity": "5"},
        ),
        (reverse("partners:seats_add_review", args=[p.bakery.pk]), {"accept_terms": "on"}),
    ]


def _seat(p: Portal) -> SubscriptionSeat:
    return p.subscription.seats.get()


def _fresh(subscription) -> Subscription:
    return Subscription.objects.get(pk=subscription.pk)


PORTAL_WRITES = [
    Write(
        "cancel",
        lambda p: [(reverse("partners:cancel", args=[p.subscription.pk]), {})],
        lambda p: _fresh(p.subscription).status == Subscription.Status.PENDING_CANCELLATION,
    ),
    Write(
        "seat reduction",
        lambda p: [
            (
                reverse("partners:seats_reduce", args=[p.subscription.pk]),
                {"seat_type": p.gateway.pk, "quantity": "10", "action": "confirm"},
            )
        ],
        lambda p: _seat(p).scheduled_quantity == 10,
    ),
    Write(
        "PO reference",
        lambda p: [
            (
                reverse("partners:po_reference", args=[p.subscription.pk]),
                {"po_reference": "PO-INTRUDER"},
            )
        ],
        lambda p: _fresh(p.subscription).po_reference == "PO-INTRUDER",
    ),
    Write("add seats", _seats_add, lambda p: _seat(p).quantity == 17),
    Write(
        "create a subscription",
        _purchase,
        lambda p: p.bakery.subscriptions.filter(po_reference="PO-INTRUDER").exists(),
    ),
]
PORTAL_INTRUDERS = ["nora", "bruno", "mary", "olga", "anonymous"]


@pytest.mark.parametrize("write", PORTAL_WRITES, ids=[w.name for w in PORTAL_WRITES])
def test_only_the_partner_of_the_customer_can_make_a_portal_change(portal, write):
    before = snapshot()
    for who in PORTAL_INTRUDERS:
        client = portal.clients[who]
        for url, data in write.steps(portal):
            response = client.post(url, data)
            if who == "anonymous":
                assert login_redirect(response, url), f"{who} on {url}"
            else:
                assert response.status_code == 404, f"{who} on {url}: {response.status_code}"
                body = response.content.decode()
                assert SECRET_PO not in body and "Boulangerie Martin" not in body, who
        assert snapshot() == before, f"{who} changed something with {write.name}"
        assert not write.changed(portal)

    # The owner, with the same token and the same POSTs: the change is made
    for url, data in write.steps(portal):
        response = portal.clients["paul"].post(url, data)
        assert response.status_code == 302, (url, response.content.decode()[:2000])
    assert write.changed(portal)
    assert snapshot() != before


def test_an_intruder_keeps_no_purchase_in_progress_for_the_owners_customer(portal):
    """Step one refused, the confirmation has nothing to confirm even for a 'kept' purchase."""
    nora = portal.clients["nora"]
    steps = _purchase(portal)
    nora.post(*steps[0])
    assert f"partners:purchase:{portal.bakery.pk}" not in nora.session
    seats = _seats_add(portal)
    nora.post(*seats[0])
    assert f"partners:add-seats:{portal.bakery.pk}" not in nora.session


def test_a_partner_cannot_name_another_partners_subscription_in_its_own_forms(portal):
    """Nora's own customer in the address, Acme's subscription in the form: refused as a bad
    choice, shown in the page (the field is hidden when there is one subscription), and nothing
    changes."""
    fjord = portal.clients["nora"]
    fjord_customer = Customer.objects.get(name="Fjord Logistics")
    before = snapshot()
    response = fjord.post(
        reverse("partners:seats_add", args=[fjord_customer.pk]),
        {"subscription": portal.subscription.pk, "seat_type": portal.gateway.pk, "quantity": "5"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["subscription"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert "That choice is not one of the available choices." in response.content.decode()
    assert SECRET_PO not in response.content.decode()
    assert f"partners:add-seats:{fjord_customer.pk}" not in fjord.session
    assert snapshot() == before


def test_a_post_without_the_csrf_token_is_refused_before_anything(portal):
    """The token matters: the same owner's POST without it is a 403 and changes nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="paul"))
    before = snapshot()
    url = reverse("partners:po_reference", args=[portal.subscription.pk])
    response = client.post(url, {"po_reference": "PO-INTRUDER"})
    assert response.status_code == 403
    assert snapshot() == before


# The self-service pages --------------------------------------------------------------------------


@dataclass
class SelfService:
    hosting: object  # Maple's (mary), hosting-a from 2026-11-01
    cancelled: object  # Maple's, a second hosting-a, cancellation pending
    backup: object  # Dupont's (denis), cloud backup with the additional service
    bakery_subscription: object  # Acme's customer's, sold through the partner portal
    clients: dict[str, Client]


@pytest.fixture
def self_service(acme, bakery, time_machine) -> SelfService:
    maple = builders.self_service_customer("Maple Hosting Co.", "mary")
    hosting = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
    cancelled = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
    services.subscription_cancel(subscription=cancelled, today=date(2026, 11, 20))
    dupont = builders.self_service_customer(
        "Atelier Dupont", "denis", currency="EUR", country="FR", postal_code="69001", city="Lyon"
    )
    backup = builders.subscribe(
        dupont,
        "cloud-backup-monthly",
        date(2026, 11, 10),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    )
    bakery_subscription = builders.sell_seats(bakery, po_reference=SECRET_PO)
    builders.user("olga")
    for day in (date(2026, 11, 1), date(2026, 11, 24)):
        builders.bill(day)
    time_machine.move_to(builders.at(SELF_SERVICE_DAY), tick=False)
    users = ["mary", "denis", "paul", "olga", None]
    return SelfService(
        hosting=hosting,
        cancelled=cancelled,
        backup=backup,
        bakery_subscription=bakery_subscription,
        clients={user or "anonymous": csrf_client(user) for user in users},
    )


SELF_SERVICE_WRITES = [
    Write(
        "change plan",
        lambda s: [
            (
                reverse(
                    "account:change_plan_confirm",
                    args=[s.hosting.pk, Plan.objects.get(code="hosting-b").pk],
                ),
                {},
            )
        ],
        lambda s: _fresh(s.hosting).plan.code == "hosting-b",
    ),
    Write(
        "withdraw a plan change",
        lambda s: (
            [
                (reverse("account:change_plan_confirm", args=[s.hosting.pk, plan.pk]), {})
                for plan in Plan.objects.filter(code__in=["hosting-b", "hosting-a"]).order_by(
                    "-code"
                )  # up to B now, back to A at the period end
            ]
            + [(reverse("account:withdraw_plan_change", args=[s.hosting.pk]), {})]
        ),
        lambda s: s.hosting.events.filter(kind="plan_change_withdrawn").exists(),
    ),
    Write(
        "redeem a coupon",
        # Redeem previews (nothing is written); Confirm redeems.
        lambda s: [(reverse("account:coupon_confirm", args=[s.backup.pk]), {"code": "coupon_87"})],
        lambda s: CouponRedemption.objects.filter(subscription=s.backup).exists(),
    ),
    Write(
        "cancel",
        lambda s: [(reverse("account:cancel", args=[s.hosting.pk]), {})],
        lambda s: _fresh(s.hosting).status == Subscription.Status.PENDING_CANCELLATION,
    ),
    Write(
        "undo the cancellation",
        lambda s: [(reverse("account:undo_cancellation", args=[s.cancelled.pk]), {})],
        lambda s: _fresh(s.cancelled).status == Subscription.Status.ACTIVE,
    ),
]
OWNER_OF = {"change plan": "mary", "redeem a coupon": "denis", "cancel": "mary"}


@pytest.mark.parametrize("write", SELF_SERVICE_WRITES, ids=[w.name for w in SELF_SERVICE_WRITES])
def test_only_the_customer_can_make_a_self_service_change(self_service, write):
    owner = OWNER_OF.get(write.name, "mary")
    other_customer = "mary" if owner == "denis" else "denis"
    secret = "Atelier Dupont" if owner == "denis" else "Maple Hosting Co."
    before = snapshot()
    for who in [other_customer, "paul", "olga", "anonymous"]:
        for url, data in write.steps(self_service):
            response = self_service.clients[who].post(url, data)
            if who == "anonymous":
                assert login_redirect(response, url), f"{who} on {url}"
            else:
                assert response.status_code == 404, f"{who} on {url}: {response.status_code}"
                assert secret not in response.content.decode(), who
        assert snapshot() == before, f"{who} changed something with {write.name}"
        assert not write.changed(self_service)

    for url, data in write.steps(self_service):
        response = self_service.clients[owner].post(url, data)
        assert response.status_code == 302, (url, response.content.decode()[:2000])
    assert write.changed(self_service)
    assert snapshot() != before


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("account:cancel", {}),
        ("account:coupon", {"code": "coupon_87"}),
        ("account:coupon_confirm", {"code": "coupon_87"}),
        ("account:undo_cancellation", {}),
        ("account:withdraw_plan_change", {}),
    ],
)
def test_a_partner_cannot_change_its_own_customers_subscription_through_the_self_service(
    self_service, name, data
):
    """The partner's door is the portal: the self-service pages do not know its user."""
    before = snapshot()
    url = reverse(name, args=[self_service.bakery_subscription.pk])
    response = self_service.clients["paul"].post(url, data)
    assert response.status_code == 404
    assert SECRET_PO not in response.content.decode()
    assert snapshot() == before
