"""Starting a subscription: any start date, trials, commitments, discounts agreed at purchase."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import (
    Bundle,
    BundleItem,
    CouponCode,
    Discount,
    Plan,
    SeatType,
    ServicePeriodOption,
    Term,
)
from catalog.selectors import plan_options
from core.periods import Unit, boundary, period_at, shift
from core.pricing import ZERO
from subscriptions import charges as charge_engine
from subscriptions.charges import PriceBook, context_of
from subscriptions.models import (
    Customer,
    Subscription,
    SubscriptionDiscount,
    SubscriptionEvent,
    SubscriptionItem,
    SubscriptionSeat,
)
from subscriptions.selectors import seat_types_of
from subscriptions.services._base import (
    ChangeResult,
    as_if_fulfilled,
    billing_due,
    check_po,
    labels,
    previewable,
    record,
    refuse,
    whole_number,
)
from subscriptions.services.contracts import billing_start, contracts_attach, contracts_of_sale
from subscriptions.services.renewals import advance

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def commitment_for(
    *, plan: Plan, term: Term | None, anchor: date, service_years: int | None
) -> tuple[date, date] | None:
    """The later of the plan's minimum commitment, the term's commitment and the service period
    (docs/billing-rules.md), counted from the anchor."""
    ends = []
    if plan.minimum_commitment_occurrences:
        ends.append(boundary(anchor, plan.billing_period, plan.minimum_commitment_occurrences))
    if term is not None and term.commitment_count:
        if term.commitment_basis == Term.CommitmentBasis.BILLING_CYCLES:
            ends.append(boundary(anchor, plan.billing_period, term.commitment_count))
        else:
            commitment = term.commitment_period
            # The other basis is the calendar, with a count (tested above) and a unit (the
            # term's check constraint): a period.
            assert commitment is not None
            ends.append(boundary(anchor, commitment, 1))
    if service_years:
        ends.append(shift(anchor, service_years, Unit.YEAR))
    return (anchor, max(ends)) if ends else None


def seat_ids(seats: Mapping[Any, int] | None) -> dict[int, int]:
    result = {}
    for key, quantity in (seats or {}).items():
        seat_type_id = key.pk if isinstance(key, SeatType) else int(key)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            refuse(_("A number of seats is a whole number."), "seats")
        if quantity < 0:
            refuse(_("A number of seats cannot be negative."), "seats")
        result[seat_type_id] = quantity
    return result


def seats_held(customer: Customer, *, exclude: Subscription | None = None) -> dict[int, int]:
    """Seats of each type the customer holds on its live subscriptions, counting the
    reductions already scheduled (what it will hold after the renewal)."""
    held: dict[int, int] = {}
    rows = SubscriptionSeat.objects.filter(
        subscription__customer=customer, subscription__status__in=Subscription.LIVE_STATUSES
    )
    if exclude is not None:
        rows = rows.exclude(subscription=exclude)
    for seat_type_id, quantity, scheduled in rows.values_list(
        "seat_type_id", "quantity", "scheduled_quantity"
    ):
        held[seat_type_id] = held.get(seat_type_id, 0) + (
            quantity if scheduled is None else min(quantity, scheduled)
        )
    return held


def check_devices(
    customer: Customer, seats: dict[int, int], *, exclude: Subscription | None = None
) -> None:
    """billing-rules §5: seats of a type never fall below the devices deployed of that type. Devices
    belong to the customer: its seats on all its live subscriptions together must cover them."""
    held = seats_held(customer, exclude=exclude)
    for devices in customer.devices.select_related("seat_type"):
        if devices.seat_type_id not in seats:
            continue
        total = held.get(devices.seat_type_id, 0) + seats[devices.seat_type_id]
        if total < devices.count:
            refuse(
                _(
                    "%(customer)s has %(count)s %(type)s devices deployed and would hold %(total)s "
                    "%(type)s seats: seats cannot fall below the devices."
                )
                % {
                    "customer": customer.name,
                    "count": devices.count,
                    "type": devices.seat_type.display_name,
                    "total": total,
                },
                "seats",
            )


def check_start_date(plan: Plan, start: date, today: date) -> None:
    """docs/billing-rules.md, "Start dates": a subscription starts at most
    SUBSCRIPTION_START_MAX_PAST_MONTHS before the sale (its periods since then are invoiced at
    once) and SUBSCRIPTION_START_MAX_FUTURE_MONTHS after it, and never before its plan is sold.
    Checked first, before any date arithmetic on `start` (year 9999 plus a period overflows)."""
    past = settings.SUBSCRIPTION_START_MAX_PAST_MONTHS
    future = settings.SUBSCRIPTION_START_MAX_FUTURE_MONTHS
    earliest = shift(today, -past, Unit.MONTH)
    latest = shift(today, future, Unit.MONTH)
    if start < earliest:
        refuse(
            _(
                "A subscription can start at most %(months)s months before today: from "
                "%(earliest)s (every period since its start is invoiced at once)."
            )
            % {"months": past, "earliest": earliest.isoformat()},
            "start_date",
        )
    if start > latest:
        refuse(
            _("A subscription can start at most %(months)s months from today: until %(latest)s.")
            % {"months": future, "latest": latest.isoformat()},
            "start_date",
        )
    if plan.valid_from is not None and start < plan.valid_from:
        refuse(
            _(
                "The plan %(plan)s is sold from %(from)s: a subscription to it cannot start on "
                "%(start)s, before that."
            )
            % {
                "plan": plan.display_name,
                "from": plan.valid_from.isoformat(),
                "start": start.isoformat(),
            },
            "start_date",
        )


def check_sellable(plan: Plan, today: date, start: date | None = None) -> None:
    """docs/billing-rules.md, "Validity": a plan and its bundles are sold while valid on the
    sale date (`today`), and what is sold cannot start after the end of their validity."""
    if plan.status != Plan.Status.ACTIVE:
        refuse(
            _("The plan %(plan)s is not for sale (it is %(status)s).")
            % {"plan": plan.display_name, "status": plan.get_status_display()},
            "plan",
        )
    if not plan.is_valid_on(today):
        refuse(
            _("The plan %(plan)s is not sold on %(date)s.")
            % {"plan": plan.display_name, "date": today.isoformat()},
            "plan",
        )
    if start is not None and plan.valid_until is not None and start > plan.valid_until:
        refuse(
            _(
                "The plan %(plan)s is sold until %(until)s: a subscription to it cannot start on "
                "%(start)s, after that."
            )
            % {
                "plan": plan.display_name,
                "until": plan.valid_until.isoformat(),
                "start": start.isoformat(),
            },
            "start_date",
        )
    for bundle in plan.bundles.all():
        check_bundle_valid(bundle, today, start, "plan")


def check_bundle_valid(bundle: Bundle, today: date, start: date | None, field: str) -> None:
    """A bundle (of a plan, or an add-on) is sold while valid on the sale date, and not for a
    start after its last valid day."""
    if bundle.valid_until is not None and today > bundle.valid_until:
        refuse(
            _("%(bundle)s was sold until %(until)s: it can no longer be sold.")
            % {"bundle": bundle.display_name, "until": bundle.valid_until.isoformat()},
            field,
        )
    if bundle.valid_from is not None and today < bundle.valid_from:
        refuse(
            _("%(bundle)s is sold from %(from)s.")
            % {"bundle": bundle.display_name, "from": bundle.valid_from.isoformat()},
            field,
        )
    if start is not None and bundle.valid_until is not None and start > bundle.valid_until:
        refuse(
            _("%(bundle)s is sold until %(until)s: it cannot start on %(start)s, after that.")
            % {
                "bundle": bundle.display_name,
                "until": bundle.valid_until.isoformat(),
                "start": start.isoformat(),
            },
            field,
        )


def plan_discount_rows(
    subscription: Subscription,
    plan: Plan,
    book: PriceBook,
    first_period_start: date,
    event: SubscriptionEvent,
) -> None:
    """The discounts of the plan's bundles, agreed with the plan (its sale, or the plan change
    `event`): billing-rules §7, they belong to that plan and end at the next plan change."""
    for bundle in book.plan(plan.pk).bundles.all():
        for item in bundle.items.all():
            if item.kind != BundleItem.Kind.DISCOUNT:
                continue
            # A discount item names its discount (check constraint bundleitem_product_xor_discount).
            assert item.discount is not None
            if item.discount.is_active:
                discount_row(
                    subscription,
                    item.discount,
                    SubscriptionDiscount.Source.PLAN,
                    first_period_start,
                    event,
                    plan_bound=True,
                )


def discount_row(
    subscription: Subscription,
    discount: Discount,
    source: str,
    first_period_start: date,
    event: SubscriptionEvent,
    *,
    coupon_code: CouponCode | None = None,
    periods_override: int | None = None,
    recurring_only: bool = False,
    plan_bound: bool = False,
) -> SubscriptionDiscount:
    periods = {"once": 1, "periods": discount.duration_periods, "forever": None}[discount.duration]
    if periods_override is not None:
        periods = periods_override
    return SubscriptionDiscount.objects.create(
        subscription=subscription,
        source=source,
        label=discount.name,
        label_fr=discount.name_fr,  # empty: the English name, as the catalog shows it
        percentage=discount.percentage,
        currency=subscription.currency,
        amount=discount.amount.amount if discount.amount is not None else None,
        target_product=discount.target_product,
        target_bundle=discount.target_bundle,
        sequence=discount.sequence,
        first_period_start=first_period_start,
        periods=periods,
        recurring_only=recurring_only,
        plan_bound=plan_bound,
        coupon_code=coupon_code,
        event=event,
    )


@dataclass(frozen=True, slots=True)
class _Order:
    """What a sale asks for, checked against the plan and the customer: ids and quantities."""

    plan: Plan
    po_reference: str
    seats: dict[int, int]
    options: dict[int, int]
    addons: dict[int, int]
    years: int | None
    service_option: ServicePeriodOption | None


@previewable
def subscription_create(
    *,
    customer: Customer,
    plan: Plan,
    start_date: date,
    today: date,
    seats: Mapping[Any, int] | None = None,
    options: Mapping[int, int] | None = None,
    addons: Mapping[int, int] | None = None,
    po_reference: str = "",
    service_period_years: int | None = None,
    partner_discount_percent: Decimal | None = None,
    partner_discount_label: str | Callable[[], str] = "",
    bill_to: Customer | None = None,
    auto_renew: bool | None = None,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Start a subscription on any date: a future start is scheduled, a past start catches up
    its periods (billing invoices them), a trial delays the first charge and the commitment.

    `bill_to`: the account invoiced when it is not the customer (the partner that sells it,
    billing-rules §9); the subscription is then the partner's to change, the customer's to read.

    Four steps: check the order (nothing written before every refusal had its chance), open
    the subscription with its seats and items, attach the discounts and the product contracts
    agreed at sale (subscriptions/services/contracts.py), and quote
    what the buyer is told before confirming (the first charges, a catch-up of past periods)."""
    book = PriceBook()
    order = _checked_order(
        customer=customer,
        plan=book.plan(plan.pk),
        book=book,
        start_date=start_date,
        today=today,
        seats=seats,
        options=options,
        addons=addons,
        po_reference=po_reference,
        service_period_years=service_period_years,
        partner_discount_percent=partner_discount_percent,
    )
    # The offer's product contracts, checked against the plan before anything is written.
    sold = contracts_of_sale(plan=order.plan, addons=order.addons)
    subscription, created = _open(
        order=order,
        customer=customer,
        start_date=start_date,
        bill_to=bill_to,
        auto_renew=auto_renew,
        actor=actor,
        channel=channel,
    )
    _agreed_discounts(
        subscription=subscription,
        order=order,
        book=book,
        created=created,
        partner_discount_percent=partner_discount_percent,
        partner_discount_label=partner_discount_label,
    )
    contracts_attach(
        subscription=subscription,
        sold=sold,
        start_date=billing_start(subscription),
        today=today,
        actor=actor,
        channel=channel,
    )
    advance(subscription, today, book=book)
    return _quote(subscription=subscription, created=created, book=book, today=today)


