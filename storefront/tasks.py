"""The storefront's jobs: thin tasks that call one service, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from storefront.services.signup import signups_purge as purge


@shared_task(name="storefront.signups_purge")
def signups_purge() -> dict:
    """Hourly: the sign-ups never verified within STOREFRONT_SIGNUP_TTL_HOURS, and the rate
    limits' attempts older than a day."""
    signups, attempts = purge()
    return {"signups": signups, "attempts": attempts}
