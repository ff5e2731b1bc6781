"""Who sees what: every page of the partner portal and of the self-service, for fixed users.

The owner (Acme's user for Acme's customer, Maple's user for Maple's rows) gets the page. Another
partner's user, another customer's user, a customer on partner pages, a partner on customer
pages and an outsider (a plain logged-in user) get 404 on a page about a row, never the data;
on a list page another tenant of the same kind gets its own list, without the owner's rows. A
visitor who is not logged in is sent to the login page.

Every URL of both apps is listed once, in PAGES; a test checks that none is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from billing.models import Invoice
from catalog.models import Plan, ProductContract, SeatType
from core.money import money_text
from payments.models import PaymentMethod
from payments.services import sepa_mandate_add
from subscriptions.services import subscription_contract_add
from tests.partners import builders

pytestmark = pytest.mark.django_db
SECRET_PO = "PO-SECRET-BM-2026"


@dataclass
class World:
    bakery: object
    bakery_subscription: object
    bakery_invoice: object
    maple_subscription: object
    maple_invoice: object
    acme_method: object
    maple_method: object
    bakery_contract: object = None
    maple_contract: object = None
    clients: dict[str, Client] = field(default_factory=dict)


@pytest.fixture
def world(demo_catalog, time_machine) -> World:
    # Acme (user paul) sells to Boulangerie Martin; Nordic (user nora) to Fjord Logistics
    acme = builders.partner("acme", "Acme Resellers", "20.00", "paul")
    nordic = builders.partner("nordic", "Nordic Devices", "15.00", "nora")
    bakery = builders.partner_customer(acme, "Boulangerie Martin")
    builders.devices(bakery, "gateway", 10)
    bakery_subscription = builders.sell_seats(bakery, po_reference=SECRET_PO)
    fjord = builders.partner_customer(nordic, "Fjord Logistics", country="NO")
    builders.sell_seats(fjord, years=1, po_reference="FL-77")
    # Maple (user mary) and Dora (user dora) use the self-service pages; olga is nobody's
    maple = builders.self_service_customer("Maple Hosting Co.", "mary")
    maple_subscription = builders.subscribe(maple, "hosting-a", date(2026, 11, 1))
    dora = builders.self_service_customer("Dora Dental", "dora")
    builders.subscribe(dora, "hosting-b", date(2026, 11, 1))
    builders.user("olga")
    for day in (date(2026, 1, 1), date(2026, 11, 1)):
        builders.bill(day)
    time_machine.move_to(builders.at(date(2026, 11, 21)), tick=False)
    world = World(
        bakery=bakery,
        bakery_subscription=bakery_subscription,
        bakery_invoice=Invoice.objects.filter(end_customer=bakery).first(),
        maple_subscription=maple_subscription,
        maple_invoice=Invoice.objects.get(customer=maple),
        # Each owner's payment method: Acme's mandate, Maple's card (invoiced in CAD).
        acme_method=sepa_mandate_add(
            customer=acme.account,
            account_holder="Acme Resellers SAS",
            iban="FR76 3000 6000 0112 3456 7890 189",
            accepted=True,
            today=date(2026, 11, 21),
        ),
        maple_method=PaymentMethod.objects.create(
            customer=maple,
            kind=PaymentMethod.Kind.CARD,
            gateway="test",
            gateway_reference="pm_maple",
            card_brand="Visa",
            card_last4="4242",
            is_default=True,
        ),
    )
    # A credit-based product contract on each owner's subscription (its top-up form).
    support = ProductContract.objects.get(code="support-credits")
    for name, subscription in (
        ("bakery_contract", bakery_subscription),
        ("maple_contract", maple_subscription),
    ):
        held = subscription_contract_add(
            subscription=subscription,
            contract=support,
            start_date=date(2026, 11, 1),
            today=date(2026, 11, 21),
        )
        setattr(world, name, held)
    from django.contrib.auth import get_user_model

    for username in ("paul", "nora", "mary", "dora", "olga"):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        world.clients[username] = client
    world.clients["anonymous"] = Client()
    return world


def start_purchase(client: Client, w: World) -> None:
    client.post(
        reverse("partners:subscription_new", args=[w.bakery.pk]),
        {
            "plan": Plan.objects.get(code="device-seats").pk,
            "start_date": "2026-12-01",
            "seats_gateway": "10",
            "seats_sensor": "0",
            "service_period_years": "1",
            "action": "review",
        },
    )


def start_seats(client: Client, w: World) -> None:
    client.post(
        reverse("partners:seats_add", args=[w.bakery.pk]),
        {
            "subscription": w.bakery_subscription.pk,
            "seat_type": SeatType.objects.get(code="gateway").pk,
            "quantity": "2",
        },
    )


@dataclass(frozen=True)
class Page:
    name: str
    args: Callable[[World], list] = lambda w: []
    method: str = "get"
    data: dict | None = None
    is_list: bool = False
    owner_status: int = 200
    prepare: Callable[[Client, World], None] | None = None
    # What only the owner may read on the page (default: its customer, PO and invoice).
    own: Callable[[World], list[str]] | None = None

    @property
    def app(self) -> str:
        return self.name.split(":")[0]


PAGES = [
    # The partner portal: Acme's pages, about Boulangerie Martin
    Page("partners:customers", is_list=True),
    Page("partners:customer", lambda w: [w.bakery.pk]),
    Page("partners:subscription_new", lambda w: [w.bakery.pk]),
    Page("partners:subscription_review", lambda w: [w.bakery.pk], prepare=start_purchase),
    Page("partners:seats_add", lambda w: [w.bakery.pk]),
    Page("partners:seats_add_review", lambda w: [w.bakery.pk], prepare=start_seats),
    Page("partners:po_reference", lambda w: [w.bakery_subscription.pk]),
    Page("partners:seats_reduce", lambda w: [w.bakery_subscription.pk]),
    Page("partners:cancel", lambda w: [w.bakery_subscription.pk]),
    Page(
        "partners:contract_topup",
        lambda w: [w.bakery_subscription.pk, w.bakery_contract.pk],
        method="post",
        data={"credits": "1"},
        owner_status=302,
    ),
    Page("partners:invoices", is_list=True),
    # What Acme owes (its open invoice for the bakery), never shown to another partner.
    Page("partners:figures", is_list=True, own=lambda w: [open_total(w)]),
    Page("partners:invoice_pdf", lambda w: [w.bakery_invoice.pk]),
    Page("partners:invoice_einvoice", lambda w: [w.bakery_invoice.pk, "facturx"]),
    Page(
        "partners:payment_methods",
        is_list=True,
        own=lambda w: [w.acme_method.mandate_reference, "FR76 •••• 0189"],
    ),
    Page(
        "partners:payment_method_default",
        lambda w: [w.acme_method.pk],
        method="post",
        owner_status=302,
    ),
    Page(
        "partners:payment_method_revoke",
        lambda w: [w.acme_method.pk],
        method="post",
        owner_status=302,
    ),
    Page(
        "partners:invoice_pay",
        lambda w: [w.bakery_invoice.pk],
        own=lambda w: [w.bakery_invoice.number],
    ),
    Page(
        "partners:card_add",
        is_list=True,
        method="post",
        own=lambda w: [w.acme_method.mandate_reference],
    ),
    # The self-service pages: Maple's
    Page("account:subscriptions", is_list=True),
    Page("account:subscription", lambda w: [w.maple_subscription.pk]),
    Page(
        "account:coupon", lambda w: [w.maple_subscription.pk], method="post", data={"code": "nope"}
    ),
    Page(
        "account:coupon_confirm",
        lambda w: [w.maple_subscription.pk],
        method="post",
        data={"code": "nope"},
    ),
    Page(
        "account:contract_topup",
        lambda w: [w.maple_subscription.pk, w.maple_contract.pk],
        method="post",
        data={"credits": "1"},
        owner_status=302,
    ),
    Page("account:change_plan", lambda w: [w.maple_subscription.pk]),
    Page(
        "account:change_plan_confirm",
        lambda w: [w.maple_subscription.pk, Plan.objects.get(code="hosting-b").pk],
    ),
    Page("account:withdraw_plan_change", lambda w: [w.maple_subscription.pk]),
    Page("account:cancel", lambda w: [w.maple_subscription.pk]),
    Page(
        "account:undo_cancellation",
        lambda w: [w.maple_subscription.pk],
        method="post",
        owner_status=302,  # nothing to undo: back to the list, with the reason
    ),
    Page("account:invoices", is_list=True),
    Page("account:invoice_pdf", lambda w: [w.maple_invoice.pk]),
    Page("account:invoice_einvoice", lambda w: [w.maple_invoice.pk, "facturx"]),
    Page("account:payment_methods", is_list=True, own=lambda w: ["•••• 4242"]),
    Page("account:invoice_pay", lambda w: [w.maple_invoice.pk]),
    Page("account:card_add", is_list=True, method="post", own=lambda w: ["•••• 4242"]),
    Page(
        "account:payment_method_default",
        lambda w: [w.maple_method.pk],
        method="post",
        owner_status=302,
    ),
    Page(
        "account:payment_method_revoke",
        lambda w: [w.maple_method.pk],
        method="post",
        owner_status=302,
    ),
]
OWNER = {"partners": "paul", "account": "mary"}
PEER = {"partners": "nora", "account": "dora"}  # another tenant of the same kind


def open_total(w: World) -> str:
    """The bakery invoice's total as the owner's page writes it."""
    return money_text(w.bakery_invoice.total.amount, w.bakery_invoice.currency)


def secrets(page: Page, w: World) -> list[str]:
    if page.own is not None:
        return page.own(w)
    if page.app == "partners":
        return ["Boulangerie Martin", SECRET_PO, w.bakery_invoice.number]
    return ["Maple Hosting Co.", w.maple_invoice.number]


def expected_status(page: Page, who: str) -> int:
    if who == "anonymous":
        return 302
    if who == OWNER[page.app]:
        return page.owner_status
    if page.is_list and who == PEER[page.app]:
        return 200
    return 404


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_only_the_owner_sees_the_page(world, page):
    url = reverse(page.name, args=page.args(world))
    for who, client in world.clients.items():
        if page.prepare is not None:
            page.prepare(client, world)
        response = getattr(client, page.method)(url, page.data or {})
        status = expected_status(page, who)
        assert response.status_code == status, f"{who} on {url}"
        body = response.content
        if who == "anonymous":
            assert response.url.startswith(reverse("login") + "?next=")
        elif who != OWNER[page.app]:
            for secret in secrets(page, world):
                assert secret.encode() not in body, f"{who} sees {secret!r} on {url}"
        elif page.name.endswith(("invoice_pdf", "invoice_einvoice")):
            assert body.startswith(b"%PDF")
        elif status == 200:
            assert secrets(page, world)[0].encode() in body  # the owner does see the data


def test_every_portal_and_self_service_url_is_checked():
    resolver = get_resolver()
    names = {
        f"{namespace}:{name}"
        for namespace in ("partners", "account")
        for name in resolver.namespace_dict[namespace][1].reverse_dict
        if isinstance(name, str)
    }
    assert names == {page.name for page in PAGES}


def test_home_sends_each_person_to_their_own_place(world):
    assert world.clients["paul"].get("/").url == reverse("partners:customers")
    assert world.clients["mary"].get("/").url == reverse("account:subscriptions")
    assert world.clients["anonymous"].get("/").url.startswith(reverse("login"))


def test_another_tenants_row_gets_the_same_page_as_a_missing_one(world):
    nora = world.clients["nora"]
    foreign = nora.get(reverse("partners:customer", args=[world.bakery.pk]))
    missing = nora.get(reverse("partners:customer", args=[10**9]))
    assert foreign.status_code == missing.status_code == 404
    assert "Page not found" in foreign.content.decode()  # the portal's page, with its header
    # the same content, byte for byte (the header around it differs only by the address)
    main = re.compile(rb"<main.*</main>", re.DOTALL)
    assert main.search(foreign.content)[0] == main.search(missing.content)[0]