def _checked_order(
    *,
    customer: Customer,
    plan: Plan,
    book: PriceBook,
    start_date: date,
    today: date,
    seats: Mapping[Any, int] | None,
    options: Mapping[int, int] | None,
    addons: Mapping[int, int] | None,
    po_reference: str,
    service_period_years: int | None,
    partner_discount_percent: Decimal | None,
) -> _Order:
    check_sellable(plan, today, start_date)
    check_start_date(plan, start_date, today)
    if customer.currency != plan.currency:
        refuse(
            _(
                "%(plan)s is sold in %(plan_currency)s and %(customer)s is invoiced in %(currency)s: choose a plan "
                "in %(currency)s."
            )
            % {
                "plan": plan.display_name,
                "plan_currency": plan.currency,
                "customer": customer.name,
                "currency": customer.currency,
            },
            "plan",
        )
    po_reference = check_po(po_reference=po_reference)
    seat_types = seat_types_of(plan=plan, book=book)
    seat_quantities = seat_ids(seats)
    for seat_type_id in seat_quantities:
        if seat_type_id not in seat_types:
            refuse(
                _("%(plan)s does not sell this seat type.") % {"plan": plan.display_name}, "seats"
            )
    seat_quantities = {k: v for k, v in seat_quantities.items() if v > 0}
    if seat_types and not seat_quantities:
        refuse(_("Choose at least one seat."), "seats")
    check_devices(customer, {t: seat_quantities.get(t, 0) for t in seat_types})
    option_quantities = _checked_options(plan, options)
    addon_quantities = {
        _id(k, "addons", _("An add-on is chosen by its id.")): whole_number(
            v, field="addons", message=_("A quantity is a whole number, 0 or more.")
        )
        for k, v in (addons or {}).items()
    }
    addon_quantities = {k: v for k, v in addon_quantities.items() if v > 0}
    for bundle_id in addon_quantities:
        check_addon(plan, book.bundle(bundle_id), customer.currency, today, start_date)
    years, service_option = _service_period(plan, service_period_years)
    if partner_discount_percent is not None and not ZERO <= Decimal(partner_discount_percent) < 100:
        refuse(
            _("A partner discount lies from 0 up to, but not including, 100 (percent)."),
            "partner_discount_percent",
        )
    return _Order(
        plan=plan,
        po_reference=po_reference,
        seats=seat_quantities,
        options=option_quantities,
        addons=addon_quantities,
        years=years,
        service_option=service_option,
    )


