"""Cancellation: the quote (effective date, penalty, the rule), the request and its undoing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import (
    Term,
)
from core.money import money_decimal
from core.periods import Period, Unit, boundary
from core.pricing import round_money, times
from subscriptions import charges as charge_engine
from subscriptions.charges import context_of
from subscriptions.models import (
    Subscription,
    SubscriptionEvent,
)
from subscriptions.services._base import (
    ChangeResult,
    billing_due,
    current_period,
    not_billed_yet,
    previewable,
    record,
    refuse,
    total_text,
)
from subscriptions.services.contracts import (
    contract_cancellation,
    contracts_end_with_subscription,
    contracts_resume,
    governing_contract,
)
from subscriptions.services.renewals import advance, as_of, before_renewal, lock_on, renewal_length

Kind = SubscriptionEvent.Kind
Status = Subscription.Status


@dataclass(frozen=True)
class CancellationQuote:
    requested_on: date
    effective_date: date
    penalty: Decimal | None
    currency: str
    policy: str
    rule: str
    immediate: bool = False
    commitment_end: date | None = None
    penalty_rule: str = ""  # the penalty's own formula, in the language of the request
    # Its figures, recorded with the cancellation: the invoice line writes the formula again in
    # the customer's language (charges.penalty_rule), whoever asked in whatever language.
    penalty_cap: Decimal | None = None
    penalty_days_left: int | None = None
    penalty_days_whole: int | None = None


def cancellation_quote(*, subscription: Subscription, today: date) -> CancellationQuote:
    """When a cancellation asked today would take effect, what it would cost, and why."""
    subscription = as_of(subscription, today)
    term = subscription.term
    policy = term.early_termination if term else Term.EarlyTermination.ALLOWED
    # A commitment without a term of its own (the plan's minimum commitment, a service period)
    # binds: the subscription ends no earlier than the commitment end
    # (billing-rules §4, example 4.1).
    bound_without_term = (
        term is None or not term.commitment_count
    ) and subscription.commitment_end is not None
    if bound_without_term:
        policy = Term.EarlyTermination.FORBIDDEN
    currency = subscription.currency
    if not_billed_yet(subscription, today):
        if subscription.status == Status.TRIAL:
            rule = _("During the trial a cancellation is free and immediate.")
        else:
            rule = _("The subscription has not started: the cancellation is free and immediate.")
        return CancellationQuote(today, today, None, currency, policy, rule, immediate=True)
    anchor = subscription.anchor_date
    assert anchor is not None  # not_billed_yet above: billing has started
    period_end = current_period(subscription, today).end
    commitment_end = subscription.commitment_end
    reasons = []
    effective = period_end
    # The plan's time- or issue-based product contract rules the date (billing-rules §5, last
    # bullet, and billing-rules §8): its interval and cancellation period replace the billing period and notice.
    governing = governing_contract(subscription)
    ruled = (
        contract_cancellation(subscription_contract=governing, today=today) if governing else None
    )
    if ruled is not None:
        effective = ruled.effective_date
    if (
        commitment_end is not None
        and today < commitment_end
        and policy == Term.EarlyTermination.FORBIDDEN
    ):
        effective = max(effective, commitment_end)
        if bound_without_term:
            message = _(
                "The subscription is committed until %(date)s: the cancellation takes effect at the commitment end."
            )
        else:
            message = _(
                "Early termination is forbidden: the cancellation takes effect at the commitment end, %(date)s."
            )
        reasons.append(message % {"date": commitment_end.isoformat()})
    elif ruled is not None:
        reasons.append(ruled.rule)
    else:
        reasons.append(
            _("The cancellation takes effect at the end of the current billing period, %(date)s.")
            % {"date": period_end.isoformat()}
        )
    renewal = subscription.renewal_date or period_end
    if ruled is None and term is not None and term.notice_count and effective >= renewal:
        notice = Period(term.notice_count, Unit(term.notice_unit))
        deadline = before_renewal(subscription, renewal, term.notice_count, term.notice_unit)
        if today > deadline:
            effective = boundary(anchor, renewal_length(subscription, term), 1, since=renewal)
            reasons.append(
                _(
                    "The notice period is %(notice)s: a cancellation had to reach us by %(deadline)s to end at the "
                    "renewal on %(renewal)s, so it takes effect at the following renewal, %(date)s."
                )
                % {
                    "notice": notice,
                    "deadline": deadline.isoformat(),
                    "renewal": renewal.isoformat(),
                    "date": effective.isoformat(),
                }
            )
        else:
            reasons.append(
                _(
                    "It reaches us before the notice deadline of %(deadline)s (%(notice)s before the renewal)."
                )
                % {"deadline": deadline.isoformat(), "notice": notice}
            )
    penalty = None
    cap = left = whole = None
    if (
        policy == Term.EarlyTermination.PENALTY
        and commitment_end is not None
        and effective < commitment_end
    ):
        # A penalty policy is a term's (no term, no penalty: the policy is then ALLOWED or
        # FORBIDDEN above), and the services set a commitment's start with its end.
        assert term is not None
        commitment_start = subscription.commitment_start
        assert commitment_start is not None
        grace_end = (
            boundary(
                anchor,
                Period(term.grace_count, Unit(term.grace_unit)),
                1,
                since=commitment_start,
            )
            if term.grace_count
            else None
        )
        if grace_end is not None and today < grace_end:
            reasons.append(
                _("Asked within the grace period (until %(date)s): no penalty.")
                % {"date": grace_end.isoformat()}
            )
        else:
            cap = term.penalty_cap.amount
            if term.penalty_prorated:
                left = (commitment_end - effective).days
                whole = (commitment_end - commitment_start).days
                penalty = round_money(times(cap, Fraction(left, whole)), currency)
            else:
                penalty = round_money(cap, currency)
            reasons.append(
                charge_engine.penalty_rule(
                    penalty=penalty, currency=currency, cap=cap, days_left=left, days_whole=whole
                )
            )
    return CancellationQuote(
        today,
        effective,
        penalty,
        currency,
        policy,
        " ".join(reasons),
        commitment_end=commitment_end,
        penalty_rule=reasons[-1] if penalty is not None else "",
        penalty_cap=cap if penalty is not None else None,
        penalty_days_left=left if penalty is not None else None,
        penalty_days_whole=whole if penalty is not None else None,
    )


@previewable
def subscription_cancel(
    *,
    subscription: Subscription,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
    dry_run: bool = False,  # @previewable: True computes everything, then rolls back
) -> ChangeResult:
    """Cancel following the term (allowed / forbidden / penalty with grace) and the notice period."""
    subscription = lock_on(subscription, today)
    if subscription.status in (Status.CANCELLED, Status.ENDED):
        refuse(_("The subscription has already ended."))
    if subscription.status == Status.PENDING_CANCELLATION:
        # Pending cancellation is the status of a cancellation recorded, whose date is the end
        # date (renewals.plan_advance sets the two together).
        assert subscription.end_date is not None
        refuse(
            _("A cancellation is already scheduled for %(date)s.")
            % {"date": subscription.end_date.isoformat()}
        )
    quote = cancellation_quote(subscription=subscription, today=today)
    event = record(
        subscription,
        Kind.CANCELLATION,
        quote.effective_date,
        {
            "requested_on": today.isoformat(),
            "penalty": money_decimal(quote.penalty, subscription.currency),
            "policy": quote.policy,
            "rule": quote.rule,
            "penalty_rule": quote.penalty_rule,
            "penalty_cap": str(quote.penalty_cap) if quote.penalty_cap is not None else None,
            "penalty_days_left": quote.penalty_days_left,
            "penalty_days_whole": quote.penalty_days_whole,
            "commitment_end": (quote.commitment_end or quote.effective_date).isoformat(),
        },
        actor=actor,
        channel=channel,
    )
    subscription.end_date = quote.effective_date
    # Invoicing held by a suspension (dunning) is released: the run must reach the subscription
    # to end it on its date; it stays suspended until then.
    subscription.invoicing_held = False
    subscription.save(update_fields=["end_date", "invoicing_held", "updated_at"])
    contracts_end_with_subscription(
        subscription=subscription, end=quote.effective_date, today=today
    )
    advance(subscription, today)
    context = context_of(subscription)
    now = charge_engine.event_charges(context, event)
    for charge in now:
        billing_due(subscription=subscription, day=charge.charge_date)
    if quote.immediate:
        message = _("Cancelled today, free of charge.")
    else:
        message = _("The subscription ends on %(date)s.") % {
            "date": quote.effective_date.isoformat()
        }
        if quote.penalty:
            message += " " + _("A penalty of %(amount)s is invoiced now.") % {
                "amount": total_text(now, quote.currency)
            }
    return ChangeResult(
        subscription, event, quote.effective_date, now, [], message, rule=quote.rule
    )


def subscription_undo_cancellation(
    *,
    subscription: Subscription,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> ChangeResult:
    with transaction.atomic():
        subscription = lock_on(subscription, today)
        cancellation = (
            SubscriptionEvent.objects.filter(
                subscription=subscription, kind=Kind.CANCELLATION, revoked_by__isnull=True
            )
            .order_by("-id")
            .first()
        )
        if cancellation is None:
            refuse(_("There is no cancellation to undo."))
        if cancellation.effective_date <= today:
            refuse(
                _("The cancellation took effect on %(date)s: it can no longer be undone.")
                % {"date": cancellation.effective_date.isoformat()}
            )
        event = record(
            subscription,
            Kind.CANCELLATION_UNDONE,
            today,
            {"cancellation": cancellation.pk},
            actor=actor,
            channel=channel,
        )
        cancellation.revoked_by = event
        cancellation.save(update_fields=["revoked_by"])
        if cancellation.data.get("penalty"):
            # The penalty is no longer due: billing credits it back from its date.
            billing_due(
                subscription=subscription, day=date.fromisoformat(cancellation.data["requested_on"])
            )
        ended = SubscriptionEvent.objects.filter(
            subscription=subscription, kind=Kind.ENDED, revoked_by__isnull=True
        ).first()
        subscription.end_date = ended.effective_date if ended else None
        subscription.save(update_fields=["end_date", "updated_at"])
        contracts_resume(subscription=subscription, cancelled_on=cancellation.effective_date)
        advance(subscription, today)
        message = _("The cancellation is undone: the subscription goes on.")
        if cancellation.data.get("penalty"):
            message += " " + _("The penalty is credited back.")
        return ChangeResult(subscription, event, today, [], [], message)
