"""The partner's figures page (/partners/figures/): its customers' live subscriptions and seats,
what it was invoiced month by month, what it owes by days late — its own, never another
partner's — in a fixed number of queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from reports.services import mrr_refresh
from tests.partners import builders

pytestmark = pytest.mark.django_db
URL = "/partners/figures/"
D = Decimal


@pytest.fixture
def sold(bakery, nordic, on):
    """Acme sells billing-rules example 6.1 to the bakery (net 108.00, 129.60 a quarter, billed
    to Acme); Nordic sells 4 gateways to its own customer (billed to Nordic), both from 1 January
    2026; seen on 15 February, 15 days after the invoices' due date."""
    builders.sell_seats(bakery)
    fjord = builders.partner_customer(nordic, "Fjord Logistics")
    builders.sell_seats(fjord, seats=4)
    builders.bill(date(2026, 1, 1))
    on(date(2026, 2, 15))


def test_the_url_and_the_link_in_the_portal(partner_client, sold):
    assert reverse("partners:figures") == URL
    assert f'href="{URL}"' in partner_client.get(reverse("partners:customers")).content.decode()


def test_a_partner_sees_its_own_figures(partner_client, sold):
    response = partner_client.get(URL)

    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.live_subscriptions == 1
    assert [(row.seat_type.code, row.seats) for row in figures.seats] == [("gateway", 10)]
    # Twelve months, the current first: February 2026 back to March 2025.
    assert [row.month for row in figures.months][:2] == [date(2026, 2, 1), date(2026, 1, 1)]
    assert len(figures.months) == 12
    assert sum(row.invoiced for row in figures.months) == D("108.00")
    assert figures.months[1].invoiced == D("108.00")
    (owed,) = figures.receivables
    assert (owed.currency, owed.days_1_30, owed.total) == ("EUR", D("129.60"), D("129.60"))
    assert response.context["mrr"] is None
    page = response.content.decode()
    assert "129.60" in page
    assert "MRR" not in page and "price you pay" not in page


def test_another_partners_invoices_never_count(client, sold, nordic):
    client.force_login(nordic.users.get().user)
    figures = client.get(URL).context["figures"]

    # 4 gateways: 60.00 − 6.00 (3 years) − 8.10 (15 %) = 45.90 a quarter; VAT 9.18.
    assert figures.live_subscriptions == 1
    assert [(row.seat_type.code, row.seats) for row in figures.seats] == [("gateway", 4)]
    assert sum(row.invoiced for row in figures.months) == D("45.90")
    assert [row.total for row in figures.receivables] == [D("55.08")]


def test_nothing_yet(partner_client, acme, on):
    on(date(2026, 2, 15))
    response = partner_client.get(URL)
    figures = response.context["figures"]
    assert (figures.live_subscriptions, figures.seats, figures.months, figures.receivables) == (
        0,
        [],
        [],
        [],
    )
    assert 'id="nothing-owed"' in response.content.decode()


def test_the_mrr_is_shown_once_there(partner_client, sold):
    # The MRR figures built by their job: 108.00 a quarter at the partner's price is 36.00
    mrr_refresh(today=date(2026, 2, 15))

    response = partner_client.get(URL)

    assert response.context["mrr"] == {"EUR": D("36.0000")}
    page = response.content.decode()
    assert 'class="mrr"' in page and "36.00" in page


def test_only_partners_get_in(client, sold, dupont_client):
    assert dupont_client.get(URL).status_code == 404
    client.logout()
    assert client.get(URL).status_code == 302  # to the login


def test_in_french(partner_client, sold):
    page = partner_client.get(URL, headers={"accept-language": "fr"}).content.decode()
    assert "129,60" in page


def test_its_queries_do_not_grow_with_the_rows(
    partner_client, bakery, on, django_assert_max_num_queries
):
    def measure() -> int:
        # The portal pages' budget (14), and the MRR at the price it pays (one SUM).
        with django_assert_max_num_queries(15) as queries:
            assert partner_client.get(URL).status_code == 200
        return len(queries)

    on(date(2026, 1, 2))
    builders.sell_seats(bakery)
    builders.bill(date(2026, 1, 1))
    with_1 = measure()
    for n in range(19):
        builders.sell_seats(builders.partner_customer(bakery.partner_link.partner, f"C{n}"))
    builders.bill(date(2026, 1, 1))
    with_20 = measure()
    assert with_20 == with_1
    assert partner_client.get(URL).context["figures"].live_subscriptions == 20
