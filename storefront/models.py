"""What the storefront keeps between a visitor's steps.

- `SignUp`: an order confirmed on the hosted checkout whose email is not verified yet. Nothing
  else exists until the signed link is opened: then the account, the customer, its payment
  method and the subscription are created in one transaction (storefront.services). Unverified
  sign-ups are purged after STOREFRONT_SIGNUP_TTL_HOURS, which leaves nothing behind.
- `Attempt`: one sign-up or coupon try, by email address and by IP address: the rate limits
  count these rows (a table, not the cache, so that every web process sees the same counts).
- `HostedPageLink`: a temporary signed link an integrator asks for, sending an existing
  customer to one hosted page (plan change, payment methods) without a login.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import OffersGrid, Plan
from subscriptions.models import Customer, Subscription


class SignUp(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("sign-up status", "awaiting email verification")
        VERIFIED = "verified", pgettext_lazy("sign-up status", "verified")

    email = models.EmailField(_("email"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    grid = models.ForeignKey(
        OffersGrid, verbose_name=_("offers grid"), on_delete=models.PROTECT, related_name="+"
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+"
    )
    # The order as confirmed (options, add-ons, coupon code, billing details, language, payment
    # method: a gateway token or an IBAN, never a card number) and the password's hash.
    order = models.JSONField(_("order"), default=dict)
    password = models.CharField(_("password"), max_length=128)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "status"], name="signup_email_status")]

    def __str__(self) -> str:
        return f"{self.email} — {self.plan_id}"


class Attempt(models.Model):
    """One try that a rate limit counts."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        COUPON = "coupon", _("coupon code")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.CharField(_("email or IP address"), max_length=254)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        indexes = [models.Index(fields=["kind", "key", "at"], name="attempt_kind_key_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class HostedPageLink(models.Model):
    class Page(models.TextChoices):
        CHANGE_PLAN = "change_plan", _("change of plan")
        PAYMENT_METHODS = "payment_methods", _("payment methods")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    page = models.CharField(_("page"), max_length=20, choices=Page.choices)
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hosted page link")
        verbose_name_plural = _("hosted page links")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(page="change_plan") | Q(subscription__isnull=False),
                name="hostedpagelink_plan_change_names_subscription",
                violation_error_message=_("A plan change link names its subscription."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.page}"
