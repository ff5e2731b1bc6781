"""/offers/link/<token>/: a temporary signed link to a hosted page. Opened, it grants the browser
that customer's page until the link expires (storefront/grants.py), then sends it there; nobody
is logged in. A forged, withdrawn or expired link gets a page saying so and what to do."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from core.errors import ApplicationError
from storefront.grants import Grant, grant_store, landing_url
from storefront.services.links import EXPIRED, expired_message, hosted_link_open


def link_refused(request: HttpRequest, refusal: ApplicationError) -> HttpResponse:
    """The page of a link that opens nothing: 410 once expired (it was good), 404 otherwise."""
    expired = refusal.code == EXPIRED
    return render(
        request,
        "storefront/link_refused.html",
        {"message": refusal.message, "expired": expired},
        status=410 if expired else 404,
    )


def grant_expired(request: HttpRequest, grant: Grant) -> HttpResponse:
    message = expired_message(expires_at=grant.expires_at)
    return link_refused(request, ApplicationError(message, code=EXPIRED))


@never_cache
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = hosted_link_open(token=token)
    except ApplicationError as refusal:
        return link_refused(request, refusal)
    grant = grant_store(request, link)
    # The page's own address, without the token: it is not left in the history or a Referer.
    return redirect(landing_url(grant))
