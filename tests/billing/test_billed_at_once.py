"""A start in the past is invoiced when it is confirmed, not at the next nightly run; so is the
first period of a subscription fulfilled by an operator (issue 11, point 1).

Before, subscription_create and subscription_fulfil queued no billing at all: the review said
"2 billing periods have begun since then: they are invoiced at once" and nothing was issued until
the nightly run at BILLING_RUN_HOUR. The partner portal's confirmation is in
tests/partners/test_portal.py."""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from billing.models import Invoice
from catalog.models import Plan
from config import celery as celery_config
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory
from tests.support.api import acme_selling_over_the_api, created

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 5, 10)


def worker_queues() -> set[str]:
    """The queues the Procfile's worker (make run) consumes."""
    procfile = (ROOT / "Procfile").read_text()
    [queues] = re.findall(r"^worker:.*--queues[= ](\S+)", procfile, flags=re.MULTILINE)
    return set(queues.split(","))


def sell_office(today: date = TODAY, start: date = date(2026, 3, 1)) -> Subscription:
    return services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="office-24m"),  # monthly
        start_date=start,
        today=today,
    ).subscription


def test_a_past_start_queues_its_catch_up_where_the_worker_listens(
    demo_catalog, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setitem(celery_config.app.conf, "task_always_eager", False)
    monkeypatch.setattr(
        celery_config.app,
        "send_task",
        lambda name, args, queue=None: sent.append((name, list(args), queue)),
    )

    with django_capture_on_commit_callbacks(execute=True):
        subscription = sell_office()

    # Three months begun (March, April, May): one task bills them, for the day of the sale.
    assert sent == [("billing.run_chunk", [[subscription.pk], TODAY.isoformat()], "billing")]
    assert "billing" in worker_queues()
    assert settings.CELERY_TASK_ROUTES["billing.run_chunk"]["queue"] in worker_queues()


def test_a_past_start_sold_directly_is_invoiced_once_the_sale_commits(
    demo_catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = sell_office()

    invoices = Invoice.objects.filter(subscription=subscription).order_by("number")
    assert [(i.issue_date, i.lines.get().period_start) for i in invoices] == [
        (TODAY, date(2026, 3, 1)),
        (TODAY, date(2026, 4, 1)),
        (TODAY, date(2026, 5, 1)),
    ]
    subscription.refresh_from_db()
    assert subscription.next_billing_date == date(2026, 6, 1)


def test_a_future_start_or_a_preview_queues_nothing(
    demo_catalog, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setitem(celery_config.app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_config.app, "send_task", lambda *a, **k: sent.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        sell_office(start=date(2026, 6, 1))
        services.subscription_create(
            customer=CustomerFactory(),
            plan=Plan.objects.get(code="office-24m"),
            start_date=date(2026, 3, 1),
            today=TODAY,
            dry_run=True,
        )
    assert sent == []
    assert not Invoice.objects.exists()


@pytest.fixture
def acme(demo_catalog):
    return acme_selling_over_the_api()


def test_a_past_start_sold_through_the_api_answers_with_its_invoices(acme):
    with time_machine.travel(f"{TODAY.isoformat()} 09:00Z", tick=True):
        body = created(
            acme.client.post(
                "/api/v1/subscriptions/",
                {
                    "customer": acme.customer.pk,
                    "plan": "device-seats",
                    "start_date": "2026-01-01",
                    "seats": {"gateway": 10},
                    "service_period_years": 3,
                },
            )
        )
    invoices = list(Invoice.objects.order_by("number"))
    assert len(invoices) == 2  # 2026-01-01 and 2026-04-01, billing-rules example 6.1
    assert body["invoices"] == [
        {
            "id": invoice.pk,
            "number": invoice.number,
            "total": "129.60",
            "currency": "EUR",
            "pdf": f"/api/v1/invoices/{invoice.pk}/pdf/",
        }
        for invoice in invoices
    ]
    assert body["subscription"]["next_invoice"]["date"] == "2026-07-01"


@time_machine.travel("2026-11-21 09:00Z")
def test_marking_fulfilled_in_the_admin_issues_the_first_invoice_and_links_it(
    operator_client, demo_catalog
):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="platform-yearly"),  # manual fulfilment, 1,200.00 a year
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    assert not Invoice.objects.exists()

    response = operator_client.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "mark_fulfilled", "_selected_action": [subscription.pk]},
        follow=True,
    )

    [invoice] = Invoice.objects.filter(subscription=subscription)
    assert invoice.issue_date == date(2026, 11, 21)
    assert invoice.net_total.amount == Decimal("1200.00")
    link = reverse("admin:billing_invoice_change", args=[invoice.pk])
    shown = [str(m) for m in response.context["messages"]]
    assert f'Invoiced at once: <a href="{link}">{invoice.number}</a>' in shown, shown


def test_a_fulfilment_queues_the_billing_of_its_first_period(
    demo_catalog, django_capture_on_commit_callbacks
):
    subscription = services.subscription_create(
        customer=CustomerFactory(),
        plan=Plan.objects.get(code="platform-yearly"),
        start_date=date(2026, 11, 1),
        today=date(2026, 11, 1),
    ).subscription
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_fulfil(subscription=subscription, today=date(2026, 11, 5))
    [invoice] = Invoice.objects.filter(subscription=subscription)
    assert invoice.issue_date == date(2026, 11, 5)
