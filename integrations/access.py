"""Who is calling the API, and which rows it may see.

Three roles, resolved from the token's user:

- operator: a staff user: every row;
- partner: a user of an active partner (`user.partner_membership`): its customers' rows only;
- customer: a self-service user (`user.customer_membership`): its own rows only.

Every API viewset takes its rows from `Tenant` below, so another tenant's row is simply not
there: the API answers 404, never 403, and gives nothing away.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from billing.models import Invoice
from partners.models import Partner
from partners.selectors import partner_for_user, partner_invoice_filter
from subscriptions.models import Customer, Subscription, SubscriptionContract
from subscriptions.selectors import customer_for_user


class Role(StrEnum):
    OPERATOR = "operator"
    PARTNER = "partner"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Tenant:
    role: Role
    partner: Partner | None = None
    customer: Customer | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    def customers(self, queryset: QuerySet[Customer] | None = None) -> QuerySet[Customer]:
        queryset = Customer.objects.all() if queryset is None else queryset
        if self.role == Role.PARTNER:
            return queryset.filter(partner_link__partner=self.partner)
        if self.role == Role.CUSTOMER:
            return queryset.filter(pk=self.customer.pk)
        return queryset

    def subscriptions(
        self, queryset: QuerySet[Subscription] | None = None
    ) -> QuerySet[Subscription]:
        queryset = Subscription.objects.all() if queryset is None else queryset
        if self.role == Role.PARTNER:
            return queryset.filter(customer__partner_link__partner=self.partner)
        if self.role == Role.CUSTOMER:
            return queryset.filter(customer=self.customer)
        return queryset

    def subscription_contracts(self) -> QuerySet[SubscriptionContract]:
        queryset = SubscriptionContract.objects.all()
        if self.role == Role.PARTNER:
            return queryset.filter(subscription__customer__partner_link__partner=self.partner)
        if self.role == Role.CUSTOMER:
            return queryset.filter(subscription__customer=self.customer)
        return queryset

    def invoices(self, queryset: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
        """Operators see drafts too; partners and customers only issued documents, as in the
        portals."""
        queryset = Invoice.objects.all() if queryset is None else queryset
        if self.role == Role.OPERATOR:
            return queryset
        queryset = queryset.exclude(status=Invoice.Status.DRAFT)
        if self.role == Role.PARTNER:
            return queryset.filter(partner_invoice_filter(self.partner))
        return queryset.filter(customer=self.customer)

    def partners(self) -> QuerySet[Partner]:
        queryset = Partner.objects.all()
        if self.role == Role.PARTNER:
            return queryset.filter(pk=self.partner.pk)
        if self.role == Role.CUSTOMER:
            return queryset.filter(customer_links__customer=self.customer)
        return queryset


def tenant_of(user) -> Tenant | None:
    """The caller's role and rows; None for a user with no role (the API refuses it)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_staff:
        return Tenant(Role.OPERATOR)
    partner = partner_for_user(user)
    if partner is not None:
        return Tenant(Role.PARTNER, partner=partner)
    customer = customer_for_user(user)
    if customer is not None:
        return Tenant(Role.CUSTOMER, customer=customer)
    return None


def request_tenant(request) -> Tenant | None:
    """The tenant of a request, resolved once per request."""
    if not hasattr(request, "_cadence_tenant"):
        request._cadence_tenant = tenant_of(request.user)
    return request._cadence_tenant


class HasTenant(BasePermission):
    """Authenticated, and an operator, a partner user or a customer user."""

    message = _(
        "This account has no access to the API: it is not an operator, a partner user or a "
        "customer user."
    )

    def has_permission(self, request, view) -> bool:
        return request_tenant(request) is not None
