"""The embeddable grid's headers (framed only by the allowed sites) and the grid page's
queries: as many for 6 plans as for 2."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import OffersGrid
from tests.storefront.conftest import make_grid

pytestmark = pytest.mark.django_db


def test_the_page_cannot_be_framed(client, demo_catalog):
    response = client.get("/offers/cadence/")
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in response


def test_the_embed_is_framed_by_this_site_and_the_settings_origins(client, settings, demo_catalog):
    settings.STOREFRONT_FRAME_ANCESTORS = "https://www.example.com https://shop.example.org:8443"
    response = client.get("/offers/cadence/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://www.example.com https://shop.example.org:8443"
    )
    html = response.content.decode()
    # No site header or footer; the checkout opens in the top window, the toggle in the frame.
    assert "site-header" not in html and "site-footer" not in html
    assert 'href="/offers/cadence/cloud-backup-monthly/?country=FR" target="_top"' in html
    assert 'href="?period=yearly&amp;country=FR"' in html
    assert 'action="/offers/cadence/embed/"' in html


def test_a_grids_own_origins_replace_the_settings(client, settings, demo_catalog):
    settings.STOREFRONT_FRAME_ANCESTORS = "https://www.example.com"
    OffersGrid.objects.filter(code="cadence").update(frame_ancestors="https://partner.example")
    response = client.get("/offers/cadence/embed/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://partner.example"


def test_without_origins_only_this_site_frames_it(client, settings, demo_catalog):
    settings.STOREFRONT_FRAME_ANCESTORS = ""
    response = client.get("/offers/cadence/embed/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_grid_page_reads_as_much_for_six_plans_as_for_two(client, demo_catalog):
    make_grid("two", ["cloud-backup-monthly>cloud-backup-yearly", "api-metered-monthly"])
    make_grid(
        "six",
        [
            "cloud-backup-monthly>cloud-backup-yearly",
            "api-metered-monthly",
            "office-24m",
            "platform-yearly",
            "api-prepaid-monthly",
            "device-seats",
        ],
    )
    two = _queries(client, "/offers/two/")
    six = _queries(client, "/offers/six/")
    assert len(client.get("/offers/six/").context["page"].cards) == 6
    assert two == six
    assert six <= 15
    # Yearly, in another country, embedded: still no query per plan.
    assert _queries(client, "/offers/six/?period=yearly&country=BE") == _queries(
        client, "/offers/two/?period=yearly&country=BE"
    )
    assert _queries(client, "/offers/six/embed/") == _queries(client, "/offers/two/embed/")