def _open(
    *,
    order: _Order,
    customer: Customer,
    start_date: date,
    bill_to: Customer | None,
    auto_renew: bool | None,
    actor: AbstractBaseUser | None,
    channel: str,
) -> tuple[Subscription, SubscriptionEvent]:
    """The subscription row, its first events, seats and items."""
    plan = order.plan
    term = plan.term
    trial = plan.trial_period
    pending = plan.manual_fulfilment
    anchor = None if pending else (start_date + trial.delta() if trial else start_date)
    commitment = (
        commitment_for(plan=plan, term=term, anchor=anchor, service_years=order.years)
        if anchor
        else None
    )
    subscription = Subscription.objects.create(
        customer=customer,
        bill_to=bill_to if bill_to is not None and bill_to.pk != customer.pk else None,
        plan=plan,
        term=term,
        status=Status.PENDING_FULFILMENT if pending else Status.ACTIVE,
        currency=plan.currency,
        start_date=start_date,
        anchor_date=anchor,
        trial_end=anchor if trial and anchor else None,
        commitment_start=commitment[0] if commitment else None,
        commitment_end=commitment[1] if commitment else None,
        auto_renew=auto_renew if auto_renew is not None else (term.auto_renew if term else True),
        po_reference=order.po_reference,
        service_period_years=order.years,
        next_billing_date=anchor,
    )
    created = record(
        subscription,
        Kind.CREATED,
        start_date,
        {
            "plan": plan.pk,
            "term": term.pk if term else None,
            "seats": {str(k): v for k, v in order.seats.items()},
            "options": {str(k): v for k, v in order.options.items()},
            "addons": {str(k): v for k, v in order.addons.items()},
            "commitment_start": commitment[0].isoformat() if commitment else None,
            "commitment_end": commitment[1].isoformat() if commitment else None,
            "service_years": order.years,
            "po_reference": order.po_reference,
            "pending_fulfilment": pending,
        },
        actor=actor,
        channel=channel,
    )
    if trial and anchor:
        record(subscription, Kind.TRIAL_ENDS, anchor, {}, actor=actor, channel=channel)
    SubscriptionSeat.objects.bulk_create(
        SubscriptionSeat(subscription=subscription, seat_type_id=k, quantity=v)
        for k, v in order.seats.items()
    )
    SubscriptionItem.objects.bulk_create(
        [
            SubscriptionItem(subscription=subscription, kind="option", product_id=k, quantity=v)
            for k, v in order.options.items()
        ]
        + [
            SubscriptionItem(subscription=subscription, kind="addon", bundle_id=k, quantity=v)
            for k, v in order.addons.items()
        ]
    )
    return subscription, created


