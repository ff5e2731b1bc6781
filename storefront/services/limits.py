"""Rate limits of the storefront: sign-ups and coupon tries, per email address and per IP
address, over a sliding hour. Counted in `Attempt` rows (every web process sees the same
counts); no CAPTCHA. A refusal says when to try again."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from core.errors import ApplicationError
from storefront.models import Attempt

WINDOW = timedelta(hours=1)


def _keys(keys: Iterable[str | None]) -> list[str]:
    return sorted({(k or "").strip().lower()[:254] for k in keys if (k or "").strip()})


def attempts_check(
    *, kind: str, keys: Iterable[str | None], limit: int, now: datetime | None = None
) -> None:
    """Refuse when any key (an email address, an IP address) has made `limit` attempts of this
    kind in the last hour, saying in how many minutes the oldest of them stops counting."""
    now = now or timezone.now()
    since = now - WINDOW
    for key in _keys(keys):
        times = list(
            Attempt.objects.filter(kind=kind, key=key, at__gt=since)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(times) >= limit:
            wait = times[-1] + WINDOW - now
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            raise ApplicationError(
                ngettext(
                    "Too many attempts: try again in %(minutes)s minute.",
                    "Too many attempts: try again in %(minutes)s minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="rate_limited",
            )


def attempt_record(*, kind: str, keys: Iterable[str | None]) -> None:
    """Count one attempt for each key (kept whatever happens next: its own transaction)."""
    with transaction.atomic():
        Attempt.objects.bulk_create(Attempt(kind=kind, key=key) for key in _keys(keys))
