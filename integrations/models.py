"""The REST API's infrastructure: idempotency keys and outgoing webhooks.

- `IdempotencyKey`: the first answer to a POST sent with an `Idempotency-Key` header, kept 24 h,
  so that a client retrying after a timeout replays it instead of charging twice.
- `WebhookEndpoint`: where operators want to be told about changes (registered in the admin).
- `WebhookDelivery` and `WebhookAttempt`: one event for one endpoint, and every try to send it.
- `OutboxCursor`: how far the dispatcher has read each outbox (the subscriptions' timeline and
  the invoice events), so that no event is lost or sent twice.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class IdempotencyKey(models.Model):
    """The answer given to one request sent with an Idempotency-Key header.

    The row is inserted at the start of the request and updated with the answer in the same
    transaction as the change it makes: a concurrent twin request waits on the unique index,
    then replays the answer; a failed request leaves no row, so the client may retry the key.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    fingerprint = models.CharField(
        _("request fingerprint"),
        max_length=64,
        help_text=_("SHA-256 of the method, the path and the body of the request."),
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.JSONField(_("response body"), null=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"


class WebhookEventType(models.TextChoices):
    SUBSCRIPTION_CREATED = "subscription.created", _("subscription created")
    SUBSCRIPTION_CHANGED = "subscription.changed", _("subscription changed")
    SUBSCRIPTION_RENEWED = "subscription.renewed", _("subscription renewed")
    SUBSCRIPTION_CANCELLED = "subscription.cancelled", _("subscription cancelled")
    INVOICE_ISSUED = "invoice.issued", _("invoice issued")
    INVOICE_PAID = "invoice.paid", _("invoice paid")
    INVOICE_OVERDUE = "invoice.overdue", _("invoice overdue")
    INVOICE_CANCELLED = "invoice.cancelled", _("invoice cancelled by credit note")
    INVOICE_REFUNDED = "invoice.refunded", _("invoice refunded")
    INVOICE_WRITTEN_OFF = "invoice.uncollectible", _("invoice written off")
    PAYMENT_SUCCEEDED = "payment.succeeded", _("payment succeeded")
    PAYMENT_FAILED = "payment.failed", _("payment failed")
    SUBSCRIPTION_SUSPENDED = "subscription.suspended", _("subscription suspended")
    SUBSCRIPTION_REACTIVATED = "subscription.reactivated", _("subscription reactivated")
    USAGE_LIMIT_EXCEEDED = "usage.limit_exceeded", _("usage limit exceeded (soft limit)")
    CUSTOMER_CREATED = "customer.created", _("customer created")


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribes to, each POST signed with its secret."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(
        _("URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Receives a signed POST for each event (https)."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        default=generate_secret,
        help_text=_(
            "The receiver checks X-Cadence-Signature: sha256=<HMAC-SHA256 of the body with this "
            "secret>."
        ),
    )
    event_types = models.JSONField(
        _("event types"),
        default=list,
        blank=True,
        help_text=_("Empty: every event type."),
    )
    partner = models.ForeignKey(
        "partners.Partner",
        verbose_name=_("only for the customers of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text=_("Empty: the events of every customer."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body signed and sent, and where its sending is."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery status", "pending")
        SUCCEEDED = "succeeded", pgettext_lazy("delivery status", "delivered")
        FAILED = "failed", pgettext_lazy("delivery status", "failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.CharField(
        _("event id"), max_length=40, help_text=_("Stable across retries: receivers dedupe on it.")
    )
    event_type = models.CharField(_("event type"), max_length=40, choices=WebhookEventType.choices)
    body = models.TextField(_("body"), help_text=_("The JSON sent, byte for byte, and signed."))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Set while a worker sends it, so that a second worker given the same attempt stays away.
    locked_until = models.DateTimeField(_("being sent until"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # One delivery per event and endpoint: the dispatcher may run twice.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint.name}"


class WebhookAttempt(models.Model):
    """One try to send a delivery: its answer or its error (the delivery log)."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response (start)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.response_code or self.error[:40]}"


class OutboxCursor(models.Model):
    """How far the webhook dispatcher has read one outbox table.

    Every row with an id up to `position` has been dispatched, except the ids in `gaps`: ids
    skipped when they were read, because a transaction that had taken them was still open (it
    may commit later) or rolled back (a preview: they never appear). A gap is read again on each
    run until its row appears or it is older than WEBHOOK_OUTBOX_GRACE_SECONDS.
    """

    source = models.CharField(_("outbox"), max_length=40, unique=True)
    position = models.BigIntegerField(_("last id read"), default=0)
    gaps = models.JSONField(_("ids still awaited"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("outbox cursor")
        verbose_name_plural = _("outbox cursors")

    def __str__(self) -> str:
        return f"{self.source}: {self.position}"
