"""The offers grids: /offers/ (the public grids), /offers/<grid>/ and its embeddable variant.

Views parse the visitor's choices (country, monthly or yearly), ask the selectors, render.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt

from catalog.models import OffersGrid, SellerProfile
from catalog.services import frame_ancestor_sources
from core import clock
from partners.selectors import partner_of_user
from storefront import selectors


def grid_index(request: HttpRequest) -> HttpResponse:
    grids = list(selectors.listed_grids())
    if not grids:
        raise Http404
    if len(grids) == 1:
        return redirect("storefront:grid", grid=grids[0].code)
    return render(request, "storefront/index.html", {"grids": grids})


def _page_context(request: HttpRequest, code: str, *, embed: bool) -> dict:
    grid = selectors.published_grid(code)
    if grid is None:
        raise Http404
    # A partner grid is not there for anyone else (404, as the partner portal answers).
    if grid.segment == OffersGrid.Segment.PARTNERS and partner_of_user(request.user) is None:
        raise Http404
    country = visitor_country(request)
    yearly = request.GET.get("period") == "yearly"
    page = selectors.grid_page(grid, country=country, yearly=yearly, today=clock.today())
    return {
        "page": page,
        "grid": grid,
        "countries": selectors.countries(),
        "embed": embed,
        "self_url": request.path,
    }


def visitor_country(request: HttpRequest) -> str:
    """The visitor's country (GET `country`), else the seller's: the grid's prices are those of
    a consumer there."""
    codes = {code for code, _name in selectors.countries()}
    asked = (request.GET.get("country") or "").strip().upper()
    if asked in codes:
        return asked
    return (SellerProfile.current().country or settings.SELLER_COUNTRY or "FR").upper()


def grid_page(request: HttpRequest, grid: str) -> HttpResponse:
    return render(request, "storefront/grid.html", _page_context(request, grid, embed=False))


@xframe_options_exempt
def grid_embed(request: HttpRequest, grid: str) -> HttpResponse:
    """The grid without the site's header and footer, for a frame on the sites the grid (or
    STOREFRONT_FRAME_ANCESTORS) allows; no other site may frame it."""
    context = _page_context(request, grid, embed=True)
    response = render(request, "storefront/grid_embed.html", context)
    origins = frame_ancestor_sources(
        value=context["grid"].frame_ancestors or settings.STOREFRONT_FRAME_ANCESTORS
    )
    sources = ["'self'", *(origin for origin in origins if origin != "'self'")]
    response["Content-Security-Policy"] = "frame-ancestors " + " ".join(sources)
    return response