def _agreed_discounts(
    *,
    subscription: Subscription,
    order: _Order,
    book: PriceBook,
    created: SubscriptionEvent,
    partner_discount_percent: Decimal | None,
    partner_discount_label: str | Callable[[], str],
) -> None:
    """The discounts agreed at sale: the plan's bundles', the service period's, the partner's."""
    plan, years, service_option = order.plan, order.years, order.service_option
    first = subscription.anchor_date or subscription.start_date
    plan_discount_rows(subscription, plan, book, first, created)
    if service_option is not None and service_option.discount_percent:
        assert years is not None  # a service option is a number of years
        SubscriptionDiscount.objects.create(
            subscription=subscription,
            source=SubscriptionDiscount.Source.SERVICE_PERIOD,
            **labels(
                lambda: (
                    ngettext(
                        "%(years)s-year service period", "%(years)s-year service period", years
                    )
                    % {"years": years}
                )
            ),
            percentage=service_option.discount_percent,
            currency=subscription.currency,
            sequence=SubscriptionDiscount.SERVICE_PERIOD_SEQUENCE,
            first_period_start=first,
            last_period_start=shift(first, years, Unit.YEAR),
            event=created,
        )
    if partner_discount_percent:
        SubscriptionDiscount.objects.create(
            subscription=subscription,
            source=SubscriptionDiscount.Source.PARTNER,
            **labels(partner_discount_label or (lambda: _("Partner discount"))),
            percentage=Decimal(partner_discount_percent),
            currency=subscription.currency,
            sequence=SubscriptionDiscount.PARTNER_SEQUENCE,
            first_period_start=first,
            event=created,
        )


