"""A scheduled plan change can be withdrawn before it takes effect (issue 11, point 4): before,
a downgrade waiting for the period end could not be undone and refused every other change."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from billing.services import billing_run
from catalog.models import Plan
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.charges import context_of, due_charges
from subscriptions.models import Subscription, SubscriptionEvent
from tests.subscriptions.factories import CustomerFactory
from tests.support.api import token_client

pytestmark = pytest.mark.django_db
Kind = SubscriptionEvent.Kind
TODAY = date(2026, 11, 21)


@pytest.fixture
def on_b(demo_catalog):
    """billing-rules example 6.3: Hosting B (250.00 CAD a month) from 2026-11-01, downgraded to A on
    2026-11-21, effective 2026-12-01."""
    subscription = services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=Plan.objects.get(code="hosting-b"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    services.subscription_change_plan(
        subscription=subscription, plan=Plan.objects.get(code="hosting-a"), today=TODAY
    )
    return Subscription.objects.get(pk=subscription.pk)


def december(subscription) -> list:
    context = context_of(Subscription.objects.get(pk=subscription.pk))
    return [
        (c.charge_date, c.net)
        for c in due_charges(context, up_to=date(2026, 12, 1))
        if c.charge_date == date(2026, 12, 1)
    ]


def test_a_withdrawn_downgrade_keeps_the_plan_and_its_price(on_b):
    assert december(on_b) == [(date(2026, 12, 1), D("150.00"))]

    result = services.subscription_withdraw_plan_change(subscription=on_b, today=TODAY)

    assert result.message == (
        "The change to Hosting A is withdrawn: the subscription stays on Hosting B "
        "(250.00 CAD from 2026-12-01)."
    )
    withdrawn = on_b.events.get(kind=Kind.PLAN_CHANGE_WITHDRAWN)
    assert on_b.events.get(kind=Kind.PLAN_CHANGED).revoked_by == withdrawn
    assert december(on_b) == [(date(2026, 12, 1), D("250.00"))]
    billing_run(day=date(2026, 12, 1), send_emails=False)
    on_b.refresh_from_db()
    assert on_b.plan.code == "hosting-b"


def test_after_the_withdrawal_another_change_can_be_made(on_b):
    with pytest.raises(ApplicationError, match="A change to Hosting A is already pending"):
        services.subscription_change_plan(
            subscription=on_b, plan=Plan.objects.get(code="hosting-a"), today=TODAY
        )
    services.subscription_withdraw_plan_change(subscription=on_b, today=TODAY)
    again = services.subscription_change_plan(
        subscription=on_b, plan=Plan.objects.get(code="hosting-a"), today=date(2026, 11, 25)
    )
    assert again.effective_date == date(2026, 12, 1)


def test_a_preview_of_the_withdrawal_changes_nothing(on_b):
    services.subscription_withdraw_plan_change(subscription=on_b, today=TODAY, dry_run=True)
    assert not on_b.events.filter(kind=Kind.PLAN_CHANGE_WITHDRAWN).exists()
    assert on_b.events.get(kind=Kind.PLAN_CHANGED).revoked_by is None


def test_nothing_to_withdraw_is_refused_and_changes_nothing(on_b):
    services.subscription_withdraw_plan_change(subscription=on_b, today=TODAY)
    events = on_b.events.count()
    with pytest.raises(ApplicationError, match="There is no scheduled plan change to withdraw"):
        services.subscription_withdraw_plan_change(subscription=on_b, today=TODAY)
    assert on_b.events.count() == events


def test_a_change_in_effect_can_no_longer_be_withdrawn(on_b):
    billing_run(day=date(2026, 12, 1), send_emails=False)
    with pytest.raises(ApplicationError, match="There is no scheduled plan change"):
        services.subscription_withdraw_plan_change(subscription=on_b, today=date(2026, 12, 1))
    on_b.refresh_from_db()
    assert on_b.plan.code == "hosting-a"


def test_a_change_waiting_for_its_fulfilment_can_be_withdrawn(demo_catalog):
    premium = Plan.objects.get(code="hosting-b")
    Plan.objects.filter(pk=premium.pk).update(manual_fulfilment=True)
    premium.refresh_from_db()
    subscription = services.subscription_create(
        customer=CustomerFactory(currency="CAD", country="CA"),
        plan=Plan.objects.get(code="hosting-a"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    services.subscription_change_plan(subscription=subscription, plan=premium, today=TODAY)
    services.subscription_withdraw_plan_change(subscription=subscription, today=TODAY)
    subscription.refresh_from_db()
    assert subscription.pending_plan is None
    with pytest.raises(ApplicationError, match="Nothing is waiting for fulfilment"):
        services.subscription_fulfil(subscription=subscription, today=TODAY)


@time_machine.travel("2026-11-21 09:00Z")
def test_the_admin_action_withdraws_the_change(operator_client, on_b):
    response = operator_client.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "withdraw_plan_change", "_selected_action": [on_b.pk]},
        follow=True,
    )
    assert "1 plan change(s) withdrawn." in [str(m) for m in response.context["messages"]]
    assert on_b.events.filter(kind=Kind.PLAN_CHANGE_WITHDRAWN, channel="admin").exists()


def test_the_api_withdraws_the_change_with_a_preview_first(on_b, django_user_model):
    operator = django_user_model.objects.create_user("op", password="x-long-password-1")
    operator.is_staff = True
    operator.save()
    client = token_client(operator)
    url = f"/api/v1/subscriptions/{on_b.pk}/plan-change/withdraw/"
    with time_machine.travel("2026-11-21 09:00Z"):
        preview = client.post(url + "preview/", {}, format="json")
        assert preview.status_code == 200, preview.content
        assert not on_b.events.filter(kind=Kind.PLAN_CHANGE_WITHDRAWN).exists()
        done = client.post(url, {}, format="json")
        assert done.status_code == 200, done.content
        assert done.json()["event"]["kind"] == "plan_change_withdrawn"
        assert done.json()["total_next"] == "250.00"
        again = client.post(url, {}, format="json")
    assert again.status_code == 400
    assert "There is no scheduled plan change to withdraw." in again.content.decode()
