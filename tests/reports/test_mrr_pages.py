"""The MRR and revenue reports and the drill-down of a month's movements, through the pages:
figures, links, CSV, bad filters, and operators only."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from catalog.models import UpgradeGroup
from reports.services import mrr_refresh
from subscriptions import services
from tests.partners import builders
from tests.subscriptions.factories import CustomerFactory, monthly_plan

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2026, 4, 20)


@pytest.fixture
def book(demo_catalog):
    """In March 2026: a customer upgraded 150.00 → 250.00 and a new one on 30.00; a yearly
    1,200.00 invoiced in March 2026 (billed by the run)."""
    with time_machine.travel(builders.at(TODAY), tick=False):
        group = UpgradeGroup.objects.create(code="web", name="Web")
        small = monthly_plan("150.00", code="small", upgrade_group=group, upgrade_rank=1)
        large = monthly_plan("250.00", code="large", upgrade_group=group, upgrade_rank=2)
        upgraded = services.subscription_create(
            customer=CustomerFactory(name="Upgrader"),
            plan=small,
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
        ).subscription
        services.subscription_change_plan(
            subscription=upgraded, plan=large, today=date(2026, 3, 12)
        )
        services.subscription_create(
            customer=CustomerFactory(name="Newcomer"),
            plan=monthly_plan("30.00", code="new"),
            start_date=date(2026, 3, 5),
            today=date(2026, 3, 5),
        )
        mrr_refresh(today=TODAY)
        yield


def get(client, url, **params):
    with time_machine.travel(builders.at(TODAY), tick=False):
        return client.get(url, params)


def test_the_mrr_report_shows_each_month_and_links_its_movements(operator_client, book):
    response = get(
        operator_client, reverse("reports:report", args=["mrr"]), start="2026-03", end="2026-03"
    )

    assert response.status_code == 200
    [row] = response.context["result"].tables[0].rows
    assert (row["opening"], row["closing"]) == (D("150.00"), D("280.00"))
    new, url = row["new"]
    assert new == D("30.00")
    assert url == reverse("reports:mrr-movements") + "?month=2026-03&currency=EUR&kind=new"
    assert row["expansion"][0] == D("100.00")
    assert row["churn"] == 0  # nothing behind it: no link
    page = response.content.decode()
    assert f'href="{url.replace("&", "&amp;")}"' in page
    assert "<svg" in page


def test_the_mrr_csv_has_plain_figures(operator_client, book):
    response = get(
        operator_client,
        reverse("reports:report", args=["mrr"]),
        start="2026-03",
        end="2026-03",
        format="csv",
    )

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith(
        "month,currency,opening,new,expansion,reactivation,contraction,churn,closing,arr"
    )
    assert lines[1].startswith("2026-03,EUR,150.00,30.00,100.00,0.00,0.00,0.00,280.00,3360.00")


def test_the_drill_down_names_the_customers_and_what_they_did(operator_client, book):
    response = get(operator_client, reverse("reports:mrr-movements"), month="2026-03")

    assert response.status_code == 200
    assert response.context["count"] == 2
    [new, expansion] = response.context["details"]  # by movement: new, then expansion
    assert (new.customer.name, new.change.kind, new.change.after) == ("Newcomer", "new", D("30.00"))
    assert expansion.change.kind == "expansion"
    assert [e.kind for e in expansion.events] == ["plan_changed"]
    page = response.content.decode()
    assert "Upgrader" in page and "Newcomer" in page

    csv = get(
        operator_client, reverse("reports:mrr-movements"), month="2026-03", kind="new", format="csv"
    )
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0] == "customer_id,customer,currency,movement,before,after,change"
    assert lines[1].endswith(",Newcomer,EUR,new,0.00,30.00,30.00")
    assert len(lines) == 2


@pytest.mark.parametrize("params", [{"month": "2026-13"}, {"kind": "upsell"}, {"plan": "x"}])
def test_bad_drill_down_filters_show_their_errors(operator_client, book, params):
    response = get(operator_client, reverse("reports:mrr-movements"), **params)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "details" not in response.context


def test_the_breakdown_by_plan_and_the_mrr_day_by_day(operator_client, book):
    response = get(
        operator_client,
        reverse("reports:report", args=["mrr-breakdown"]),
        start="2026-03",
        end="2026-04",
    )

    by_plan, by_partner, by_country = response.context["result"].tables
    assert [(r["key"], r["mrr"]) for r in by_plan.rows] == [
        ("large", D("250.00")),
        ("new", D("30.00")),
    ]
    assert [(r["key"], r["mrr"]) for r in by_partner.rows] == [("Sold directly", D("280.00"))]
    assert [(r["key"], r["subscriptions"]) for r in by_country.rows] == [("FR", 2)]
    assert len(response.context["result"].charts) == 1  # the MRR day by day, in EUR


def test_revenue_and_aged_receivables_reports_render(operator_client, book):
    for slug in ("revenue", "aged-receivables"):
        response = get(operator_client, reverse("reports:report", args=[slug]))
        assert response.status_code == 200, slug
        assert response.context["result"].tables


def test_only_operators_see_the_drill_down(client, book):
    response = get(client, reverse("reports:mrr-movements"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