def _quote(
    *, subscription: Subscription, created: SubscriptionEvent, book: PriceBook, today: date
) -> ChangeResult:
    """What the buyer is told before confirming: the first charges, when billing starts, and
    the past periods invoiced at once."""
    plan = subscription.plan
    trial = plan.trial_period
    anchor = subscription.anchor_date
    start_date = subscription.start_date
    pending = subscription.status == Status.PENDING_FULFILMENT
    context = context_of(subscription, book)
    first_charges = []
    if anchor is not None:
        first_period = period_at(anchor, plan.billing_period, 0)
        first_charges = charge_engine.period_charges(context, first_period)
    if pending:
        # Priced before confirming, as it will be billed once fulfilled (from the start, or
        # from the fulfilment if later: say today).
        billing_from = max(start_date, today)
        billing_from += trial.delta() if trial else relativedelta()
        once = as_if_fulfilled(context, anchor=billing_from)
        first_charges = charge_engine.period_charges(
            once, period_at(billing_from, plan.billing_period, 0)
        )
        message = _(
            "The subscription is recorded and waits for an operator to fulfil it; billing starts then."
        )
    else:
        assert anchor is not None  # not pending fulfilment: the sale set it (_open)
        if trial:
            message = _("Trial until %(date)s; the first invoice is issued on that day.") % {
                "date": anchor.isoformat()
            }
        else:
            message = _("Billing starts on %(date)s (billing period: %(period)s).") % {
                "date": anchor.isoformat(),
                "period": plan.billing_period,
            }
    # A start in the past: the periods begun since then are invoiced at once (the billing run
    # catches them up, one invoice each), so the buyer is told before confirming.
    catch_up = []
    if anchor is not None and not pending and anchor < today:
        catch_up = charge_engine.due_charges(context, up_to=today)
        # Said, so done: once the sale commits, billing issues them (nothing waits for the
        # nightly run). A start today is billed by the nightly run, like any period start.
        billing_due(subscription=subscription, day=anchor, today=today)
        periods = len({c.period for c in catch_up})
        message += " " + ngettext(
            "%(count)s billing period has begun since then: it is invoiced at once.",
            "%(count)s billing periods have begun since then: they are invoiced at once, "
            "each on its own invoice.",
            periods,
        ) % {"count": periods}
    return ChangeResult(
        subscription=subscription,
        event=created,
        effective_date=start_date,
        charges=catch_up,
        next_charges=first_charges,
        message=message,
    )


