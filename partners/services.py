"""Selling through partners: the partner discount applies to what a partner's customer buys."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from billing.services import subscription_invoice_now
from catalog.core.errors import ApplicationError
from partners.models import Partner, PartnerCustomer
from subscriptions import services as subscription_services
from subscriptions.models import Customer
from subscriptions.services import ChangeResult


def partner_customer_create(*, partner: Partner, **fields: Any) -> Customer:
    """A new customer managed by the partner."""
    if not partner.is_active:
        raise ApplicationError(
            _("The partner %(partner)s is not active.") % {"partner": partner.name}
        )
    with transaction.atomic():
        customer = subscription_services.customer_create(**fields)
        PartnerCustomer.objects.create(partner=partner, customer=customer)
        return customer


def subscription_sell(
    *, customer: Customer, dry_run: bool = False, invoice_now: bool = True, **kwargs: Any
) -> ChangeResult:
    """Start a subscription for a customer, with its partner's discount when it has a partner
    (applied last, RULES §3). Every door — portal, self-service, API — sells through here.

    A start in the past is invoiced in the same transaction (the periods begun since then,
    each on its own invoice), so the confirmation can link to the invoices: `result.invoices`.
    `invoice_now=False` leaves them to the billing task queued on commit (the demo, which
    bills its history day by day)."""
    link = PartnerCustomer.objects.select_related("partner").filter(customer=customer).first()
    if link is not None and link.partner.discount_percent:
        kwargs.setdefault("partner_discount_percent", link.partner.discount_percent)
        name = link.partner.name
        kwargs.setdefault(
            # Written in each language the invoices may be in (subscriptions.services.labels).
            "partner_discount_label",
            lambda: _("Partner discount (%(partner)s)") % {"partner": name},
        )
    if dry_run or not invoice_now:
        return subscription_services.subscription_create(
            customer=customer, dry_run=dry_run, **kwargs
        )
    with transaction.atomic():
        result = subscription_services.subscription_create(customer=customer, **kwargs)
        if result.charges:  # the catch-up of a past start
            result.invoices = subscription_invoice_now(
                subscription=result.subscription, day=kwargs["today"]
            )
        return result
