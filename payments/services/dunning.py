"""Dunning: what happens when an invoice stays unpaid, day by day, as its policy says.

1. **Retries** of a failed payment (a returned direct debit, a declined card), on the policy's
   days counted from the first failure: the returned debit is presented again in the next
   batch, the saved card charged again without the payer (the gateway's webhook confirms). A debit returned for a reason that says the
   mandate cannot be debited again (MD01, AC04…) is not retried: the step records why.
2. The **reminders** are the overdue reminders billing already sends (OVERDUE_REMINDER_DAYS).
3. **Suspension** on the policy's day after the due date: the subscription the invoice bills
   loses access (subscription.suspended), its invoicing continues or is held.
4. The **final step** on its day: the subscription is cancelled (following its term: notice,
   commitment), and/or the invoice written off.

Paying (or cancelling) the invoice lifts the suspension at once (billing.suspension_lift, in
the payment's transaction). Each step is recorded once per invoice (DunningStep, a unique key)
in the transaction that takes it: the job is safe to run twice, or twice at once, and a late
run catches up with the steps due, taking the latest retry only, as reminders do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEvent, Payment
from billing.services import invoice_write_off
from core.errors import ApplicationError
from payments import documents
from payments.models import CardPayment, DunningPolicy, DunningStep, SepaDebit
from payments.services.cards import card_payment_retry
from payments.services.debits import sepa_debit_retry
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel, subscription_suspend

Step = DunningStep.Step


@dataclass
class DunningReport:
    """What one run of the job did."""

    day: date
    retries: int = 0
    suspended: int = 0
    cancelled: int = 0
    written_off: int = 0


def _policies() -> list[DunningPolicy]:
    return list(DunningPolicy.objects.all())


def dunning_run(*, day: date) -> DunningReport:
    """Take every dunning step due on `day` (the daily job, after the overdue reminders)."""
    report = DunningReport(day)
    policies = {p.plan_id: p for p in _policies()}
    if not policies:
        return report
    for invoice_id, first_failure in _failed_invoices(day):
        _retry(invoice_id, first_failure, day, policies, report)
    for invoice_id in _overdue_invoices(day, policies):
        _escalate(invoice_id, day, policies, report)
    return report


def _failed_invoices(day: date) -> list[tuple[int, date]]:
    """Open invoices with a failed payment: their id and the day of their first failure."""
    return list(
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=Invoice.OPEN_STATUSES,
            events__kind=InvoiceEvent.Kind.PAYMENT_FAILED,
        )
        .annotate(first_failure=Min("events__day"))
        .filter(first_failure__lt=day)
        .order_by("pk")
        .values_list("pk", "first_failure")
    )


def _overdue_invoices(day: date, policies: dict[int | None, DunningPolicy]) -> list[int]:
    """Unpaid invoices past the earliest day any policy acts on."""
    offsets = [
        offset
        for policy in policies.values()
        for offset in (policy.suspend_after_days, policy.final_after_days)
        if offset is not None
    ]
    if not offsets:
        return []
    return list(
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=(Invoice.Status.OVERDUE, Invoice.Status.UNCOLLECTIBLE),
            due_date__lte=day - timedelta(days=min(offsets)),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _locked(invoice_id: int) -> Invoice | None:
    """The invoice, locked (another run holding it takes its steps: skipped here)."""
    return (
        Invoice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subscription", "customer")
        .filter(pk=invoice_id)
        .first()
    )


def _policy(invoice: Invoice, policies: dict[int | None, DunningPolicy]) -> DunningPolicy | None:
    plan_id = invoice.subscription.plan_id if invoice.subscription is not None else None
    return policies.get(plan_id) or policies.get(None)


def _retry(
    invoice_id: int,
    first_failure: date,
    day: date,
    policies: dict[int | None, DunningPolicy],
    report: DunningReport,
) -> None:
    with transaction.atomic():
        invoice = _locked(invoice_id)
        if invoice is None or invoice.status not in Invoice.OPEN_STATUSES:
            return
        policy = _policy(invoice, policies)
        if policy is None:
            return
        offsets = policy.retry_offsets
        due = [n for n, offset in enumerate(offsets, 1) if first_failure + timedelta(offset) <= day]
        if not due:
            return
        attempt = due[-1]  # a late run takes the latest retry due, not each one missed
        done = DunningStep.objects.filter(invoice=invoice, step=Step.RETRY)
        if done.filter(attempt__gte=attempt).exists():
            return
        method = _failed_method(invoice)
        if method == Payment.Method.SEPA_DEBIT:
            last = invoice.sepa_debits.order_by("-pk").first()
            if done.exists() and last is not None and last.return_reason in last.FINAL_REASONS:
                return  # recorded once why it is not retried: the later retries say nothing new
            detail = _retry_debit(last, day)
        elif method == Payment.Method.CARD:
            detail = _retry_card(invoice, day)
        else:
            detail = _("Nothing to retry: the failed payment was made by %(method)s.") % {
                "method": method or "?"
            }
        if detail is None:
            return  # a debit is still with the bank: its outcome decides, tomorrow or later
        DunningStep.objects.create(
            invoice=invoice, step=Step.RETRY, attempt=attempt, day=day, policy=policy, detail=detail
        )
        report.retries += 1


def _failed_method(invoice: Invoice) -> str:
    event = invoice.events.filter(kind=InvoiceEvent.Kind.PAYMENT_FAILED).order_by("-pk").first()
    return event.data.get("method", "") if event else ""


def _retry_debit(debit: SepaDebit | None, day: date) -> str | None:
    """Present the invoice's last debit again, if returned; the step's detail, or None while
    it is in flight."""
    if debit is None:
        return _("No direct debit to present again.")
    if debit.status != SepaDebit.Status.RETURNED:
        return None
    if debit.retry_on is not None:
        return _("Already set to be debited again on %(date)s.") % {
            "date": debit.retry_on.isoformat()
        }
    try:
        sepa_debit_retry(debit=debit, day=day)
    except ApplicationError as refusal:
        return _("Not debited again: %(why)s") % {"why": refusal.message}
    return _("Debited again in the next batch (after %(id)s came back, %(reason)s).") % {
        "id": debit.end_to_end_id,
        "reason": debit.return_reason,
    }


def _retry_card(invoice: Invoice, day: date) -> str | None:
    """Charge the saved card again, without the payer; the step's detail, or None while an
    attempt is in flight (its webhook decides)."""
    if invoice.card_payments.filter(status__in=CardPayment.IN_FLIGHT).exists():
        return None
    attempt = card_payment_retry(invoice=invoice, day=day)
    if attempt is None:
        return _("No saved card to charge again: the customer pays another way.")
    if attempt.status == CardPayment.Status.FAILED:
        return _("Charged again: declined (%(code)s).") % {"code": attempt.failure_code}
    return _("Charged again to %(card)s.") % {"card": attempt.method}


def _escalate(
    invoice_id: int,
    day: date,
    policies: dict[int | None, DunningPolicy],
    report: DunningReport,
) -> None:
    with transaction.atomic():
        invoice = _locked(invoice_id)
        if invoice is None or invoice.due_date is None:
            return
        if invoice.status not in (Invoice.Status.OVERDUE, Invoice.Status.UNCOLLECTIBLE):
            return
        policy = _policy(invoice, policies)
        if policy is None:
            return
        late = (day - invoice.due_date).days
        taken = set(DunningStep.objects.filter(invoice=invoice).values_list("step", flat=True))
        suspend_day = policy.suspend_after_days
        if suspend_day is not None and late >= suspend_day and Step.SUSPENDED not in taken:
            _step, acted = _suspend(invoice, policy, day)
            report.suspended += acted
        final_day = policy.final_after_days
        final = policy.final_action
        if final_day is None or late < final_day or final == DunningPolicy.Final.NONE:
            return
        cancels = final in (DunningPolicy.Final.CANCEL, DunningPolicy.Final.CANCEL_AND_WRITE_OFF)
        if cancels and Step.CANCELLED not in taken:
            _step, acted = _cancel(invoice, policy, day)
            report.cancelled += acted
        writes_off = final in (
            DunningPolicy.Final.WRITE_OFF,
            DunningPolicy.Final.CANCEL_AND_WRITE_OFF,
        )
        if (
            writes_off
            and Step.WRITTEN_OFF not in taken
            and invoice.status == Invoice.Status.OVERDUE
        ):
            invoice_write_off(
                invoice=invoice,
                day=day,
                reason=_("Unpaid %(days)s days after its due date.") % {"days": late},
            )
            DunningStep.objects.create(
                invoice=invoice, step=Step.WRITTEN_OFF, day=day, policy=policy
            )
            report.written_off += 1


def _suspend(invoice: Invoice, policy: DunningPolicy, day: date) -> tuple[DunningStep, bool]:
    """The suspension step, and whether it suspended the subscription (or found nothing to)."""
    subscription = invoice.subscription
    acted = False
    assert invoice.due_date is not None  # the caller's
    if subscription is None:
        detail = _("No subscription to suspend: the invoice bills none.")
    elif not subscription.is_live:
        detail = _("The subscription has ended: nothing to suspend.")
    elif subscription.suspended_since is not None:
        detail = _("Already suspended since %(date)s.") % {
            "date": subscription.suspended_since.isoformat()
        }
    else:
        subscription_suspend(
            subscription=subscription,
            day=day,
            reason=_("Invoice %(number)s unpaid since %(date)s.")
            % {"number": invoice.number, "date": invoice.due_date.isoformat()},
            hold_invoicing=policy.hold_invoicing,
        )
        acted = True
        detail = (
            _("Suspended; invoicing held until it is paid.")
            if policy.hold_invoicing
            else _("Suspended; invoicing continues.")
        )
    step = DunningStep.objects.create(
        invoice=invoice, step=Step.SUSPENDED, day=day, policy=policy, detail=detail, to_email=acted
    )
    return step, acted


def _cancel(invoice: Invoice, policy: DunningPolicy, day: date) -> tuple[DunningStep, bool]:
    subscription = invoice.subscription
    acted = False
    if subscription is None or not subscription.is_live:
        detail = _("No live subscription to cancel.")
    elif subscription.status == Subscription.Status.PENDING_CANCELLATION:
        detail = _("Its cancellation was already scheduled.")
    else:
        result = subscription_cancel(subscription=subscription, today=day, channel="dunning")
        acted = True
        ends = result.effective_date or day  # a cancellation always has its date
        detail = _("Cancelled for non-payment: it ends on %(date)s (its term's rules).") % {
            "date": ends.isoformat()
        }
    step = DunningStep.objects.create(
        invoice=invoice, step=Step.CANCELLED, day=day, policy=policy, detail=detail, to_email=acted
    )
    return step, acted


def dunning_email_send(*, step_id: int) -> bool:
    """Tell the invoiced party what a step did (suspension, cancellation), once: the step is
    marked emailed after the message left; a crash in between sends it twice rather than never.
    False when there is nothing to send."""
    step = DunningStep.objects.select_related(
        "invoice__customer", "invoice__subscription__plan"
    ).get(pk=step_id)
    if step.emailed_at is not None or not step.to_email:
        return False
    subscription = step.invoice.subscription
    if subscription is None:
        return False
    documents.dunning_email(step).send()
    DunningStep.objects.filter(pk=step.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    return True


def dunning_emails_pending() -> list[int]:
    """The steps still to announce by email (the job sends them each morning: today's, and any
    a broker down yesterday kept back)."""
    return list(
        DunningStep.objects.filter(to_email=True, emailed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
