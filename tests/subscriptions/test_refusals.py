"""Every refusal says why in words a person can act on, and changes nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from catalog import services as catalog_services
from catalog.models import Bundle, CouponCampaign, CouponCode, Plan, SeatType
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import (
    CouponRedemption,
    CreditEntry,
    Customer,
    Subscription,
    SubscriptionDiscount,
    SubscriptionEvent,
    SubscriptionSeat,
)
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 21)


def snapshot():
    """Everything a refused change could have touched."""
    return {
        "subscriptions": [model_to_dict(s) for s in Subscription.objects.order_by("pk")],
        "events": list(SubscriptionEvent.objects.order_by("pk").values()),
        "seats": list(SubscriptionSeat.objects.order_by("pk").values()),
        "discounts": list(SubscriptionDiscount.objects.order_by("pk").values("pk", "label")),
        "codes": list(CouponCode.objects.order_by("pk").values("pk", "times_redeemed", "status")),
        "redemptions": CouponRedemption.objects.count(),
        "credits": list(CreditEntry.objects.order_by("pk").values()),
        "customers": Customer.objects.count(),
    }


def refused(call, message: str, field: str | None = None):
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        call()
    assert message in error.value.message, error.value.message
    if field is not None:
        assert error.value.field == field
    assert snapshot() == before, "a refusal changed something"
    return error.value


# Creation ---------------------------------------------------------------------------------------


def create(world, **overrides):
    fields = {
        "customer": world["customer"],
        "plan": Plan.objects.get(code="device-seats"),
        "start_date": TODAY,
        "today": TODAY,
        "seats": {world["gateway"]: 5},
        "service_period_years": 1,
    } | overrides
    return lambda: services.subscription_create(**fields)


def test_create_refuses_a_plan_that_is_not_for_sale(world):
    plan = Plan.objects.get(code="device-seats")
    Plan.objects.filter(pk=plan.pk).update(status="retired")
    refused(
        create(world, plan=Plan.objects.get(pk=plan.pk)), "is not for sale (it is retired)", "plan"
    )


def test_create_refuses_another_currency(world):
    refused(
        create(world, plan=Plan.objects.get(code="hosting-a"), seats={}), "is sold in CAD", "plan"
    )


def test_create_refuses_negative_seats(world):
    refused(create(world, seats={world["gateway"]: -1}), "cannot be negative", "seats")


def test_create_refuses_no_seat_at_all(world):
    refused(create(world, seats={}), "Choose at least one seat.", "seats")


def test_create_refuses_seats_below_the_devices_deployed(world):
    newcomer = CustomerFactory()
    services.devices_set(customer=newcomer, seat_type=world["gateway"], count=4)
    refused(
        create(world, customer=newcomer, seats={world["gateway"]: 3}),
        "has 4 Gateway devices deployed and would hold 3 Gateway seats: seats cannot fall below the devices",
        "seats",
    )


def test_devices_are_covered_by_all_the_customers_subscriptions_together(world):
    # The customer's first subscription holds 10 gateway seats for its 4 gateways: a second one,
    # for sensors only, needs no gateway seats.
    sensors = services.subscription_create(
        customer=world["customer"],
        plan=Plan.objects.get(code="device-seats"),
        start_date=TODAY,
        today=TODAY,
        seats={world["sensor"]: 2},
        service_period_years=1,
    ).subscription
    assert list(sensors.seats.values_list("seat_type__code", "quantity")) == [("sensor", 2)]
    # And the first may go down to 4 gateway seats, not lower: scheduled for its renewal.
    result = services.seats_reduce(
        subscription=world["devices"], seat_type=world["gateway"], quantity=4, today=TODAY
    )
    assert result.effective_date == date(2029, 1, 1)
    seat = world["devices"].seats.get(seat_type=world["gateway"])
    assert (seat.quantity, seat.scheduled_quantity) == (10, 4)
    assert result.event.kind == "seats_reduced"
    assert result.event.data == {"seat_type": world["gateway"].pk, "from": 10, "quantity": 4}


def test_create_refuses_a_seat_type_the_plan_does_not_sell(world):
    other = SeatType.objects.create(code="camera", name="Camera")
    refused(create(world, seats={other: 2}), "does not sell this seat type", "seats")


def test_create_refuses_a_po_reference_too_long(world):
    refused(
        create(world, po_reference="PO-" + "9" * 40),
        "at most 35 characters; this one has 43",
        "po_reference",
    )


def test_create_refuses_a_service_period_not_offered(world):
    refused(
        create(world, service_period_years=2),
        "not sold for 2 years; choose 1, 3, 5",
        "service_period_years",
    )


def test_create_refuses_an_incompatible_add_on(world):
    refused(
        create(
            world,
            plan=Plan.objects.get(code="hosting-a"),
            customer=world["cad"],
            seats={},
            addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
        ),
        "is not a compatible add-on",
        "addons",
    )


# Seats -------------------------------------------------------------------------------------------


def test_adding_zero_seats_is_refused(world):
    refused(
        lambda: services.seats_add(
            subscription=world["devices"], seat_type=world["gateway"], quantity=0, today=TODAY
        ),
        "Add at least one seat.",
        "quantity",
    )


def test_adding_seats_of_a_type_not_sold_is_refused(world):
    refused(
        lambda: services.seats_add(
            subscription=world["hosting"], seat_type=world["gateway"], quantity=1, today=TODAY
        ),
        "does not sell Gateway seats",
        "seat_type",
    )


def test_a_reduction_must_ask_for_fewer_seats(world):
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=10, today=TODAY
        ),
        "has 10 Gateway seats: a reduction must ask for fewer",
        "quantity",
    )


def test_a_reduction_below_the_devices_is_refused(world):
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=3, today=TODAY
        ),
        "has 4 Gateway devices deployed and would hold 3 Gateway seats",
        "quantity",
    )


def test_a_second_reduction_for_the_same_renewal_is_refused(world):
    services.seats_reduce(
        subscription=world["devices"], seat_type=world["gateway"], quantity=8, today=TODAY
    )
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=6, today=TODAY
        ),
        "A reduction to 8 seats is already scheduled for 2029-01-01",
    )


# Plan changes ------------------------------------------------------------------------------------


def test_changing_to_the_same_plan_is_refused(world):
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="hosting-a"), today=TODAY
        ),
        "is already on Hosting A",
        "plan",
    )


def test_changing_outside_the_upgrade_group_is_refused(world):
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="device-seats"), today=TODAY
        ),
        "can only move to the plans of its upgrade group (Hosting B)",
        "plan",
    )


def test_a_second_plan_change_while_one_is_pending_is_refused(world):
    b = Plan.objects.get(code="hosting-b")
    Plan.objects.filter(pk=b.pk).update(manual_fulfilment=True)
    services.subscription_change_plan(
        subscription=world["hosting"], plan=Plan.objects.get(pk=b.pk), today=TODAY
    )
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=b, today=TODAY
        ),
        "A change to Hosting B is already pending (2026-11-21)",
        "plan",
    )


def test_a_plan_change_while_a_downgrade_is_scheduled_is_refused(world):
    b = Plan.objects.get(code="hosting-b")
    services.subscription_change_plan(subscription=world["hosting"], plan=b, today=TODAY)
    a = Plan.objects.get(code="hosting-a")
    services.subscription_change_plan(
        subscription=world["hosting"], plan=a, today=TODAY
    )  # downgrade, scheduled
    Plan.objects.create(
        code="hosting-c",
        name="Hosting C",
        currency="CAD",
        upgrade_group=a.upgrade_group,
        upgrade_rank=3,
        status="active",
        payment_types=["card"],
    )
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="hosting-c"), today=TODAY
        ),
        "A change to Hosting A is already pending (2026-12-01)",
        "plan",
    )


# Cancellation ------------------------------------------------------------------------------------


def test_a_second_cancellation_is_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    refused(
        lambda: services.subscription_cancel(subscription=world["hosting"], today=TODAY),
        "A cancellation is already scheduled for 2026-12-01",
    )


def test_no_change_on_a_subscription_pending_cancellation(world):
    services.subscription_cancel(subscription=world["devices"], today=TODAY)
    refused(
        lambda: services.seats_add(
            subscription=world["devices"], seat_type=world["gateway"], quantity=1, today=TODAY
        ),
        "A cancellation takes effect on 2029-01-01: undo it before changing the subscription",
    )


def test_undoing_without_a_cancellation_is_refused(world):
    refused(
        lambda: services.subscription_undo_cancellation(subscription=world["hosting"], today=TODAY),
        "There is no cancellation to undo.",
    )


def test_undoing_a_cancellation_that_took_effect_is_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    services.subscription_advance(subscription=world["hosting"], today=date(2026, 12, 1))
    refused(
        lambda: services.subscription_undo_cancellation(
            subscription=world["hosting"], today=date(2026, 12, 2)
        ),
        "took effect on 2026-12-01: it can no longer be undone",
    )


def test_changes_after_the_end_are_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    services.subscription_advance(subscription=world["hosting"], today=date(2026, 12, 1))
    world["hosting"].refresh_from_db()
    assert world["hosting"].status == "cancelled"
    refused(
        lambda: services.subscription_cancel(
            subscription=world["hosting"], today=date(2026, 12, 2)
        ),
        "has already ended",
    )


# Coupons -----------------------------------------------------------------------------------------


def redeem(world, code, subscription="hosting"):
    return lambda: services.coupon_redeem(subscription=world[subscription], code=code, today=TODAY)


def test_an_unknown_code_is_refused(world):
    refused(redeem(world, "coupon_12"), "The code coupon_12 does not exist", "code")


def test_a_used_code_is_refused(world):
    services.addon_add(
        subscription=world["hosting"],
        bundle=Bundle.objects.get(code="service-plus-cad"),
        today=TODAY,
    )
    other = services.subscription_create(
        customer=world["cad"],
        plan=Plan.objects.get(code="hosting-b"),
        start_date=TODAY,
        today=TODAY,
        addons={Bundle.objects.get(code="service-plus-cad").pk: 1},
    ).subscription
    services.coupon_redeem(subscription=other, code="coupon_88", today=TODAY)
    refused(redeem(world, "coupon_88"), "has been fully used", "code")


def test_a_disabled_or_expired_code_is_refused(world):
    catalog_services.coupon_code_set_disabled(
        code=CouponCode.objects.get(code="coupon_89"), disabled=True
    )
    refused(redeem(world, "coupon_89"), "has been disabled", "code")
    CouponCampaign.objects.filter(code="coupon-87").update(valid_until=date(2026, 11, 20))
    refused(redeem(world, "coupon_90"), "has expired", "code")


def test_a_code_for_a_product_the_subscription_lacks_is_refused(world):
    refused(
        redeem(world, "coupon_91"),
        "gives a discount on Additional service, which this subscription does not have",
        "code",
    )


# PO reference, fulfilment, credits -----------------------------------------------------------------


def test_a_po_reference_too_long_is_refused_on_edit(world):
    refused(
        lambda: services.subscription_set_po_reference(
            subscription=world["devices"], po_reference="x" * 36, today=TODAY
        ),
        "at most 35 characters",
        "po_reference",
    )


def test_fulfilling_nothing_is_refused(world):
    refused(
        lambda: services.subscription_fulfil(subscription=world["hosting"], today=TODAY),
        "Nothing is waiting for fulfilment",
    )


def test_consuming_more_credits_than_left_is_refused(world):
    from catalog.models import ProductContract

    held = services.subscription_contract_add(
        subscription=world["devices"],
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=TODAY,
    )
    services.credits_consume(subscription_contract=held, amount=Decimal("15"), day=TODAY)
    refused(
        lambda: services.credits_consume(
            subscription_contract=held, amount=Decimal("6"), day=TODAY
        ),
        "Only 5.00 credits are left; 6.00 were asked for.",
        "amount",
    )
