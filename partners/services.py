"""Selling through partners: the partner discount applies to what a partner's customer buys."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from billing.services import subscription_invoice_now
from core.errors import ApplicationError
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


def partner_billing_account(*, partner: Partner) -> Customer:
    """The account a partner's sales are invoiced to; a partner without one cannot sell."""
    account = partner.account  # None, without a query, when account_id is None
    if account is None:
        raise ApplicationError(
            _(
                "The partner %(partner)s has no billing account, so its sales cannot be invoiced: "
                "an operator sets one in the admin (Partners › %(partner)s › billing account)."
            )
            % {"partner": partner.name}
        )
    return account


def partner_account_create(*, partner: Partner, **fields: Any) -> Customer:
    """Give a partner its billing account (the customer record its invoices are addressed to)."""
    if partner.account_id is not None:
        raise ApplicationError(
            _("The partner %(partner)s already has a billing account.") % {"partner": partner.name}
        )
    with transaction.atomic():
        account = subscription_services.customer_create(**fields)
        partner.account = account
        partner.save(update_fields=["account"])
        return account


def subscription_sell(
    *, customer: Customer, dry_run: bool = False, invoice_now: bool = True, **kwargs: Any
) -> ChangeResult:
    """Start a subscription for a customer, with its partner's discount when it has a partner
    (applied last, billing-rules §3). Every door — portal, self-service, API — sells through here.

    A start in the past is invoiced in the same transaction (the periods begun since then,
    each on its own invoice), so the confirmation can link to the invoices: `result.invoices`.
    `invoice_now=False` leaves them to the billing task queued on commit (the demo, which
    bills its history day by day)."""
    link = (
        PartnerCustomer.objects.select_related("partner__account").filter(customer=customer).first()
    )
    if link is not None:
        # The partner buys for its customer (billing-rules §9): it is invoiced, at its price.
        kwargs["bill_to"] = partner_billing_account(partner=link.partner)
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
