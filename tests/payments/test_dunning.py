"""Dunning (issue 14): retries of a failed payment, suspension, the final step, and the lift on
payment — on the quarterly invoice of 129.60 (billing-rules example 6.1), issued on 2026-01-01
and due on 2026-01-31, debited by SEPA. The policy: retries after 3, 5 and 7 days, suspension
14 days after the due date (2026-02-14), final step 45 days after it (2026-03-17)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from billing.models import Invoice, InvoiceEvent
from billing.services import (
    billing_run,
    invoice_cancel_by_credit_note,
    invoices_mark_overdue,
    payment_record,
)
from catalog.models import Plan
from core.errors import ApplicationError
from integrations.services import INVOICE_TYPES, SUBSCRIPTION_TYPES
from payments import services, tasks
from payments.models import DunningPolicy, DunningStep, SepaDebit
from subscriptions import services as subscription_services
from subscriptions.models import Subscription, SubscriptionEvent
from tests.payments.sepa_builders import mandate_for, submitted_batch
from tests.support.api import results, token_client
from tests.support.payments import Tx, camt053

pytestmark = pytest.mark.django_db

SUSPENSION_DAY = date(2026, 2, 14)
FINAL_DAY = date(2026, 3, 17)


@pytest.fixture
def policy():
    return DunningPolicy.objects.create(
        name="Standard",
        retry_days="3, 5, 7",
        suspend_after_days=14,
        final_after_days=45,
        final_action=DunningPolicy.Final.CANCEL,
    )


def returned(invoice, reason="AM04", day=date(2026, 2, 4)) -> SepaDebit:
    """The invoice debited in the batch of 2026-01-17, collected, then back on `day`."""
    mandate_for(invoice.customer)
    debit = submitted_batch().debits.get()
    services.sepa_debit_collect(debit=debit, today=date(2026, 2, 2))
    services.sepa_debit_return(debit=debit, reason=reason, day=day)
    return debit


def steps(invoice) -> list[tuple[str, int, date]]:
    return list(
        DunningStep.objects.filter(invoice=invoice)
        .order_by("day", "pk")
        .values_list("step", "attempt", "day")
    )


# The policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["3, x", "5, 3", "0", "3, 3", "400"])
def test_retry_days_are_increasing_whole_days(value):
    policy = DunningPolicy(name="Bad", retry_days=value, suspend_after_days=14)
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "retry_days" in refused.value.message_dict


def test_one_global_policy_and_the_final_step_after_the_suspension(policy, demo_catalog):
    second = DunningPolicy(name="Another", suspend_after_days=10, final_after_days=30)
    with pytest.raises(ValidationError, match="already a global policy"):
        second.full_clean()
    late = DunningPolicy(
        name="Late",
        plan=Plan.objects.get(code="device-seats"),
        suspend_after_days=30,
        final_after_days=20,
    )
    with pytest.raises(ValidationError, match="final step comes after the suspension"):
        late.full_clean()
    assert policy.retry_offsets == [3, 5, 7]


def test_without_a_policy_dunning_does_nothing(quarterly):
    returned(quarterly)
    report = services.dunning_run(day=FINAL_DAY)
    assert (report.retries, report.suspended, report.cancelled) == (0, 0, 0)
    assert not DunningStep.objects.exists()


def test_a_plan_policy_wins_over_the_global_one(quarterly, policy):
    DunningPolicy.objects.create(
        name="Devices",
        plan=Plan.objects.get(code="device-seats"),
        retry_days="",
        suspend_after_days=30,
        final_after_days=None,
    )
    returned(quarterly)
    services.dunning_run(day=SUSPENSION_DAY)  # the global policy's day: not this plan's
    assert steps(quarterly) == []
    services.dunning_run(day=date(2026, 3, 2))
    assert steps(quarterly) == [("suspended", 0, date(2026, 3, 2))]


# Retries ---------------------------------------------------------------------------------------


def test_a_debit_returned_for_insufficient_funds_is_retried_on_the_policys_days(quarterly, policy):
    debit = returned(quarterly, "AM04", day=date(2026, 2, 4))
    # The return is the payment's failure (webhook payment.failed), the day retries count from.
    failure = InvoiceEvent.objects.get(invoice=quarterly, kind="payment_failed")
    assert INVOICE_TYPES[failure.kind] == "payment.failed"
    assert failure.data["reason"] == f"AM04 {quarterly.number}-1"
    assert services.dunning_run(day=date(2026, 2, 6)).retries == 0
    # Three days after: presented again in the next batch, once however often the job runs.
    assert services.dunning_run(day=date(2026, 2, 7)).retries == 1
    assert services.dunning_run(day=date(2026, 2, 7)).retries == 0
    debit.refresh_from_db()
    assert debit.retry_on == date(2026, 2, 7)
    again = services.sepa_batch_create(day=date(2026, 2, 7)).debits.get()
    assert again.end_to_end_id == f"{quarterly.number}-2"
    # In flight with the bank: the second retry waits for its outcome.
    assert services.dunning_run(day=date(2026, 2, 9)).retries == 0
    services.sepa_batch_mark_submitted(batch=again.batch)
    services.sepa_debit_return(debit=again, reason="AM04", day=date(2026, 2, 12))
    # Back again on 2026-02-12: the latest retry due (7 days after the first failure) is taken.
    assert services.dunning_run(day=date(2026, 2, 12)).retries == 1
    assert steps(quarterly) == [("retry", 1, date(2026, 2, 7)), ("retry", 3, date(2026, 2, 12))]
    assert services.dunning_run(day=date(2026, 2, 13)).retries == 0


def test_a_debit_returned_md01_is_not_retried_and_the_step_says_why(quarterly, policy):
    returned(quarterly, "MD01")
    services.dunning_run(day=date(2026, 2, 7))
    step = DunningStep.objects.get(invoice=quarterly)
    assert (step.step, step.attempt) == ("retry", 1)
    assert "Not debited again" in step.detail and "new mandate" in step.detail
    assert services.sepa_batch_create(day=date(2026, 2, 7)) is None


# Suspension, lift, final step ------------------------------------------------------------------


def test_suspended_on_the_policys_day_and_reactivated_at_once_by_the_payment(
    quarterly, policy, mailoutbox
):
    returned(quarterly, "MD01")
    subscription = quarterly.subscription
    services.dunning_run(day=date(2026, 2, 13))
    subscription.refresh_from_db()
    assert subscription.suspended_since is None
    report = tasks.dunning(SUSPENSION_DAY.isoformat())
    assert report["suspended"] == 1
    subscription.refresh_from_db()
    assert subscription.suspended_since == SUSPENSION_DAY
    assert (subscription.status, subscription.shown_status) == ("active", "suspended")
    assert not subscription.has_access and not subscription.invoicing_held
    event = subscription.events.get(kind="suspended")
    assert SUBSCRIPTION_TYPES[event.kind] == "subscription.suspended"
    assert event.data["reason"] == f"Invoice {quarterly.number} unpaid since 2026-01-31."
    # Announced once, in the customer's language.
    (email,) = mailoutbox
    assert quarterly.number in email.subject and email.to == [quarterly.customer.email]
    assert "129,60" in email.body or "129.60" in email.body
    assert tasks.dunning(SUSPENSION_DAY.isoformat())["suspended"] == 0
    assert (
        services.dunning_email_send(step_id=DunningStep.objects.get(step="suspended").pk) is False
    )
    assert len(mailoutbox) == 1
    # Paid by transfer on 2026-02-20: access is back in the payment's transaction.
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 2, 20)
    )
    subscription.refresh_from_db()
    assert (subscription.suspended_since, subscription.has_access) == (None, True)
    back = subscription.events.get(kind="reactivated")
    assert (back.effective_date, SUBSCRIPTION_TYPES[back.kind]) == (
        date(2026, 2, 20),
        "subscription.reactivated",
    )
    # Paid, the invoice takes no more step.
    assert services.dunning_run(day=FINAL_DAY).cancelled == 0


def test_held_invoicing_waits_for_the_payment_then_catches_up(quarterly, policy):
    policy.hold_invoicing = True
    policy.save()
    returned(quarterly, "MD01")
    services.dunning_run(day=SUSPENSION_DAY)
    subscription = Subscription.objects.get(pk=quarterly.subscription_id)
    assert subscription.invoicing_held
    # The second quarter is not invoiced while suspended...
    billing_run(day=date(2026, 4, 1))
    assert Invoice.objects.filter(subscription=subscription, kind="invoice").count() == 1
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 4, 2)
    )
    # ...and is, by the next run, once paid: held, not forgiven.
    billing_run(day=date(2026, 4, 2))
    second = Invoice.objects.get(subscription=subscription, billing_key="rec:2026-04-01")
    assert second.total.amount == Decimal("129.60")


def test_a_later_unpaid_invoice_does_not_hold_the_reactivation(quarterly, policy):
    returned(quarterly, "MD01")
    services.dunning_run(day=SUSPENSION_DAY)
    billing_run(day=date(2026, 4, 1))  # invoicing continues: Q2, due 2026-05-01
    invoices_mark_overdue(day=date(2026, 5, 2))
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 5, 3)
    )
    subscription = Subscription.objects.get(pk=quarterly.subscription_id)
    assert subscription.suspended_since is None


def test_cancelling_the_invoice_by_credit_note_lifts_the_suspension(quarterly, policy):
    services.dunning_run(day=date(2026, 2, 1))
    invoices_mark_overdue(day=date(2026, 2, 1))
    services.dunning_run(day=SUSPENSION_DAY)
    subscription = Subscription.objects.get(pk=quarterly.subscription_id)
    assert subscription.suspended_since == SUSPENSION_DAY
    invoice_cancel_by_credit_note(invoice=quarterly, reason="Waived", day=date(2026, 2, 16))
    subscription.refresh_from_db()
    assert subscription.suspended_since is None


def test_the_final_step_cancels_following_the_term(quarterly, policy, mailoutbox):
    invoices_mark_overdue(day=date(2026, 2, 1))
    services.dunning_run(day=SUSPENSION_DAY)
    report = tasks.dunning(FINAL_DAY.isoformat())
    assert report["cancelled"] == 1
    subscription = Subscription.objects.get(pk=quarterly.subscription_id)
    assert subscription.status == "pending_cancellation" and subscription.suspended_since
    cancellation = subscription.events.get(kind="cancellation")
    assert (cancellation.channel, cancellation.effective_date) == ("dunning", subscription.end_date)
    step = DunningStep.objects.get(step="cancelled")
    assert subscription.end_date.isoformat() in step.detail
    # In the customer's language (French).
    assert mailoutbox[-1].subject == (
        f"Licences d'équipements est résilié : la facture {quarterly.number} est impayée"
    )
    assert tasks.dunning(FINAL_DAY.isoformat())["cancelled"] == 0


def test_the_final_step_writes_the_invoice_off_and_a_late_payment_still_settles_it(
    quarterly, policy
):
    policy.final_action = DunningPolicy.Final.WRITE_OFF
    policy.save()
    invoices_mark_overdue(day=date(2026, 2, 1))
    report = services.dunning_run(day=FINAL_DAY)  # a late run: suspension and final step
    assert (report.suspended, report.written_off) == (1, 1)
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.get_status_display()) == ("uncollectible", "written off")
    event = InvoiceEvent.objects.get(invoice=quarterly, kind="written_off")
    assert INVOICE_TYPES[event.kind] == "invoice.uncollectible"
    assert event.data["balance"] == "129.60"
    assert services.dunning_run(day=FINAL_DAY).written_off == 0
    # No more reminders, debits or retries; but the money is still taken when it comes.
    assert services.sepa_batch_create(day=date(2026, 3, 18)) is None
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 3, 20)
    )
    quarterly.refresh_from_db()
    assert quarterly.status == "paid"
    assert Subscription.objects.get(pk=quarterly.subscription_id).suspended_since is None


def test_an_ended_subscription_is_not_suspended_and_the_step_says_so(quarterly, policy):
    invoices_mark_overdue(day=date(2026, 2, 1))
    Subscription.objects.filter(pk=quarterly.subscription_id).update(status="ended")
    report = services.dunning_run(day=SUSPENSION_DAY)
    assert report.suspended == 0
    assert DunningStep.objects.get().detail == "The subscription has ended: nothing to suspend."


def test_suspend_and_reactivate_refuse_what_does_not_apply(quarterly):
    subscription = quarterly.subscription
    with pytest.raises(ApplicationError, match="not suspended"):
        subscription_services.subscription_reactivate(
            subscription=subscription, day=date(2026, 2, 1), reason="x"
        )
    subscription_services.subscription_suspend(
        subscription=subscription, day=date(2026, 2, 1), reason="x"
    )
    with pytest.raises(ApplicationError, match="already suspended"):
        subscription_services.subscription_suspend(
            subscription=subscription, day=date(2026, 2, 2), reason="x"
        )
    assert SubscriptionEvent.objects.filter(kind="suspended").count() == 1


def test_the_dunning_job_runs_after_the_overdue_reminders():
    from django.conf import settings

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["dunning"]["task"] == "payments.dunning"
    dunning, overdue = schedule["dunning"]["schedule"], schedule["overdue-reminders"]["schedule"]
    assert (dunning.hour, dunning.minute) == ({9}, {30})
    assert (overdue.hour, overdue.minute) == ({9}, {0})


def test_a_declined_card_is_charged_again_on_the_policys_days_until_paid(
    quarterly, policy, django_capture_on_commit_callbacks
):
    def card(number):
        return services.card_add(
            customer=quarterly.customer,
            number=number,
            expiry="12/29",
            holder="Paul Martin",
            today=date(2026, 1, 10),
        )

    # Given a saved card declined when charged, and the customer's payment declined on 2026-01-10
    card("4000 0000 0000 0341")
    with django_capture_on_commit_callbacks(execute=True):
        services.card_payment_retry(invoice=quarterly, day=date(2026, 1, 10))
    assert InvoiceEvent.objects.get(invoice=quarterly, kind="payment_failed").data["method"] == (
        "card"
    )
    # When dunning retries three days later, it is declined again, and the step says so
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dunning_run(day=date(2026, 1, 13)).retries == 1
    step = DunningStep.objects.get(invoice=quarterly)
    assert step.detail == "Charged again: declined (card_declined)."
    # When the customer saves a good card, the next retry (day 5) pays the invoice
    card("4242 4242 4242 4242")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dunning_run(day=date(2026, 1, 15)).retries == 1
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.amount_paid.amount) == ("paid", Decimal("129.60"))
    assert steps(quarterly) == [("retry", 1, date(2026, 1, 13)), ("retry", 2, date(2026, 1, 15))]
    assert services.dunning_run(day=date(2026, 1, 17)).retries == 0


def test_the_api_says_suspended_and_no_access_and_filters_on_it(quarterly, policy, operator):
    invoices_mark_overdue(day=date(2026, 2, 1))
    services.dunning_run(day=SUSPENSION_DAY)
    client = token_client(operator)
    (row,) = results(client.get("/api/v1/subscriptions/", {"status": "suspended"}))
    assert (row["id"], row["status"], row["lifecycle_status"]) == (
        quarterly.subscription_id,
        "suspended",
        "active",
    )
    assert (row["suspended_since"], row["access"]) == ("2026-02-14", False)
    assert results(client.get("/api/v1/subscriptions/", {"status": "active"})) == []
    payment_record(
        invoice=quarterly, amount="129.60", method="bank_transfer", received_on=date(2026, 2, 20)
    )
    (row,) = results(client.get("/api/v1/subscriptions/", {"status": "active"}))
    assert (row["status"], row["suspended_since"], row["access"]) == ("active", None, True)


def test_a_transfer_in_a_statement_settles_a_written_off_invoice(quarterly, policy):
    policy.final_action = DunningPolicy.Final.WRITE_OFF
    policy.save()
    invoices_mark_overdue(day=date(2026, 2, 1))
    services.dunning_run(day=FINAL_DAY)
    statement = camt053(
        Tx("129.60", reference=quarterly.payment_reference, booked="2026-03-20"),
        statement_id="STMT-2026-03-20",
    )
    services.statement_import(
        file=ContentFile(statement, name="camt053.xml"), actor=None, day=date(2026, 3, 20)
    )
    quarterly.refresh_from_db()
    assert (quarterly.status, quarterly.paid_on) == ("paid", date(2026, 3, 20))
    assert Subscription.objects.get(pk=quarterly.subscription_id).has_access


def test_an_announcement_a_broker_kept_back_is_sent_by_the_next_morning_job(
    quarterly, policy, mailoutbox
):
    invoices_mark_overdue(day=date(2026, 2, 1))
    # The step is taken, but its email never left (the job's queueing failed).
    services.dunning_run(day=SUSPENSION_DAY)
    step = DunningStep.objects.get(step="suspended")
    assert (step.to_email, step.emailed_at, len(mailoutbox)) == (True, None, 0)
    assert services.dunning_emails_pending() == [step.pk]
    # The next morning's job sends it, once.
    tasks.dunning(date(2026, 2, 15).isoformat())
    tasks.dunning(date(2026, 2, 16).isoformat())
    assert len(mailoutbox) == 1
    assert services.dunning_emails_pending() == []


def test_a_step_that_changed_nothing_is_not_announced(quarterly, policy, mailoutbox):
    invoices_mark_overdue(day=date(2026, 2, 1))
    Subscription.objects.filter(pk=quarterly.subscription_id).update(status="ended")
    tasks.dunning(SUSPENSION_DAY.isoformat())
    assert DunningStep.objects.get().to_email is False and mailoutbox == []


def test_cancelling_a_held_subscription_releases_its_invoicing_to_end_it(quarterly, policy):
    policy.hold_invoicing = True
    policy.save()
    invoices_mark_overdue(day=date(2026, 2, 1))
    services.dunning_run(day=SUSPENSION_DAY)
    assert Subscription.objects.get(pk=quarterly.subscription_id).invoicing_held
    services.dunning_run(day=FINAL_DAY)
    subscription = Subscription.objects.get(pk=quarterly.subscription_id)
    assert subscription.status == "pending_cancellation"
    assert (subscription.invoicing_held, subscription.suspended_since) == (False, SUSPENSION_DAY)
