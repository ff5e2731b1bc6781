"""Derived figures, rebuilt from the timeline and the invoices by idempotent jobs (never edited)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Plan
from partners.models import Partner
from subscriptions.models import Customer, Subscription


def _amount(verbose_name):
    # Plain decimals with the row's currency, not MoneyFields: these rows are only summed in SQL
    # and shown through the selectors, which pair each sum with its currency.
    return models.DecimalField(
        verbose_name,
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
    )


class MrrSegment(models.Model):
    """A subscription's MRR over [start, end): constant, above zero (reports/mrr.py)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # The partner that manages the customer (its MRR is the price the partner pays): the
    # customer's partner link, else the partner whose billing account is invoiced.
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(_("country"), max_length=2)
    currency = models.CharField(_("currency"), max_length=3)
    start = models.DateField(_("from"))
    end = models.DateField(_("to (excluded)"), null=True, blank=True)
    amount = _amount(_("MRR"))

    class Meta:
        verbose_name = _("MRR segment")
        verbose_name_plural = _("MRR segments")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "start"], name="mrr_segment_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="mrr_segment_positive"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gt=F("start")),
                name="mrr_segment_not_empty",
            ),
        ]
        indexes = [models.Index(fields=["start", "end"], name="mrr_segment_days")]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.amount} {self.currency} from {self.start}"


class MrrRefresh(models.Model):
    """When the segments were last rebuilt (one row): all of them once a day, and since then
    the subscriptions whose timeline changed."""

    full_on = models.DateField(_("last full rebuild on"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("MRR refresh")
        verbose_name_plural = _("MRR refreshes")

    def __str__(self) -> str:
        return f"MRR refreshed at {self.refreshed_at}"


class MrrMonth(models.Model):
    """A closed month's MRR movements per currency (the dashboard's history): rebuilt by the
    same job from the segments, so it is never more than a day behind them."""

    month = models.DateField(_("month"))
    currency = models.CharField(_("currency"), max_length=3)
    mrr_start = _amount(_("MRR at the start"))
    mrr_end = _amount(_("MRR at the end"))
    new = _amount(_("new"))
    expansion = _amount(_("expansion"))
    reactivation = _amount(_("reactivation"))
    contraction = _amount(_("contraction"))
    churn = _amount(_("churn"))
    customers_start = models.PositiveIntegerField(_("customers at the start"))
    customers_end = models.PositiveIntegerField(_("customers at the end"))
    # How many customers made each movement: {"new": 3, "churn": 1, …}
    movers = models.JSONField(_("customers per movement"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("MRR month")
        verbose_name_plural = _("MRR months")
        ordering = ["month", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["month", "currency"], name="mrr_month_once"),
            models.CheckConstraint(
                condition=Q(
                    mrr_end=F("mrr_start")
                    + F("new")
                    + F("expansion")
                    + F("reactivation")
                    - F("contraction")
                    - F("churn")
                ),
                name="mrr_month_balances",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.currency}"
