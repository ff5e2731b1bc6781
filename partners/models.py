"""Partner organisations (resellers), their users, and the customers they manage.

The link to customers lives here, not on Customer: partners sit above subscriptions and billing
(DESIGN.md, dependency direction), so subscriptions never import partners.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from subscriptions.models import Customer


class Partner(models.Model):
    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("contact email"))
    discount_percent = models.DecimalField(
        _("partner discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Applied last on the subscriptions the partner sells."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The partner buys from us for its customers (billing-rules §9): its invoices are addressed to
    # this account (name, address, VAT number, billing email, language), like a direct customer's.
    account = models.OneToOneField(
        Customer,
        verbose_name=_("billing account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_account",
        help_text=_(
            "The organisation invoiced for what the partner sells: its name, address, VAT "
            "number and billing email are printed on the partner's invoices."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lt=100),
                name="partner_discount_range",
                violation_error_message=_(
                    "A partner discount lies from 0 up to, but not including, 100 (percent)."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class PartnerUser(models.Model):
    """A login of the partner portal: it sees only its partner's customers."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="users")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership"
    )

    class Meta:
        verbose_name = _("partner user")
        verbose_name_plural = _("partner users")

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner}"


class PartnerCustomer(models.Model):
    """A customer managed by a partner (a customer has at most one)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="customer_links")
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="partner_link")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner's customer")
        verbose_name_plural = _("partners' customers")
        indexes = [models.Index(fields=["partner", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer} ({self.partner})"
