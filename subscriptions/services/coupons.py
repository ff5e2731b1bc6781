"""Coupons (one purchase) and vouchers (lasting), redeemed atomically."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Case, F, Value, When
from django.utils.translation import gettext as _

from catalog.models import (
    BundleItem,
    CouponCampaign,
    CouponCode,
    Discount,
)
from core.errors import ConflictError
from core.money import money_text
from core.pricing import ZERO, round_money
from subscriptions import charges as charge_engine
from subscriptions.charges import PriceBook, context_of
from subscriptions.models import (
    CouponRedemption,
    Subscription,
    SubscriptionDiscount,
    SubscriptionEvent,
)
from subscriptions.services._base import (
    ChangeResult,
    charges_from,
    check_changeable,
    next_period_start,
    previewable,
    record,
    refuse,
)
from subscriptions.services.creation import discount_row
from subscriptions.services.renewals import lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def _discounted_period_start(subscription: Subscription, today: date) -> date:
    """The period whose invoice a code discounts: the next one; but on the first day of
    billing, while that first period is not invoiced yet, the first (a code redeemed with the
    purchase discounts that purchase, billing-rules §7: the storefront's sign-up)."""
    anchor = subscription.anchor_date
    if anchor is not None and anchor == today and subscription.next_billing_date == anchor:
        return anchor
    return next_period_start(subscription, today)


@previewable
def coupon_redeem(
    *,
    subscription: Subscription,
    code: str,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Redeem a code atomically: of two simultaneous redemptions of its last use, one wins.

    A coupon discounts the next invoice (one purchase); a voucher lasts its discounts' duration.
    """
    subscription = lock_on(subscription, today)
    check_changeable(subscription)
    typed = (code or "").strip()
    if not typed:
        refuse(_("Enter a code."), "code")
    # billing-rules §7: codes match whatever their case (generation keeps them unique whatever the
    # case: catalog.services.codes_taken).
    coupon = (
        CouponCode.objects.select_related("campaign__bundle").filter(code__iexact=typed).first()
    )
    if coupon is None:
        refuse(
            _("The code %(code)s does not exist: check it and try again.") % {"code": typed}, "code"
        )
    campaign = coupon.campaign
    if coupon.status == CouponCode.Status.DISABLED:
        refuse(_("The code %(code)s has been disabled.") % {"code": typed}, "code")
    if (
        coupon.status == CouponCode.Status.EXPIRED
        or campaign.status == CouponCampaign.Status.EXPIRED
        or (campaign.valid_until and today > campaign.valid_until)
    ):
        refuse(_("The code %(code)s has expired.") % {"code": typed}, "code")
    if campaign.valid_from and today < campaign.valid_from:
        refuse(
            _("The code %(code)s can be used from %(date)s.")
            % {"code": typed, "date": campaign.valid_from.isoformat()},
            "code",
        )
    if coupon.status == CouponCode.Status.EXHAUSTED:
        refuse(_("The code %(code)s has been fully used.") % {"code": typed}, "code")
    plans = list(campaign.plans.all())
    if plans and subscription.plan_id not in {p.pk for p in plans}:
        refuse(
            _("The code %(code)s is not valid for %(plan)s.")
            % {"code": typed, "plan": subscription.plan.display_name},
            "code",
        )
    if CouponRedemption.objects.filter(code=coupon, subscription=subscription).exists():
        refuse(
            _("The code %(code)s was already redeemed on this subscription.") % {"code": typed},
            "code",
        )
    discounts = [
        item.discount
        for item in campaign.bundle.items.select_related("discount")
        # A discount item names its discount (check constraint bundleitem_product_xor_discount).
        if item.kind == BundleItem.Kind.DISCOUNT and item.discount is not None
    ]
    book = PriceBook()
    context = context_of(subscription, book)
    # The products the discounts could apply to: those of the period the code would discount
    # (before the start, the state of the first period, not the empty state of today).
    start = _discounted_period_start(subscription, today)
    state = context.fold.state_for_period(start)
    products = (
        {
            line.product.pk
            for line in charge_engine.state_lines(
                book, state, subscription.plan.billing_period, start
            )
        }
        if state.plan_id
        else set()
    )
    usable = [
        d
        for d in discounts
        if d.target != Discount.Target.PRODUCT or d.target_product_id in products
    ]
    if not usable:
        targets = ", ".join(
            d.target_product.display_name for d in discounts if d.target_product is not None
        )
        refuse(
            _(
                "The code %(code)s gives a discount on %(targets)s, which this subscription does not have."
            )
            % {"code": typed, "targets": targets},
            "code",
        )
    # The atomic step: the conditional update succeeds for exactly one of two racing requests.
    taken = CouponCode.objects.filter(
        pk=coupon.pk, status=CouponCode.Status.ACTIVE, times_redeemed__lt=F("max_redemptions")
    ).update(
        times_redeemed=F("times_redeemed") + 1,
        status=Case(
            When(
                times_redeemed__gte=F("max_redemptions") - 1,
                then=Value(CouponCode.Status.EXHAUSTED),
            ),
            default=Value(CouponCode.Status.ACTIVE),
        ),
    )
    if not taken:
        raise ConflictError(
            _("The code %(code)s has just been used up.") % {"code": typed}, field="code"
        )
    is_voucher = campaign.kind == CouponCampaign.Kind.VOUCHER
    start = _discounted_period_start(subscription, today)
    before = charges_from(context, start)
    event = record(
        subscription,
        Kind.VOUCHER_REDEEMED if is_voucher else Kind.COUPON_REDEEMED,
        today,
        {
            "code": coupon.code,
            "campaign": campaign.pk,
            "discounts": [d.pk for d in usable],
            "from": start.isoformat(),
        },
        actor=actor,
        channel=channel,
    )
    source = (
        SubscriptionDiscount.Source.VOUCHER if is_voucher else SubscriptionDiscount.Source.COUPON
    )
    for discount in usable:
        # billing-rules §7: a coupon discounts one purchase, the recurring invoice of `start`, and
        # not the changes made during its period; a voucher lasts its discount's duration. A code
        # valid only for some plans belongs to the plan it is redeemed on: it ends with it.
        discount_row(
            subscription,
            discount,
            source,
            start,
            event,
            coupon_code=coupon,
            periods_override=None if is_voucher else 1,
            recurring_only=not is_voucher,
            plan_bound=bool(plans),
        )
    CouponRedemption.objects.create(
        code=coupon, subscription=subscription, redeemed_on=today, event=event
    )
    next_charges = charges_from(context_of(subscription, book), start)
    saved = sum((c.net for c in before), ZERO) - sum((c.net for c in next_charges), ZERO)
    message = _("Code %(code)s redeemed: %(discount)s off the invoice of %(date)s.") % {
        "code": coupon.code,
        "discount": money_text(saved, subscription.currency),
        "date": start.isoformat(),
    }
    return ChangeResult(
        subscription,
        event,
        start,
        [],
        next_charges,
        message,
        rule=", ".join(d.display_name for d in usable),
        saved=round_money(saved, subscription.currency),
    )