def _checked_options(plan: Plan, options: Mapping[int, int] | None) -> dict[int, int]:
    optional = {product.pk for product in plan_options(plan)}
    result = {}
    for product_id, quantity in (options or {}).items():
        product_id = _id(product_id, "options", _("An option is chosen by its product id."))
        if product_id not in optional:
            refuse(
                _("This product is not an option of %(plan)s.") % {"plan": plan.display_name},
                "options",
            )
        quantity = whole_number(
            quantity, field="options", message=_("A quantity is a whole number, 0 or more.")
        )
        if quantity:
            result[product_id] = quantity
    return result


def _id(value, field: str, message: str) -> int:
    """A row id, as an int or its text (JSON object keys are text); anything else is refused
    ("x" is not a server error)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return whole_number(value, field=field, message=message)


def check_addon(
    plan: Plan, bundle: Bundle, currency: str, today: date, start: date | None = None
) -> None:
    if plan.compatible_addons_only and bundle.pk not in {b.pk for b in plan.addon_bundles.all()}:
        names = ", ".join(b.display_name for b in plan.addon_bundles.all()) or _("none")
        refuse(
            _("%(bundle)s is not a compatible add-on of %(plan)s (compatible: %(names)s).")
            % {"bundle": bundle.display_name, "plan": plan.display_name, "names": names},
            "addons",
        )
    check_bundle_valid(bundle, today, start, "addons")
    for item in bundle.items.all():
        if item.price_sheet is not None and item.price_sheet.currency != currency:
            refuse(
                _("%(bundle)s is priced in %(other)s, the subscription in %(currency)s.")
                % {
                    "bundle": bundle.display_name,
                    "other": item.price_sheet.currency,
                    "currency": currency,
                },
                "addons",
            )


def _service_period(plan: Plan, years: int | None) -> tuple[int | None, ServicePeriodOption | None]:
    options = {option.years: option for option in plan.service_periods.all()}
    if not options:
        if years:
            refuse(
                _("%(plan)s has no service periods to choose from.") % {"plan": plan.display_name},
                "service_period_years",
            )
        return None, None
    if years is None:
        years = min(options)
    if years not in options:
        refuse(
            ngettext(
                "%(plan)s is not sold for %(years)s year; choose %(choices)s.",
                "%(plan)s is not sold for %(years)s years; choose %(choices)s.",
                years,
            )
            % {
                "plan": plan.display_name,
                "years": years,
                "choices": ", ".join(str(y) for y in sorted(options)),
            },
            "service_period_years",
        )
    return years, options[years]
