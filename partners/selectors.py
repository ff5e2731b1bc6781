"""Reads of the partner portal, tenant-scoped: a partner sees only its own customers, and
everything else answers 404 (the access helpers below are the only way in)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from billing.models import Invoice
from catalog.models import BundleItem, Plan, SeatType
from partners.models import Partner, PartnerUser
from subscriptions.models import Customer, DeployedDevices, Subscription
from subscriptions.selectors import SubscriptionOverview, seat_types_of, subscriptions_for_pages


def partner_for_user(user) -> Partner | None:
    """The partner a logged-in user works for (None for anyone else)."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "partner_membership", None)
    if membership is None or not membership.partner.is_active:
        return None
    return membership.partner


def partner_customers(partner: Partner, search: str = "") -> QuerySet[Customer]:
    """The partner's customers with their subscription counts, in a fixed number of queries."""
    customers = Customer.objects.filter(partner_link__partner=partner).annotate(
        subscription_count=Count(
            "subscriptions", filter=Q(subscriptions__status__in=Subscription.LIVE_STATUSES)
        )
    )
    if search:
        customers = customers.filter(
            Q(name__icontains=search) | Q(email__icontains=search) | Q(city__icontains=search)
        )
    return customers.order_by("name", "pk")


def get_customer_for_partner(partner: Partner, pk: int) -> Customer:
    customer = Customer.objects.filter(pk=pk, partner_link__partner=partner).first()
    if customer is None:
        raise Http404
    return customer


def get_subscription_for_partner(partner: Partner, pk: int) -> Subscription:
    subscription = (
        Subscription.objects.select_related("customer", "plan", "term", "pending_plan")
        .filter(pk=pk, customer__partner_link__partner=partner)
        .first()
    )
    if subscription is None:
        raise Http404
    return subscription


def partner_invoice_filter(partner: Partner) -> Q:
    """The documents a partner sees: those addressed to its billing account (what it bought for
    its customers, billing-rules §9), and those its customers received before partners were
    invoiced."""
    return Q(customer__partner_link__partner=partner) | (
        Q(customer_id=partner.account_id) if partner.account_id else Q(pk__in=[])
    )


def partner_invoices(partner: Partner) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(partner_invoice_filter(partner))
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-issue_date", "-id")
    )


def get_invoice_for_partner(partner: Partner, pk: int) -> Invoice:
    invoice = partner_invoices(partner).filter(pk=pk).first()
    if invoice is None:
        raise Http404
    return invoice


# The partner portal's pages ------------------------------------------------------------------------


def partner_of_user(user) -> Partner | None:
    """partner_for_user in one query (the membership and its partner together)."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = (
        PartnerUser.objects.select_related("partner")
        .filter(user=user, partner__is_active=True)
        .first()
    )
    return membership.partner if membership is not None else None


def customer_devices(customer: Customer) -> list[DeployedDevices]:
    return list(
        DeployedDevices.objects.filter(customer=customer)
        .select_related("seat_type")
        .order_by("seat_type__code")
    )


def partner_subscriptions_of(partner: Partner, customer: Customer) -> QuerySet[Subscription]:
    """The customer's subscriptions, for its partner's pages (joined as pricing needs them)."""
    return subscriptions_for_pages(customer).filter(customer__partner_link__partner=partner)


def live_subscriptions(subscriptions: Iterable[Subscription]) -> list[Subscription]:
    return [s for s in subscriptions if s.status in Subscription.LIVE_STATUSES]


def partner_sellable_plans(customer: Customer, today: date) -> list[Plan]:
    """The plans a partner can sell this customer: active and on sale today, in the customer's
    currency, selling seats (the portal sells seats by type), with their service periods."""
    seat_plans = BundleItem.objects.filter(
        kind=BundleItem.Kind.PRODUCT, product__seat_type__isnull=False
    ).values("bundle__plans")
    return list(
        Plan.objects.filter(
            status=Plan.Status.ACTIVE, currency=customer.currency, pk__in=seat_plans
        )
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("term")
        .prefetch_related("service_periods")
        .order_by("code")
    )


@dataclass(frozen=True)
class SeatCount:
    """Devices deployed and seats held (over the live subscriptions) of one seat type."""

    seat_type: SeatType
    devices: int
    seats: int

    @property
    def below_devices(self) -> bool:
        return self.seats < self.devices


def seat_counts(
    devices: Iterable[DeployedDevices], overviews: Iterable[SubscriptionOverview]
) -> list[SeatCount]:
    types: dict[int, SeatType] = {}
    deployed: dict[int, int] = {}
    held: dict[int, int] = {}
    for row in devices:
        types[row.seat_type_id] = row.seat_type
        deployed[row.seat_type_id] = row.count
    for overview in overviews:
        if overview.subscription.status not in Subscription.LIVE_STATUSES:
            continue
        for line in overview.seats:
            types[line.seat_type.pk] = line.seat_type
            held[line.seat_type.pk] = held.get(line.seat_type.pk, 0) + line.quantity
    return [
        SeatCount(seat_type, deployed.get(pk, 0), held.get(pk, 0))
        for pk, seat_type in sorted(types.items(), key=lambda item: item[1].code)
    ]


def plan_seat_types(plan: Plan) -> list[SeatType]:
    """The seat types a plan sells, in a fixed order."""
    return sorted(seat_types_of(plan=plan).values(), key=lambda seat_type: seat_type.code)


def seat_subscriptions(
    partner: Partner, customer: Customer
) -> tuple[list[Subscription], list[SeatType]]:
    """The customer's live subscriptions that sell seats, and the seat types they sell."""
    subscriptions, types = [], {}
    for subscription in live_subscriptions(partner_subscriptions_of(partner, customer)):
        sold = plan_seat_types(subscription.plan)
        if sold:
            subscriptions.append(subscription)
            types.update({seat_type.pk: seat_type for seat_type in sold})
    return subscriptions, sorted(types.values(), key=lambda seat_type: seat_type.code)
