"""Product contracts on a subscription (billing-rules §8): attached at sale, started and ended by
the daily job, issues scheduled, credits granted, consumed, bought and expired.

The rules written here (docs/billing-rules.md, "Product contracts held"):

- An offer carries its contracts: the plan's, the plan's bundles' and an add-on bundle's. They
  start with billing (after a trial, on the first billed day): `pending` until then, `active`
  from then, `ended` from their end date.
- The plan's own contract (`Plan.contract`) governs the subscription: a fixed runtime (or a
  single period of issues) ends the subscription with it; a cancellation follows it.
- Time-based: a cancellation takes effect at the end of the current subscription interval when
  asked at least the cancellation period before it, else at the end of the next.
- Issue-based: the issues of a billing period are invoiced in advance at its start, so a
  cancellation takes effect from the first issue of the next billing period (its start) when
  asked at least the cancellation period before that issue, else from the first issue of the
  period after; the issues from then on are cancelled.
- Credit-based with intervals: the credits of each accounting period are granted at its start
  and what is left (bought credits included) expires at its end, or at the contract's end if
  sooner. Every consumption or top-up first brings the contract to its day, as the job would.

`contracts_run` (the daily job) does all of it for a day, catching up the days missed; each
contract is processed under its row lock, so a second run, or a second worker, finds nothing
left to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.models import (
    Bundle,
    Plan,
    ProductContract,
)
from core.contracts import issue_schedule
from core.periods import Interval, Period, Unit, boundary, period_at, period_index, shift
from core.pricing import ZERO
from subscriptions.models import (
    CreditEntry,
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
    SubscriptionEvent,
)
from subscriptions.services._base import billing_due, check_changeable, record, refuse
from subscriptions.services.renewals import lock_on

Kind = SubscriptionEvent.Kind
Status = Subscription.Status
Held = SubscriptionContract.Status
JOB = "job"
# The history's reason for the rows the job writes (no user: the daily job, not a person).
JOB_REASON = gettext_noop("contracts job")  # stored in English, shown translated
# Far above any real purchase of credits; a typing slip (a million hours) is refused.
TOPUP_MAX = Decimal("100000")
CENT = Decimal("0.01")


# Selling an offer -------------------------------------------------------------------------------


def _same_length(a: Period, b: Period) -> bool:
    if a.months is not None and b.months is not None:
        return a.months == b.months
    if a.days is not None and b.days is not None:
        return a.days == b.days
    return False


def check_contract_fits(*, plan: Plan, contract: ProductContract, field: str = "plan") -> None:
    """The billing engine bills a contract with the plan's billing periods: a time-based
    contract is sold on a plan billed over its accounting period, an issue-based one on a plan
    billed over the issues' billing period."""
    billing = plan.billing_period
    if contract.kind == ProductContract.Kind.TIME:
        accounting = contract.accounting_period
        if accounting is None or not _same_length(billing, accounting):
            refuse(
                _(
                    "%(plan)s is billed every %(billing)s but its product contract %(contract)s "
                    "is accounted every %(period)s: a time-based contract is sold on a plan "
                    "billed over its accounting period."
                )
                % {
                    "plan": plan.display_name,
                    "billing": billing,
                    "contract": contract.display_name,
                    "period": accounting,
                },
                field,
            )
    elif contract.kind == ProductContract.Kind.ISSUE:
        interval = contract.interval
        if interval is None or not _same_length(billing, interval):
            refuse(
                _(
                    "%(plan)s is billed every %(billing)s but the issues of its product contract "
                    "%(contract)s are billed every %(period)s: an issue-based contract is sold "
                    "on a plan billed over the issues' billing period."
                )
                % {
                    "plan": plan.display_name,
                    "billing": billing,
                    "contract": contract.display_name,
                    "period": interval,
                },
                field,
            )


@dataclass(frozen=True, slots=True)
class SoldContract:
    contract: ProductContract
    quantity: int
    governs: bool  # the plan's own contract: its runtime and cancellation are the subscription's


