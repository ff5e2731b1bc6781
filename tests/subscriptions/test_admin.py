"""Operators: subscriptions and customers in the admin, actions through the services."""

from datetime import date

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from catalog.models import Plan
from partners.models import Partner
from subscriptions.models import Customer, Subscription, UsageEvent
from tests.partners import builders

ADMIN_MODELS = [
    m for m in admin.site._registry if m._meta.app_label in ("subscriptions", "partners")
]
TODAY = date(2026, 11, 21)


def management_data(response) -> dict:
    """The management forms of the inlines of an admin change page, as a POST would send them."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data |= {f"{form.prefix}-{name}": value for name, value in form.initial.items()}
    return data


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo(seeded):
    """The demo data: a row in every model of the admin, for the pages that list them all
    (usage events included: the demo's metered API sends its calls)."""
    return {
        s.plan.code + ":" + s.customer.name: s
        for s in Subscription.objects.select_related("plan", "customer")
    }


@pytest.fixture
def sold(demo_catalog):
    """The three subscriptions the actions below are tried on, sold as the demo sells them, by
    "plan:customer": Acme's device seats for Boulangerie Martin (billing-rules example 6.1), Atelier
    Dupont's office suite (billing-rules example 4.2), Maple's Hosting A (example 6.3)."""
    acme = builders.partner("acme", "Acme Resellers", "20.00", "paul")
    bakery = builders.partner_customer(acme, "Boulangerie Martin")
    dupont = builders.self_service_customer(
        "Atelier Dupont", "denis", currency="EUR", country="FR", postal_code="69001", city="Lyon"
    )
    maple = builders.self_service_customer("Maple Hosting Co.", "mary")
    return {
        "device-seats:Boulangerie Martin": builders.sell_seats(
            bakery, po_reference="PO-BM-2026-01"
        ),
        "office-24m:Atelier Dupont": builders.subscribe(dupont, "office-24m", date(2026, 1, 1)),
        "hosting-a:Maple Hosting Co.": builders.subscribe(maple, "hosting-a", date(2026, 11, 1)),
    }


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_pages_load_for_an_operator(operator_client, demo, model):
    assert operator_client.get(url(model, "changelist")).status_code == 200
    assert operator_client.get(url(model, "changelist"), {"q": "a"}).status_code == 200
    obj = model.objects.first()
    assert operator_client.get(url(model, "change", obj.pk)).status_code == 200
    assert operator_client.get(url(model, "history", obj.pk)).status_code == 200


def test_every_subscription_filter_loads(operator_client, demo):
    response = operator_client.get(url(Subscription, "changelist"))
    changelist = response.context["cl"]
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            assert (
                operator_client.get(
                    url(Subscription, "changelist") + choice["query_string"]
                ).status_code
                == 200
            )


def test_filters_by_partner_and_pending_fulfilment(operator_client, sold):
    acme = Partner.objects.get(code="acme")
    response = operator_client.get(url(Subscription, "changelist"), {"partner": acme.pk})
    assert [s.customer.name for s in response.context["cl"].result_list] == ["Boulangerie Martin"]
    platform = Plan.objects.get(code="platform-yearly")
    from subscriptions import services

    with time_machine.travel(TODAY):
        services.subscription_create(
            customer=Customer.objects.get(name="Atelier Dupont"),
            plan=platform,
            start_date=TODAY,
            today=TODAY,
        )
    response = operator_client.get(url(Subscription, "changelist"), {"pending": "yes"})
    assert [s.plan.code for s in response.context["cl"].result_list] == ["platform-yearly"]


def test_the_change_page_shows_the_timeline(operator_client, sold):
    subscription = sold["device-seats:Boulangerie Martin"]
    html = operator_client.get(url(Subscription, "change", subscription.pk)).content.decode()
    assert "Timeline (every change with its effective date)" in html
    assert "<td>2026-01-01</td><td>past</td><td>subscription started</td>" in html
    assert "Gateway" in html and "3-year service period" in html and "Acme Resellers" in html


@time_machine.travel(date(2026, 10, 1))
def test_cancel_shows_the_preview_then_records_on_confirmation(operator_client, sold):
    subscription = sold["office-24m:Atelier Dupont"]
    changelist = url(Subscription, "changelist")
    preview = operator_client.post(
        changelist, {"action": "cancel_with_preview", "_selected_action": [subscription.pk]}
    )
    assert preview.status_code == 200
    html = preview.content.decode()
    # billing-rules example 4.2, shown before confirming
    assert "2026-11-01" in html and "140.05" in html
    subscription.refresh_from_db()
    assert subscription.status == "active"  # nothing recorded yet
    done = operator_client.post(
        changelist,
        {"action": "cancel_with_preview", "_selected_action": [subscription.pk], "confirm": "yes"},
        follow=True,
    )
    assert done.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == "pending_cancellation" and subscription.end_date == date(
        2026, 11, 1
    )
    operator_client.post(
        changelist, {"action": "undo_cancellation", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.status == "active" and subscription.end_date is None


@time_machine.travel(date(2029, 1, 2))
def test_renew_now_applies_the_renewal_due(operator_client, operator, sold):
    operator_client.force_login(operator)  # a session opened in 2026 has expired by 2029
    subscription = sold["device-seats:Boulangerie Martin"]
    operator_client.post(
        url(Subscription, "changelist"),
        {"action": "renew_now", "_selected_action": [subscription.pk]},
    )
    subscription.refresh_from_db()
    assert subscription.events.filter(kind="renewed", effective_date=date(2029, 1, 1)).exists()
    assert subscription.commitment_end == date(2030, 1, 1)


@time_machine.travel(TODAY)
def test_mark_fulfilled_and_its_refusal_message(operator_client, sold):
    from subscriptions import services

    pending = services.subscription_create(
        customer=Customer.objects.get(name="Atelier Dupont"),
        plan=Plan.objects.get(code="platform-yearly"),
        start_date=TODAY,
        today=TODAY,
    ).subscription
    hosting = sold["hosting-a:Maple Hosting Co."]
    response = operator_client.post(
        url(Subscription, "changelist"),
        {"action": "mark_fulfilled", "_selected_action": [pending.pk, hosting.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("Nothing is waiting for fulfilment" in m for m in shown), shown
    pending.refresh_from_db()
    assert pending.status == "active" and pending.anchor_date == TODAY


@time_machine.travel(TODAY)
def test_the_po_reference_is_edited_through_the_service(operator_client, sold, operator):
    subscription = sold["device-seats:Boulangerie Martin"]
    inlines = management_data(operator_client.get(url(Subscription, "change", subscription.pk)))
    response = operator_client.post(
        url(Subscription, "change", subscription.pk), {"po_reference": "PO-NEW-42", **inlines}
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.po_reference == "PO-NEW-42"
    event = subscription.events.get(kind="po_reference")
    assert (event.data, event.actor, event.channel) == (
        {"from": "PO-BM-2026-01", "to": "PO-NEW-42"},
        operator,
        "admin",
    )
    too_long = operator_client.post(
        url(Subscription, "change", subscription.pk), {"po_reference": "P" * 36, **inlines}
    )
    assert too_long.status_code == 200
    assert "at most 35 characters" in too_long.content.decode()
    subscription.refresh_from_db()
    assert subscription.po_reference == "PO-NEW-42"


def test_subscriptions_cannot_be_added_or_deleted_in_the_admin(operator_client, sold):
    assert operator_client.get(url(Subscription, "add")).status_code == 403
    subscription = sold["hosting-a:Maple Hosting Co."]
    assert operator_client.get(url(Subscription, "delete", subscription.pk)).status_code == 403


def test_a_customer_is_created_through_the_service_with_its_partner(operator_client, sold):
    acme = Partner.objects.get(code="acme")
    response = operator_client.post(
        url(Customer, "add"),
        {
            "name": "Garage Lemoine",
            "email": "garage@lemoine.example",
            "locale": "fr",
            "currency": "EUR",
            "payment_type": "bank_transfer",
            "address_line1": "1 rue Haute",
            "postal_code": "44000",
            "city": "Nantes",
            "country": "fr",
            "partner_link-TOTAL_FORMS": "1",
            "partner_link-INITIAL_FORMS": "0",
            "partner_link-0-partner": acme.pk,
            "devices-TOTAL_FORMS": "0",
            "devices-INITIAL_FORMS": "0",
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get(name="Garage Lemoine")
    assert customer.country == "FR"
    assert customer.partner_link.partner == acme


def test_usage_events_are_read_only_filtered_by_code_and_searched(operator_client, demo):
    event = UsageEvent.objects.order_by("id").first()
    assert event is not None
    listed = operator_client.get(url(UsageEvent, "changelist"), {"q": event.transaction_id})
    assert listed.status_code == 200
    assert event.transaction_id in listed.content.decode()
    assert (
        event.transaction_id
        not in operator_client.get(url(UsageEvent, "changelist"), {"q": "other"}).content.decode()
    )
    assert (
        operator_client.get(url(UsageEvent, "changelist"), {"code": "api_call"}).status_code == 200
    )
    assert operator_client.get(url(UsageEvent, "add")).status_code == 403
    page = operator_client.get(url(UsageEvent, "change", event.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
