"""Webhook and idempotency jobs (Celery; the beat schedule is in config/settings.py). Thin: ids
in, one service called, retried with exponential backoff."""

from __future__ import annotations

from celery import shared_task

from integrations import services


@shared_task(name="integrations.webhooks_dispatch")
def webhooks_dispatch() -> int:
    """Every minute: new subscription and invoice events become deliveries (sent at once)."""
    return services.webhooks_dispatch()


@shared_task(name="integrations.webhook_send", bind=True, acks_late=True, max_retries=None)
def webhook_send(self, delivery_id: int, attempt: int = 1) -> None:
    """Make one attempt; on a network error or a non-2xx answer, retry later with exponential
    backoff (30 s, 1 min, 2 min… up to WEBHOOK_MAX_ATTEMPTS). Every attempt is recorded."""
    delay = services.webhook_attempt(delivery_id=delivery_id, attempt=attempt)
    if delay is not None:
        raise self.retry(args=[delivery_id, attempt + 1], kwargs={}, countdown=delay)


@shared_task(name="integrations.usage_limit_exceeded")
def usage_limit_exceeded(
    subscription_id: int,
    feature: str,
    metric: str,
    limit: str,
    used: str,
    period_start: str,
    period_end: str,
) -> int:
    """A soft usage limit was passed: its `usage.limit_exceeded` deliveries (once per
    subscription, feature and billing period, whatever the number of calls)."""
    return services.usage_limit_exceeded_notify(
        subscription_id=subscription_id,
        feature=feature,
        metric=metric,
        limit=limit,
        used=used,
        period_start=period_start,
        period_end=period_end,
    )


@shared_task(name="integrations.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    """Hourly: forget the idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS."""
    return services.idempotency_keys_purge()