def contracts_of_sale(*, plan: Plan, addons: Mapping[int, int]) -> list[SoldContract]:
    """The contracts an offer carries (the plan's, its bundles', the add-ons'), checked against
    the plan's billing period: refused before anything is written."""
    wanted: list[tuple[int, int, bool]] = []
    if plan.contract_id:
        wanted.append((plan.contract_id, 1, True))
    for bundle in plan.bundles.all():
        if bundle.contract_id and bundle.contract_id not in {w[0] for w in wanted}:
            wanted.append((bundle.contract_id, 1, False))
    sold = []
    if wanted:
        contracts = ProductContract.objects.in_bulk({w[0] for w in wanted})
        sold = [SoldContract(contracts[pk], quantity, governs) for pk, quantity, governs in wanted]
        for item in sold:
            check_contract_fits(plan=plan, contract=item.contract)
    if addons:
        for bundle in Bundle.objects.filter(pk__in=list(addons), contract__isnull=False):
            sold += addon_contracts(plan=plan, bundle=bundle, quantity=addons[bundle.pk])
    return sold


def addon_contracts(*, plan: Plan, bundle: Bundle, quantity: int) -> list[SoldContract]:
    """The product contract an add-on bundle carries, checked against the plan (its own: the
    plan's contract governs the subscription, not an add-on's)."""
    if not bundle.contract_id:
        return []
    contract = ProductContract.objects.get(pk=bundle.contract_id)
    check_contract_fits(plan=plan, contract=contract, field="addons")
    return [SoldContract(contract, quantity, False)]


def billing_start(subscription: Subscription) -> date:
    """When a contract sold with the subscription starts: its first billed day (after a trial);
    before a manual fulfilment, its start plus the trial (moved when fulfilled)."""
    if subscription.anchor_date is not None:
        return subscription.anchor_date
    trial = subscription.plan.trial_period
    return subscription.start_date + trial.delta() if trial else subscription.start_date


