"""The hosted session: what opening a temporary signed link (storefront/services/links.py) grants
a browser — one customer's one page (for a plan change, of one subscription) until the link
expires, kept in the session. Nobody is logged in: a login, if any, is left as it is, and only the
self-service views that say so accept a grant (subscriptions.views.customer_or_hosted).

A session keeps the last few grants (one link per tab: a plan change and the payment methods
opened side by side), each with its link's expiry; an expired grant opens nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from storefront.models import HostedPageLink
from subscriptions.models import Customer

SESSION_KEY = "storefront_hosted_pages"
KEPT = 5  # grants a session keeps, newest first


@dataclass(frozen=True)
class Grant:
    link_id: int
    customer_id: int
    page: str
    subscription_id: int | None
    expires_at: datetime

    @property
    def expired(self) -> bool:
        return timezone.now() >= self.expires_at

    def covers(self, page: str, subscription_id: int | None) -> bool:
        """For `page` and, for a plan change, this subscription."""
        return self.page == page and (
            self.subscription_id is None or self.subscription_id == subscription_id
        )

    def as_session(self) -> dict:
        return {
            "link": self.link_id,
            "customer": self.customer_id,
            "page": self.page,
            "subscription": self.subscription_id,
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_session(cls, data: dict) -> Grant | None:
        try:
            return cls(
                link_id=int(data["link"]),
                customer_id=int(data["customer"]),
                page=str(data["page"]),
                subscription_id=int(data["subscription"]) if data["subscription"] else None,
                expires_at=datetime.fromisoformat(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None  # written by an older version: as if absent


@dataclass(frozen=True)
class HostedVisit:
    """Set on the request (`request.hosted`) of a page reached through a grant: the pages show
    the link's banner and hide the account's navigation and log-out."""

    customer: Customer
    expires_at: datetime

    @property
    def zone(self) -> str:
        """The time zone the banner's expiry time is told in: the business's."""
        return settings.BILLING_TIME_ZONE


def grants_of(request: HttpRequest) -> list[Grant]:
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, list):
        return []
    return [
        grant for data in stored if isinstance(data, dict) and (grant := Grant.from_session(data))
    ]


def grant_store(request: HttpRequest, link: HostedPageLink) -> Grant:
    """Grant the browser what `link` opens, until the link expires."""
    grant = Grant(
        link_id=link.pk,
        customer_id=link.customer_id,
        page=link.page,
        subscription_id=link.subscription_id,
        expires_at=link.expires_at,
    )
    others = [g for g in grants_of(request) if g.link_id != link.pk and not g.expired]
    request.session[SESSION_KEY] = [g.as_session() for g in [grant, *others][:KEPT]]
    return grant


def grant_for(
    request: HttpRequest, page: str, subscription_id: int | None = None
) -> tuple[Grant | None, Grant | None, bool]:
    """(the live grant for this page and subscription, an expired one for them, whether any live
    grant is for this page at all)."""
    live = expired = None
    page_granted = False
    for grant in grants_of(request):
        if grant.page == page and not grant.expired:
            page_granted = True
        if grant.covers(page, subscription_id):
            if not grant.expired:
                live = live or grant
            else:
                expired = expired or grant
    return live, expired, page_granted


def landing_url(grant: Grant) -> str:
    """The page a link opens."""
    if grant.page == HostedPageLink.Page.CHANGE_PLAN:
        return reverse("account:change_plan", args=[grant.subscription_id])
    return reverse("account:payment_methods")
