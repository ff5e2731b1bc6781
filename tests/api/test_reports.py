"""MRR figures over the API: operators read all of them, a partner its own (at the price it pays),
another partner's are not found, customers have none; bad parameters answer 400 with the field."""

from datetime import date
from decimal import Decimal

import pytest

from partners.models import Partner
from reports import services
from reports.models import MrrSegment

from .conftest import TODAY

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def figures(tenants):
    services.mrr_refresh(today=TODAY)
    return tenants


def november(response, month="2026-11-01"):
    assert response.status_code == 200, response.content
    return {row["currency"]: row for row in response.json()["months"] if row["month"] == month}


def test_the_operator_reads_every_currency_and_every_partner(figures, api):
    rows = november(api("operator").get("/api/v1/reports/mrr/", {"start": "2026-10-01"}))

    segments = MrrSegment.objects.filter(start__lte=TODAY)
    for currency in ("EUR", "CAD"):
        expected = sum(
            (
                s.amount
                for s in segments.filter(currency=currency)
                if s.end is None or s.end > TODAY
            ),
            D(0),
        )
        assert D(rows[currency]["mrr_end"]) == expected > 0
    eur = rows["EUR"]
    assert D(eur["arr"]) == D(eur["mrr_end"]) * 12
    # Balanced, as every month is
    moved = sum(D(eur[k]) for k in ("new", "expansion", "reactivation"))
    lost = sum(D(eur[k]) for k in ("contraction", "churn"))
    assert D(eur["mrr_end"]) == D(eur["mrr_start"]) + moved - lost


def test_a_partner_reads_only_its_own_figures(figures, api):
    acme = Partner.objects.get(code="acme")
    response = api("partner").get("/api/v1/reports/mrr/")
    rows = november(response)

    # Only the bakery's seats (the clinic has no subscription), at the price Acme pays
    [bakery] = MrrSegment.objects.filter(subscription=figures.bakery_seats)
    assert bakery.partner_id == acme.pk
    assert set(rows) == {"EUR"}
    assert D(rows["EUR"]["mrr_end"]) == bakery.amount
    # ...new in October, when the seats started
    assert november(response, "2026-10-01")["EUR"]["customers"]["new"] == 1


def test_another_partners_figures_are_not_found(figures, api):
    nordic = Partner.objects.get(code="nordic")

    response = api("partner").get("/api/v1/reports/mrr/", {"partner": nordic.pk})

    assert response.status_code == 404


def test_customers_have_no_reports(figures, api):
    assert api("customer").get("/api/v1/reports/mrr/").status_code == 403


def test_the_drill_down_lists_the_customers_who_moved(figures, api):
    response = api("operator").get("/api/v1/reports/mrr/movements/", {"end": "2026-10-01"})

    assert response.status_code == 200, response.content
    changes = response.json()["changes"]
    names = {c["customer"]["name"] for c in changes}
    assert {"Boulangerie Martin", "Fjord Logistics"} <= names
    [bakery] = [c for c in changes if c["customer"]["name"] == "Boulangerie Martin"]
    assert bakery["movement"] == "new"
    assert bakery["before"] == "0.00"
    assert [e["kind"] for e in bakery["events"]] == ["created"]
    assert bakery["segments"][0]["start"] == "2026-10-01"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-12-01", "end": "2026-01-01"}, "end"),
        ({"start": "1990-01-01"}, "start"),
        ({"start": "2000-01-01", "end": "2026-01-01"}, "start"),
        ({"currency": "euro"}, "currency"),
        ({"plan": "999999"}, "plan"),
        ({"kind": "new"}, "kind"),
    ],
)
def test_bad_parameters_answer_400_with_the_field(figures, api, params, field):
    response = api("operator").get("/api/v1/reports/mrr/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_a_movement_kind_must_be_one_of_the_five(figures, api):
    response = api("operator").get("/api/v1/reports/mrr/movements/", {"kind": "upsell"})

    assert response.status_code == 400
    assert "kind" in response.json()


def test_query_count_does_not_grow_with_months(figures, api, django_assert_max_num_queries):
    with django_assert_max_num_queries(16):
        response = api("operator").get(
            "/api/v1/reports/mrr/", {"start": "2024-01-01", "end": "2026-11-01"}
        )
    assert response.status_code == 200
    assert date.fromisoformat(response.json()["months"][0]["month"]) == date(2024, 1, 1)
