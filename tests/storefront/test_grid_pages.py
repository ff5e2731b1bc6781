"""The offers grid pages: prices with and without tax for the visitor's country, trial,
commitment and notice in plain words, features, the monthly/yearly toggle, the highlighted plan,
who may see which grid, French."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import CouponCampaign, OffersGrid
from tests.partners.builders import partner
from tests.storefront.conftest import make_grid

pytestmark = pytest.mark.django_db


def _get(client, grid="cadence", **params):
    return client.get(reverse("storefront:grid", args=[grid]), params)


def _text(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_demo_grid_shows_each_plan_with_its_price_with_and_without_french_vat(
    client, demo_grid
):
    response = _get(client)
    assert response.status_code == 200
    page = response.context["page"]
    assert [card.plan.code for card in page.cards] == [
        "api-prepaid-monthly",
        "cloud-backup-monthly",
        "api-metered-monthly",
    ]
    assert page.country == "FR"  # the seller's, by default
    text = _text(response)
    assert "Cadence offers" in text
    # 30.00 EUR a month, 20 % French VAT.
    backup = page.cards[1]
    assert (backup.price.net, backup.price.gross) == (30, 36)
    assert '30.00 EUR</strong> <span class="offer__period">per month</span>' in text
    assert "36.00 EUR incl. VAT" in text
    assert "excl. VAT" in text


def test_another_eu_country_pays_its_own_vat_and_outside_the_eu_none(client, demo_grid):
    belgium = _get(client, country="BE").context["page"].cards[1]
    assert (belgium.price.net, belgium.price.gross) == (30, Decimal("36.30"))  # 21 % Belgian VAT
    canada = _get(client, country="CA")
    card = canada.context["page"].cards[1]
    assert (card.price.net, card.price.gross) == (30, 30)
    assert "Not subject to VAT" in _text(canada)


def test_where_the_vat_cannot_be_determined_the_price_is_shown_without_it(client, demo_grid):
    # No standard rate for Germany in the demo: a German consumer's VAT is unknown.
    response = _get(client, country="DE")
    card = response.context["page"].cards[1]
    assert card.price.gross is None and card.price.net == 30
    assert "could not be determined" in _text(response)
    assert "incl. VAT" not in _text(response)


def test_an_unknown_country_falls_back_to_the_sellers(client, demo_grid):
    assert _get(client, country="<script>").context["page"].country == "FR"


def test_trial_commitment_notice_and_usage_in_plain_words(client, demo_grid):
    text = _text(_get(client))
    assert "14-day free trial" in text
    assert "Commitment: 12 months, then month to month" in text
    assert "No commitment" in text
    assert "API calls: first 10,000 included, then 0.002 EUR each above 10,000" in text
    assert "Start free trial" in text and ">Choose<" in text


def test_features_are_compared_on_every_card(client, demo_grid):
    response = _get(client)
    page = response.context["page"]
    names = [f.display_name for f in page.features]
    assert names == sorted(names, key=str.casefold)
    for card in page.cards:
        assert [f.name for f in card.features] == names
    backup = {f.name: f for f in page.cards[1].features}
    assert backup["Storage"].included and backup["Storage"].value == "200 GB"
    assert not backup["API access"].included
    metered = {f.name: f for f in page.cards[2].features}
    assert metered["API calls a month"].value == "100,000 calls"
    text = _text(response)
    assert "Not included:</span> API access" in text
    assert "Included:</span> Storage: <strong>200 GB</strong>" in text


def test_an_unlimited_limit_says_so(client, demo_catalog):
    make_grid("platform", ["platform-yearly"])
    features = {f.name: f for f in _get(client, "platform").context["page"].cards[0].features}
    assert features["Storage"].value == "unlimited"


def test_the_highlighted_plan_stands_out_with_its_badge(client, demo_grid):
    response = _get(client)
    assert [c.highlighted for c in response.context["page"].cards] == [False, True, False]
    html = response.content.decode()
    assert html.count("offer--highlighted") == 1
    assert '<p class="offer__badge">Most popular</p>' in html


def test_the_yearly_toggle_shows_the_yearly_twins_and_links_their_checkout(client, demo_grid):
    monthly = _get(client)
    assert monthly.context["page"].has_yearly and not monthly.context["page"].yearly
    assert 'href="?period=yearly&amp;country=FR"' in monthly.content.decode()
    assert 'href="/offers/cadence/cloud-backup-monthly/?country=FR"' in monthly.content.decode()
    yearly = _get(client, period="yearly")
    page = yearly.context["page"]
    assert page.yearly
    backup = page.cards[1]
    assert backup.plan.code == "cloud-backup-yearly"
    assert (backup.price.net, backup.price.gross) == (300, 360)
    assert backup.period_label == "per year"
    assert backup.checkout_url == "/offers/cadence/cloud-backup-yearly/?country=FR"
    assert "Commitment: 1 year, then year to year" in _text(yearly)
    # The offers without a yearly twin stay monthly, and say so.
    assert page.cards[0].plan.code == "api-prepaid-monthly" and page.cards[0].other_period_only
    # The country is kept by the form (a hidden period field).
    assert '<input type="hidden" name="period" value="yearly">' in yearly.content.decode()


def test_no_toggle_without_a_yearly_twin(client, demo_catalog):
    make_grid("api", ["api-prepaid-monthly", "api-metered-monthly"])
    response = _get(client, "api", period="yearly")
    assert not response.context["page"].has_yearly and not response.context["page"].yearly
    assert "period-toggle" not in response.content.decode()


def test_in_french(client, demo_grid):
    response = client.get(reverse("storefront:grid", args=["cadence"]), HTTP_ACCEPT_LANGUAGE="fr")
    text = _text(response)
    assert '<html lang="fr">' in response.content.decode()
    assert "Les offres Cadence" in text
    assert "Le plus choisi" in text
    assert "Sauvegarde en ligne, mensuelle" in text
    assert "30,00" in text and "36,00" in text


def test_the_index_redirects_to_the_only_public_grid_and_lists_several(client, demo_grid):
    assert client.get("/offers/").url == "/offers/cadence/"
    make_grid("api", ["api-prepaid-monthly"], name="API offers")
    make_grid("resellers", ["api-metered-monthly"], segment=OffersGrid.Segment.PARTNERS)
    response = client.get("/offers/")
    assert response.status_code == 200
    assert [g.code for g in response.context["grids"]] == ["api", "cadence"]


def test_no_public_grid_no_index(client, demo_grid):
    OffersGrid.objects.update(is_active=False)
    assert client.get("/offers/").status_code == 404


def test_an_unpublished_or_unknown_grid_is_not_found(client, demo_grid):
    OffersGrid.objects.update(is_active=False)
    assert _get(client).status_code == 404
    assert _get(client, "nothing-here").status_code == 404
    assert client.get("/offers/cadence/embed/").status_code == 404


def test_a_partner_grid_is_for_partner_users_only(client, django_user_model, demo_catalog):
    make_grid("resellers", ["api-metered-monthly"], segment=OffersGrid.Segment.PARTNERS)
    assert _get(client, "resellers").status_code == 404
    customer = django_user_model.objects.create_user("someone", password="x")
    client.force_login(customer)
    assert _get(client, "resellers").status_code == 404
    acme = partner("acme", "Acme Resellers", "20.00", "paul")
    client.force_login(acme.users.get().user)
    assert _get(client, "resellers").status_code == 200


def test_a_campaign_grid_is_reached_by_its_link_only_and_names_its_campaign(client, demo_catalog):
    campaign = CouponCampaign.objects.get(code="coupon-87")
    make_grid(
        "spring",
        ["api-prepaid-monthly"],
        segment=OffersGrid.Segment.CAMPAIGN,
        campaign=campaign,
    )
    response = _get(client, "spring")
    assert response.status_code == 200
    assert "Offer: Additional service −20 %" in _text(response)
    # Not listed: /offers/ still leads to the only public grid.
    assert client.get("/offers/").url == "/offers/cadence/"