def contracts_attach(
    *,
    subscription: Subscription,
    sold: Iterable[SoldContract],
    start_date: date,
    today: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> list[SubscriptionContract]:
    """The sale's contracts on the (locked, just written) subscription, in the sale's
    transaction."""
    return [
        _attach(
            subscription,
            item.contract,
            start_date,
            today,
            quantity=item.quantity,
            governs=item.governs,
            actor=actor,
            channel=channel,
        )
        for item in sold
    ]


def _natural_end(contract: ProductContract, start: date) -> date | None:
    """Where a contract ends by itself: a fixed runtime, or a single period of issues."""
    if contract.kind == ProductContract.Kind.TIME and contract.runtime == (
        ProductContract.Runtime.FIXED
    ):
        # A fixed runtime has its length (check constraint contract_fixed_runtime).
        assert contract.runtime_count is not None
        return shift(start, contract.runtime_count, Unit(contract.runtime_unit))
    if contract.kind == ProductContract.Kind.ISSUE and not contract.repeat_until_cancelled:
        interval = contract.interval
        assert interval is not None  # contract_issue_fields
        return boundary(start, interval, 1)
    return None


def _attach(
    subscription: Subscription,
    contract: ProductContract,
    start_date: date,
    today: date,
    *,
    quantity: int = 1,
    governs: bool = False,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> SubscriptionContract:
    end_date = _natural_end(contract, start_date)
    held = SubscriptionContract.objects.create(
        subscription=subscription,
        contract=contract,
        start_date=start_date,
        end_date=end_date,
        quantity=quantity,
        status=Held.PENDING,
    )
    held.subscription = subscription
    record(
        subscription,
        Kind.CONTRACT_ADDED,
        start_date,
        {"contract": contract.pk, "subscription_contract": held.pk},
        actor=actor,
        channel=channel,
    )
    # The plan's contract runs for a fixed time: so does the subscription (no renewal past it).
    # An end entry on the timeline, as a non-renewing term's.
    if (
        governs
        and end_date is not None
        and not SubscriptionEvent.objects.filter(
            subscription=subscription, kind=Kind.ENDED, effective_date=end_date
        ).exists()
    ):
        record(
            subscription,
            Kind.ENDED,
            end_date,
            {"contract": contract.pk, "subscription_contract": held.pk},
            actor=actor,
            channel=channel,
        )
    _run_held(held, today, ContractsReport(), actor=actor, channel=channel)
    return held


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
    """A contract added on its own (the admin): pending until `start_date`, then run by the job."""
    with transaction.atomic():
        subscription = lock_on(subscription, today)
        check_changeable(subscription)
        return _attach(
            subscription,
            contract,
            start_date,
            today,
            quantity=quantity,
            actor=actor,
            channel=channel,
        )


def contracts_follow_fulfilment(*, subscription: Subscription, today: date) -> None:
    """A manual-fulfilment subscription starts billing when fulfilled: its contracts, pending
    until then, start on the same day."""
    anchor = subscription.anchor_date
    assert anchor is not None  # called once fulfilled
    for held in (
        SubscriptionContract.objects.select_for_update(of=("self",))
        .filter(subscription=subscription, status=Held.PENDING)
        .select_related("contract")
    ):
        held.start_date = anchor
        held.end_date = _natural_end(held.contract, anchor)
        held.save(update_fields=["start_date", "end_date"])
        held.subscription = subscription
        _run_held(held, today, ContractsReport())


# The daily job ----------------------------------------------------------------------------------


@dataclass
class ContractsReport:
    day: date | None = None
    contracts: int = 0
    started: int = 0
    ended: int = 0
    issues_scheduled: int = 0
    credits_granted: int = 0
    credits_expired: int = 0

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat() if self.day else None,
            "contracts": self.contracts,
            "started": self.started,
            "ended": self.ended,
            "issues_scheduled": self.issues_scheduled,
            "credits_granted": self.credits_granted,
            "credits_expired": self.credits_expired,
        }


def contracts_run(*, day: date, batch_size: int = 500) -> ContractsReport:
    """The daily job (beat `subscriptions.contracts_run`): every contract not ended is brought to
    `day` — started, its issues scheduled for the current and next billing period, its credits
    granted and expired period by period (the days missed included), ended. Safe to run twice
    or in two workers at once: each contract is processed under its row lock and every write is
    conditional on what is already there."""
    report = ContractsReport(day=day)
    ids = list(
        SubscriptionContract.objects.exclude(status=Held.ENDED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for first in range(0, len(ids), batch_size):
        for pk in ids[first : first + batch_size]:
            with transaction.atomic():
                held = (
                    SubscriptionContract.objects.select_for_update(of=("self",))
                    .select_related("contract", "subscription__plan")
                    .filter(pk=pk)
                    .first()
                )
                if held is None or held.status == Held.ENDED:
                    continue  # ended by another worker meanwhile
                report.contracts += 1
                _run_held(held, day, report)
    return report


def _save(held: SubscriptionContract, fields: list[str], actor=None) -> None:
    if actor is None:
        held._change_reason = JOB_REASON
    try:
        held.save(update_fields=fields)
    finally:
        held.__dict__.pop("_change_reason", None)


def _run_held(
    held: SubscriptionContract,
    day: date,
    report: ContractsReport,
    *,
    actor: AbstractBaseUser | None = None,
    channel: str = JOB,
) -> None:
    """Bring one contract (its row locked, or just created) to `day`."""
    if held.status == Held.ENDED:
        return
    subscription = held.subscription
    end = held.end_date
    if subscription.status in (Status.CANCELLED, Status.ENDED):
        over = subscription.end_date or day
        end = over if end is None else min(end, over)
        if end != held.end_date:
            held.end_date = end
            _save(held, ["end_date"], actor)
    if held.status == Held.PENDING:
        started = held.start_date <= day and subscription.anchor_date is not None
        if not started and not (end is not None and end <= day):
            return
        if started and (end is None or held.start_date < end):
            held.status = Held.ACTIVE
            _save(held, ["status"], actor)
            record(
                subscription,
                Kind.CONTRACT_STARTED,
                held.start_date,
                {"contract": held.contract_id, "subscription_contract": held.pk},
                actor=actor,
                channel=channel,
            )
            report.started += 1
    if held.status != Held.PENDING:
        contract = held.contract
        if contract.kind == ProductContract.Kind.CREDIT:
            _credits_to(held, day, end, report)
        elif contract.kind == ProductContract.Kind.ISSUE:
            _issues_to(held, day, end, report)
    if end is not None and end <= day:
        held.status = Held.ENDED
        _save(held, ["status"], actor)
        record(
            subscription,
            Kind.CONTRACT_ENDED,
            end,
            {"contract": held.contract_id, "subscription_contract": held.pk},
            actor=actor,
            channel=channel,
        )
        report.ended += 1


def _credits_to(
    held: SubscriptionContract, day: date, end: date | None, report: ContractsReport
) -> None:
    contract = held.contract
    # A credit-based contract has its amount (check constraint contract_credit_amount).
    assert contract.credit_amount is not None
    amount = contract.credit_amount * held.quantity
    if not contract.credit_intervals:
        _, created = CreditEntry.objects.get_or_create(
            subscription_contract=held,
            kind=CreditEntry.Kind.GRANT,
            period_start=held.start_date,
            defaults={"amount": amount, "day": held.start_date, "period_end": None},
        )
        report.credits_granted += int(created)
        return
    accounting = contract.accounting_period
    assert accounting is not None  # contract_credit_intervals
    last = (
        held.credits.filter(kind=CreditEntry.Kind.GRANT)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    k = period_index(held.start_date, accounting, last) if last else 0
    # Period by period, in order: the grant of a period, then (once it is over) its expiry.
    while True:
        period = period_at(held.start_date, accounting, k)
        if period.start > day or (end is not None and period.start >= end):
            return
        _, created = CreditEntry.objects.get_or_create(
            subscription_contract=held,
            kind=CreditEntry.Kind.GRANT,
            period_start=period.start,
            defaults={"amount": amount, "day": period.start, "period_end": period.end},
        )
        report.credits_granted += int(created)
        close = period.end if end is None else min(period.end, end)
        if close > day:
            return
        if _expire(held, period, close):
            report.credits_expired += 1
        k += 1


def _expire(held: SubscriptionContract, period: Interval, close: date) -> bool:
    if CreditEntry.objects.filter(
        subscription_contract=held, kind=CreditEntry.Kind.EXPIRY, period_start=period.start
    ).exists():
        return False
    left = held.credits.filter(day__lt=close).aggregate(total=Sum("amount"))["total"] or ZERO
    if left <= 0:
        return False
    CreditEntry.objects.create(
        subscription_contract=held,
        kind=CreditEntry.Kind.EXPIRY,
        amount=-left,
        day=close,
        period_start=period.start,
        period_end=period.end,
    )
    return True


def _issue_rows(held: SubscriptionContract, period: Interval) -> list[ScheduledIssue]:
    contract = held.contract
    # An issue-based contract has its issue counts (check constraint contract_issue_fields).
    assert contract.issues_per_period is not None and contract.chargeable_issues is not None
    return [
        ScheduledIssue(
            subscription_contract=held,
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


def _issues_to(
    held: SubscriptionContract, day: date, end: date | None, report: ContractsReport
) -> None:
    """The issues of every billing period up to the one after `day`'s (the days missed too)."""
    contract = held.contract
    interval = contract.interval
    assert interval is not None  # contract_issue_fields
    scheduled = set(held.issues.order_by().values_list("period_start", flat=True).distinct())
    last = max(scheduled, default=None)
    first = period_index(held.start_date, interval, last) if last else 0
    target = period_index(held.start_date, interval, max(day, held.start_date)) + 1
    for k in range(first, target + 1):
        if k > 0 and not contract.repeat_until_cancelled:
            break  # a single run of issues
        period = period_at(held.start_date, interval, k)
        if end is not None and period.start >= end:
            break
        if period.start in scheduled:
            continue
        rows = _issue_rows(held, period)
        ScheduledIssue.objects.bulk_create(rows, ignore_conflicts=True)
        report.issues_scheduled += len(rows)
    if end is not None:
        held.issues.filter(issue_date__gte=end, cancelled=False).update(cancelled=True)


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
    # An issue-based contract has its billing period (check constraint contract_issue_fields).
    interval = contract.interval
    assert interval is not None
    period = _contract_period(subscription_contract, interval, day)
    if subscription_contract.end_date and period.start >= subscription_contract.end_date:
        return []
    if not contract.repeat_until_cancelled and period.start > subscription_contract.start_date:
        return []  # a single run of issues
    ScheduledIssue.objects.bulk_create(
        _issue_rows(subscription_contract, period), ignore_conflicts=True
    )
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


def _locked(subscription_contract: SubscriptionContract) -> SubscriptionContract:
    return (
        SubscriptionContract.objects.select_for_update(of=("self",))
        .select_related("contract", "subscription__plan")
        .get(pk=subscription_contract.pk)
    )


def _check_credits_usable(held: SubscriptionContract, day: date) -> None:
    if held.contract.kind != ProductContract.Kind.CREDIT:
        refuse(_("Only credit-based contracts have credits."))
    # Ended by its status, or by its end date even before a job records the status.
    if held.status == Held.ENDED or (held.end_date is not None and day >= held.end_date):
        refuse(
            _("This contract ended on %(date)s: its credits can no longer be used.")
            % {"date": (held.end_date or day).isoformat()}
        )
    if held.status == Held.PENDING:
        refuse(
            _("This contract starts on %(date)s: its credits can be used from then.")
            % {"date": held.start_date.isoformat()}
        )


def _accounting_period_of(held: SubscriptionContract, day: date) -> Interval | None:
    if not held.contract.credit_intervals:
        return None
    # Credits with intervals have their accounting period (contract_credit_intervals).
    accounting = held.contract.accounting_period
    assert accounting is not None
    return _contract_period(held, accounting, day)


def credits_consume(
    *, subscription_contract: SubscriptionContract, amount: Decimal, day: date, reference: str = ""
) -> CreditEntry:
    """Use credits; beyond the balance the consumption is refused and changes nothing. The
    contract is first brought to `day` (its grants and expiries), as the job would."""
    amount = Decimal(amount)
    if amount <= 0:
        refuse(_("A consumption is a positive number of credits."), "amount")
    with transaction.atomic():
        held = _locked(subscription_contract)
        if held.contract.kind == ProductContract.Kind.CREDIT:
            _run_held(held, day, ContractsReport())
        _check_credits_usable(held, day)
        balance = credit_balance(subscription_contract=held)
        if amount > balance:
            refuse(
                _("Only %(balance)s credits are left; %(amount)s were asked for.")
                % {"balance": f"{balance:.2f}", "amount": f"{amount:.2f}"},
                "amount",
            )
        current_period = _accounting_period_of(held, day)
        return CreditEntry.objects.create(
            subscription_contract=held,
            kind=CreditEntry.Kind.CONSUMPTION,
            amount=-amount,
            day=day,
            period_start=current_period.start if current_period else None,
            period_end=current_period.end if current_period else None,
            reference=reference[:100],
        )


def credits_topup(
    *,
    subscription_contract: SubscriptionContract,
    credits: Decimal,
    day: date,
    actor: AbstractBaseUser | None = None,
    channel: str = "",
) -> CreditEntry:
    """Buy credits on a credit-based contract: a timeline entry (`credits_topped_up`, which
    billing invoices at once, on its own invoice, at the contract's price) and the credits,
    written once for that entry. With intervals, bought credits are credits of the current
    accounting period: what is left of them expires at its end, like the granted ones."""
    try:
        credits = Decimal(credits)
    except (TypeError, ArithmeticError, ValueError):
        refuse(_("Credits are a number, e.g. 10 or 2.5."), "credits")
    if not credits.is_finite() or credits <= 0:
        refuse(_("Buy a positive number of credits."), "credits")
    if credits > TOPUP_MAX:
        refuse(
            _("At most %(max)s credits can be bought at once.") % {"max": f"{TOPUP_MAX:.0f}"},
            "credits",
        )
    if credits != credits.quantize(CENT):
        refuse(_("Credits are bought in hundredths at most (e.g. 2.25)."), "credits")
    credits = credits.quantize(CENT)
    with transaction.atomic():
        # The subscription first, then the contract: the order every service locks them in.
        subscription = lock_on(subscription_contract.subscription, day)
        if subscription.status in (Status.CANCELLED, Status.ENDED):
            refuse(_("The subscription has ended: no credits can be bought."))
        held = _locked(subscription_contract)
        held.subscription = subscription
        if held.contract.kind == ProductContract.Kind.CREDIT:
            _run_held(held, day, ContractsReport())
        _check_credits_usable(held, day)
        if held.contract.price_sheet_id is None:
            refuse(
                _("%(contract)s has no price: its credits cannot be bought.")
                % {"contract": held.contract.display_name}
            )
        event = record(
            subscription,
            Kind.CREDITS_TOPPED_UP,
            day,
            {"subscription_contract": held.pk, "credits": str(credits)},
            actor=actor,
            channel=channel,
        )
        period = _accounting_period_of(held, day)
        entry = CreditEntry.objects.create(
            subscription_contract=held,
            kind=CreditEntry.Kind.TOPUP,
            amount=credits,
            day=day,
            period_start=period.start if period else None,
            period_end=period.end if period else None,
            reference=f"event:{event.pk}",
        )
        # A one-off charge: invoiced at once, like seats added (billing-rules §9).
        billing_due(subscription=subscription, day=day, today=day)
        return entry


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


@dataclass(frozen=True, slots=True)
class ContractCancellation:
    effective_date: date
    rule: str


def _next_boundary_with_notice(
    held: SubscriptionContract, interval: Period, today: date
) -> tuple[date, date, date]:
    """(the next boundary of the contract's interval after today, the last day to cancel for
    it, when a cancellation asked today takes effect: that boundary, or the one after when the
    cancellation period has passed)."""
    contract = held.contract
    k = max(period_index(held.start_date, interval, today), 0)
    upcoming = boundary(held.start_date, interval, k + 1)
    deadline = shift(upcoming, -contract.cancellation_count, Unit(contract.cancellation_unit))
    if today <= deadline:
        return upcoming, deadline, upcoming
    return upcoming, deadline, boundary(held.start_date, interval, k + 2)


def contract_cancellation(
    *, subscription_contract: SubscriptionContract, today: date
) -> ContractCancellation | None:
    """When a cancellation of a time- or issue-based contract asked `today` takes effect, and
    why (billing-rules §5 last bullet, billing-rules §8); None for a credit-based one."""
    held = subscription_contract
    contract = held.contract
    notice = contract.cancellation_count
    unit = Unit(contract.cancellation_unit)
    notice_text = str(Period(notice, unit)) if notice else ""
    if contract.kind == ProductContract.Kind.TIME:
        # A time-based contract has its interval (check constraint contract_time_fields).
        interval = contract.interval
        assert interval is not None
        interval_end, deadline, effective = _next_boundary_with_notice(held, interval, today)
        if effective == interval_end:
            rule = _(
                "The product contract is cancelled at the end of its current subscription "
                "interval, %(date)s."
            ) % {"date": effective.isoformat()}
        else:
            rule = _(
                "The product contract's cancellation period is %(notice)s: a cancellation had to "
                "reach us by %(deadline)s to end at the end of the current interval, "
                "%(interval_end)s, so it takes effect at the end of the next, %(date)s."
            ) % {
                "notice": notice_text,
                "deadline": deadline.isoformat(),
                "interval_end": interval_end.isoformat(),
                "date": effective.isoformat(),
            }
    elif contract.kind == ProductContract.Kind.ISSUE:
        # An issue-based contract has its billing period (contract_issue_fields).
        interval = contract.interval
        assert interval is not None
        # The first issue of a billing period falls on its start (core.contracts).
        next_issue, deadline, effective = _next_boundary_with_notice(held, interval, today)
        if effective == next_issue:
            rule = _(
                "The issues of a billing period are invoiced at its start: the cancellation "
                "takes effect from the first issue of the next billing period, %(date)s."
            ) % {"date": effective.isoformat()}
        else:
            rule = _(
                "The product contract's cancellation period is %(notice)s before an issue: a "
                "cancellation had to reach us by %(deadline)s to stop before the issue of "
                "%(issue)s, so it takes effect from the first issue of the following billing "
                "period, %(date)s."
            ) % {
                "notice": notice_text,
                "deadline": deadline.isoformat(),
                "issue": next_issue.isoformat(),
                "date": effective.isoformat(),
            }
    else:
        return None
    if held.end_date is not None and effective > held.end_date:
        effective = held.end_date
        rule = _("The product contract ends on %(date)s.") % {"date": effective.isoformat()}
    return ContractCancellation(effective, rule)


def governing_contract(subscription: Subscription) -> SubscriptionContract | None:
    """The held contract of the subscription's plan (`Plan.contract`), not ended: a time- or
    issue-based one rules the subscription's cancellation."""
    contract_id = subscription.plan.contract_id
    if contract_id is None:
        return None
    return (
        SubscriptionContract.objects.select_related("contract")
        .filter(subscription=subscription, contract_id=contract_id)
        .exclude(status=Held.ENDED)
        .order_by("id")
        .first()
    )


def contracts_end_with_subscription(*, subscription: Subscription, end: date, today: date) -> None:
    """A cancellation of the subscription ends its contracts on the same date (their issues
    from then on are cancelled); one effective today ends them now."""
    for held in (
        SubscriptionContract.objects.select_for_update(of=("self",))
        .select_related("contract")
        .filter(subscription=subscription)
        .exclude(status=Held.ENDED)
    ):
        held.subscription = subscription
        held.end_date = end if held.end_date is None else min(held.end_date, end)
        fields = ["end_date"]
        if held.status == Held.ACTIVE:
            held.status = Held.PENDING_CANCELLATION
            fields.append("status")
        held.save(update_fields=fields)
        held.issues.filter(issue_date__gte=held.end_date, cancelled=False).update(cancelled=True)
        if held.end_date <= today:
            _run_held(held, today, ContractsReport(), channel="")


def contracts_resume(*, subscription: Subscription, cancelled_on: date) -> None:
    """An undone cancellation gives the contracts it ended back their own end (or none)."""
    for held in (
        SubscriptionContract.objects.select_for_update(of=("self",))
        .select_related("contract")
        .filter(subscription=subscription, end_date=cancelled_on)
        .exclude(status=Held.ENDED)
    ):
        held.end_date = _natural_end(held.contract, held.start_date)
        if held.status == Held.PENDING_CANCELLATION:
            held.status = Held.ACTIVE
        held.save(update_fields=["end_date", "status"])
        cancelled = held.issues.filter(issue_date__gte=cancelled_on, cancelled=True)
        if held.end_date is not None:
            cancelled = cancelled.filter(issue_date__lt=held.end_date)
        cancelled.update(cancelled=False)


def subscription_contract_cancel(
    *, subscription_contract: SubscriptionContract, today: date
) -> SubscriptionContract:
    """Cancel a product contract (billing-rules §8): a time-based one at the end of its subscription
    interval, if asked at least the cancellation period before it (else at the end of the next);
    an issue-based one from the first issue of the next billing period, if asked at least the
    cancellation period before it (else from the first issue of the period after: the issues of
    a period are invoiced at its start); a credit-based one at the end of its accounting
    period."""
    with transaction.atomic():
        held = _locked(subscription_contract)
        if held.status not in (Held.ACTIVE, Held.PENDING):
            refuse(_("This contract is already cancelled or ended."))
        contract = held.contract
        ruled = contract_cancellation(subscription_contract=held, today=today)
        if (
            ruled is not None
            and contract.kind == ProductContract.Kind.ISSUE
            and held.end_date is not None
            and ruled.effective_date >= held.end_date
        ):
            # A period's issues are invoiced at its start: in the last period nothing is left.
            refuse(
                _(
                    "The issues of this contract's last billing period were invoiced at its "
                    "start: it ends on %(date)s, with nothing left to cancel."
                )
                % {"date": held.end_date.isoformat()}
            )
        if ruled is not None:
            effective = ruled.effective_date
        elif contract.credit_intervals:
            # Credits with intervals have their accounting period (contract_credit_intervals).
            accounting = contract.accounting_period
            assert accounting is not None
            effective = _contract_period(held, accounting, max(today, held.start_date)).end
        else:
            effective = today
        held.end_date = effective if held.end_date is None else min(held.end_date, effective)
        held.issues.filter(issue_date__gte=held.end_date, cancelled=False).update(cancelled=True)
        fields = ["end_date"]
        if held.status == Held.ACTIVE:
            held.status = Held.PENDING_CANCELLATION
            fields.append("status")
        held.save(update_fields=fields)
        if held.end_date <= today:
            _run_held(held, today, ContractsReport(), channel="")
        return held
