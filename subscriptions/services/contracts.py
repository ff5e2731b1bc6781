"""Product contracts on a subscription (billing-rules §8): issues scheduled, credits granted,
consumed, expired."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from catalog.models import (
    ProductContract,
)
from core.contracts import issue_schedule
from core.periods import Interval, Period, Unit, period_at, period_index, shift
from core.pricing import ZERO
from subscriptions.models import (
    CreditEntry,
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
    SubscriptionEvent,
)
from subscriptions.services._base import check_changeable, record, refuse
from subscriptions.services.renewals import lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


def subscription_contract_add(
    *,
    subscription: Subscription,
    contract: ProductContract,
    start_date: date,
    today: date,
    quantity: int = 1,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> SubscriptionContract:
    with transaction.atomic():
        subscription = lock_on(subscription, today)
        check_changeable(subscription)
        end_date = None
        if (
            contract.kind == ProductContract.Kind.TIME
            and contract.runtime == ProductContract.Runtime.FIXED
        ):
            # A fixed runtime has its length (check constraint contract_fixed_runtime).
            assert contract.runtime_count is not None
            end_date = shift(start_date, contract.runtime_count, Unit(contract.runtime_unit))
        held = SubscriptionContract.objects.create(
            subscription=subscription,
            contract=contract,
            start_date=start_date,
            end_date=end_date,
            quantity=quantity,
        )
        record(
            subscription,
            Kind.CONTRACT_ADDED,
            start_date,
            {"contract": contract.pk, "subscription_contract": held.pk},
            actor=actor,
            channel=channel,
        )
        if contract.kind == ProductContract.Kind.CREDIT:
            credits_grant(subscription_contract=held, day=start_date)
        if contract.kind == ProductContract.Kind.ISSUE:
            issues_schedule(subscription_contract=held, day=start_date)
        return held


def _contract_period(held: SubscriptionContract, period: Period, day: date) -> Interval:
    return period_at(held.start_date, period, period_index(held.start_date, period, day))


def issues_schedule(
    *, subscription_contract: SubscriptionContract, day: date
) -> list[ScheduledIssue]:
    """Schedule the issues of the billing period containing `day`, the free ones last. Safe to
    run twice (one row per issue number and period)."""
    contract = subscription_contract.contract
    if contract.kind != ProductContract.Kind.ISSUE:
        refuse(_("Only issue-based contracts have issues."))
    # An issue-based contract has its billing period and its issue counts (check constraint
    # contract_issue_fields).
    interval = contract.interval
    assert interval is not None
    assert contract.issues_per_period is not None and contract.chargeable_issues is not None
    period = _contract_period(subscription_contract, interval, day)
    if subscription_contract.end_date and period.start >= subscription_contract.end_date:
        return []
    if not contract.repeat_until_cancelled and period.start > subscription_contract.start_date:
        return []  # a single run of issues
    rows = [
        ScheduledIssue(
            subscription_contract=subscription_contract,
            period_start=period.start,
            period_end=period.end,
            number=issue.number,
            issue_date=issue.day,
            chargeable=issue.chargeable,
        )
        for issue in issue_schedule(
            period, issues=contract.issues_per_period, chargeable=contract.chargeable_issues
        )
    ]
    ScheduledIssue.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        ScheduledIssue.objects.filter(
            subscription_contract=subscription_contract, period_start=period.start
        )
    )


def credit_balance(*, subscription_contract: SubscriptionContract) -> Decimal:
    return subscription_contract.credits.aggregate(total=Sum("amount"))["total"] or ZERO


def credits_grant(*, subscription_contract: SubscriptionContract, day: date) -> CreditEntry | None:
    """Grant the credits of the accounting period containing `day` (once: safe to run twice)."""
    contract = subscription_contract.contract
    if contract.kind != ProductContract.Kind.CREDIT:
        refuse(_("Only credit-based contracts have credits."))
    # A credit-based contract has its amount, and with intervals its accounting period (check
    # constraints contract_credit_amount and contract_credit_intervals).
    assert contract.credit_amount is not None
    if contract.credit_intervals:
        accounting = contract.accounting_period
        assert accounting is not None
        period = _contract_period(subscription_contract, accounting, day)
        start, end = period.start, period.end
    else:
        start, end = subscription_contract.start_date, None
    amount = contract.credit_amount * subscription_contract.quantity
    entry, created = CreditEntry.objects.get_or_create(
        subscription_contract=subscription_contract,
        kind=CreditEntry.Kind.GRANT,
        period_start=start,
        defaults={"amount": amount, "day": start, "period_end": end},
    )
    return entry if created else None


def credits_consume(
    *, subscription_contract: SubscriptionContract, amount: Decimal, day: date, reference: str = ""
) -> CreditEntry:
    """Use credits; beyond the balance the consumption is refused and changes nothing."""
    amount = Decimal(amount)
    if amount <= 0:
        refuse(_("A consumption is a positive number of credits."), "amount")
    with transaction.atomic():
        held = (
            SubscriptionContract.objects.select_for_update(of=("self",))
            .select_related("contract")
            .get(pk=subscription_contract.pk)
        )
        if held.contract.kind != ProductContract.Kind.CREDIT:
            refuse(_("Only credit-based contracts have credits."))
        # Ended by its status, or by its end date even before a job records the status.
        if held.status == SubscriptionContract.Status.ENDED or (
            held.end_date is not None and day >= held.end_date
        ):
            refuse(
                _("This contract ended on %(date)s: its credits can no longer be used.")
                % {"date": (held.end_date or day).isoformat()}
            )
        balance = credit_balance(subscription_contract=held)
        if amount > balance:
            refuse(
                _("Only %(balance)s credits are left; %(amount)s were asked for.")
                % {"balance": f"{balance:.2f}", "amount": f"{amount:.2f}"},
                "amount",
            )
        current_period = None
        if held.contract.credit_intervals:
            # Credits with intervals have their accounting period (contract_credit_intervals).
            accounting = held.contract.accounting_period
            assert accounting is not None
            current_period = _contract_period(held, accounting, day)
        return CreditEntry.objects.create(
            subscription_contract=held,
            kind=CreditEntry.Kind.CONSUMPTION,
            amount=-amount,
            day=day,
            period_start=current_period.start if current_period else None,
            period_end=current_period.end if current_period else None,
            reference=reference[:100],
        )


def credits_expire(*, subscription_contract: SubscriptionContract, day: date) -> CreditEntry | None:
    """At the end of an accounting period, the credits left expire (once per period)."""
    with transaction.atomic():
        held = (
            SubscriptionContract.objects.select_for_update(of=("self",))
            .select_related("contract")
            .get(pk=subscription_contract.pk)
        )
        contract = held.contract
        if contract.kind != ProductContract.Kind.CREDIT or not contract.credit_intervals:
            return None
        # Credits with intervals have their accounting period (contract_credit_intervals).
        accounting = contract.accounting_period
        assert accounting is not None
        current = _contract_period(held, accounting, day)
        if current.start <= held.start_date:
            return None  # the first period has not ended
        previous = period_at(
            held.start_date,
            accounting,
            period_index(held.start_date, accounting, current.start) - 1,
        )
        if CreditEntry.objects.filter(
            subscription_contract=held, kind=CreditEntry.Kind.EXPIRY, period_start=previous.start
        ).exists():
            return None
        left = (
            held.credits.filter(day__lt=previous.end).aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        if left <= 0:
            return None
        return CreditEntry.objects.create(
            subscription_contract=held,
            kind=CreditEntry.Kind.EXPIRY,
            amount=-left,
            day=previous.end,
            period_start=previous.start,
            period_end=previous.end,
        )


def subscription_contract_cancel(
    *, subscription_contract: SubscriptionContract, today: date
) -> SubscriptionContract:
    """Cancel a product contract (billing-rules §8): a time-based one at the end of its subscription
    interval, if asked at least the cancellation period before it (else at the end of the next);
    an issue-based one from the next issue, if asked at least the cancellation period before it
    (else from the one after); a credit-based one at the end of its accounting period."""
    with transaction.atomic():
        held = (
            SubscriptionContract.objects.select_for_update(of=("self",))
            .select_related("contract")
            .get(pk=subscription_contract.pk)
        )
        if held.status != SubscriptionContract.Status.ACTIVE:
            refuse(_("This contract is already cancelled or ended."))
        contract = held.contract
        notice = contract.cancellation_count
        unit = Unit(contract.cancellation_unit)
        if contract.kind == ProductContract.Kind.TIME:
            # A time-based contract has its interval (check constraint contract_time_fields).
            interval = contract.interval
            assert interval is not None
            period = _contract_period(held, interval, today)
            effective = period.end
            if notice and today > shift(effective, -notice, unit):
                effective = effective + interval.delta()
        elif contract.kind == ProductContract.Kind.ISSUE:
            issues_schedule(subscription_contract=held, day=today)
            # An issue-based contract has its billing period (contract_issue_fields).
            interval = contract.interval
            assert interval is not None
            current = _contract_period(held, interval, today)
            issues_schedule(subscription_contract=held, day=current.end)
            upcoming = list(
                ScheduledIssue.objects.filter(
                    subscription_contract=held, issue_date__gt=today, cancelled=False
                ).order_by("issue_date")[:2]
            )
            if not upcoming:
                refuse(_("There is no issue left to cancel."))
            effective = upcoming[0].issue_date
            if notice and today > shift(effective, -notice, unit):
                if len(upcoming) < 2:
                    refuse(_("It is too late to cancel before the last issue."))
                effective = upcoming[1].issue_date
            ScheduledIssue.objects.filter(
                subscription_contract=held, issue_date__gte=effective
            ).update(cancelled=True)
        elif contract.credit_intervals:
            # Credits with intervals have their accounting period (contract_credit_intervals).
            accounting = contract.accounting_period
            assert accounting is not None
            effective = _contract_period(held, accounting, today).end
        else:
            effective = today
        held.end_date = effective if held.end_date is None else min(held.end_date, effective)
        held.status = (
            SubscriptionContract.Status.ENDED
            if held.end_date <= today
            else SubscriptionContract.Status.PENDING_CANCELLATION
        )
        held.save(update_fields=["end_date", "status"])
        return held
