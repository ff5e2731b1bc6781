"""Payments recorded by operators, overdue invoices and their reminders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEvent, InvoiceReminder, Payment, PaymentFailedEmail
from billing.services import chunk_io
from billing.services.closing import OpenBooks, books_open, books_refuse_closed
from billing.services.emails import send_pending_emails
from core.errors import ApplicationError
from core.money import amount_entered, money_text
from core.pricing import round_money
from subscriptions.models import Subscription
from subscriptions.services import subscription_reactivate


def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal | str,
    method: str,
    received_on: date,
    reference: str = "",
    actor: AbstractBaseUser | None = None,
) -> Payment:
    """Record money received against an invoice; when it is paid in full it becomes paid."""
    entered = amount_entered(amount)
    if entered is None:
        raise ApplicationError(_("Enter the amount received, e.g. 129.60."), field="amount")
    amount = entered
    if method not in Payment.Method.values or method == Payment.Method.CUSTOMER_CREDIT:
        # Customer credit is spent by the credit ledger (payments.services), never typed in.
        raise ApplicationError(_("Choose how the money was received."), field="method")
    return _payment_add(
        invoice=invoice,
        amount=amount,
        method=method,
        received_on=received_on,
        reference=reference,
        actor=actor,
    )


def payment_from_credit(*, invoice: Invoice, amount: Decimal, day: date) -> Payment:
    """Pay (part of) an invoice with customer credit; the caller writes the ledger entry that
    spends it, in the same transaction."""
    return _payment_add(
        invoice=invoice,
        amount=amount,
        method=Payment.Method.CUSTOMER_CREDIT,
        received_on=day,
        reference="",
        actor=None,
    )


def _payment_add(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_on: date,
    reference: str,
    actor: AbstractBaseUser | None,
) -> Payment:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        refusal = _payment_refusal(invoice, amount, received_on)
        if refusal is not None:
            raise refusal
        payment = _payment_row(invoice, amount, method, received_on, reference, actor)
        payment.save()
        # One by one, as payments_record_many writes them in bulk (a test compares the rows).
        for event in _payment_settles(invoice, payment):
            event.save()
        invoice.save(update_fields=SETTLED_FIELDS)
        if invoice.status == Invoice.Status.PAID:
            suspension_lift(invoice=invoice, day=received_on)
        return payment


# What recording a payment changes on its invoice.
SETTLED_FIELDS = ["amount_paid", "status", "paid_on"]


def _payment_refusal(
    invoice: Invoice, amount: Decimal, received_on: date, books: OpenBooks | None = None
) -> ApplicationError | None:
    """Why `invoice`, as it stands, cannot receive `amount` received on `received_on` (None
    when it can): the rules of a payment, whichever way it is recorded."""
    if invoice.kind != Invoice.Kind.INVOICE:
        return ApplicationError(_("Payments are recorded on invoices, not on credit notes."))
    if invoice.status not in Invoice.PAYABLE_STATUSES:
        return ApplicationError(
            _("The invoice %(number)s cannot receive a payment (status: %(status)s).")
            % {"number": invoice, "status": invoice.get_status_display()}
        )
    if amount <= 0 or amount != round_money(amount, invoice.currency):
        return ApplicationError(
            _("A payment is a positive amount in %(currency)s, to the cent.")
            % {"currency": invoice.currency},
            field="amount",
        )
    balance = invoice.total.amount - invoice.amount_paid.amount
    if amount > balance:
        return ApplicationError(
            _("%(number)s has %(balance)s left to pay; %(amount)s is more than that.")
            % {
                "number": invoice.number,
                "balance": money_text(balance, invoice.currency),
                "amount": money_text(amount, invoice.currency, with_currency=False),
            },
            field="amount",
        )
    # An open invoice is issued: it has its date (check constraint
    # invoice_number_only_when_issued).
    assert invoice.issue_date is not None
    if received_on < invoice.issue_date:
        return ApplicationError(
            _("The money cannot have been received before the invoice was issued (%(date)s).")
            % {"date": invoice.issue_date.isoformat()},
            field="received_on",
        )
    # Last: it takes the close's lock (billing/services/closing.py), held to the commit.
    return (books or books_open()).refusal(received_on, field="received_on")


def _payment_row(
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_on: date,
    reference: str,
    actor: AbstractBaseUser | None,
) -> Payment:
    return Payment(
        invoice=invoice,
        currency=invoice.currency,
        amount=amount,
        method=method,
        received_on=received_on,
        reference=reference[:100],
        # django-stubs names the user AbstractBaseUser (its _User) everywhere but in a foreign
        # key to AUTH_USER_MODEL, which it types as the concrete User: the same object.
        recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
    )


def _payment_settles(invoice: Invoice, payment: Payment) -> list[InvoiceEvent]:
    """The payment (saved: its id is in the event) counts on its invoice, in memory: its
    amount paid, and paid once in full. Returns the invoice's events, to be written in order."""
    events = []
    if payment.method != Payment.Method.CUSTOMER_CREDIT:
        # Money came in (customer credit is money already held: its ledger says it).
        events.append(
            InvoiceEvent(
                invoice=invoice,
                kind=InvoiceEvent.Kind.PAYMENT_SUCCEEDED,
                day=payment.received_on,
                data=_payment_data(payment),
            )
        )
    invoice.amount_paid = invoice.amount_paid.amount + payment.amount.amount
    if invoice.amount_paid.amount >= invoice.total.amount:
        invoice.status = Invoice.Status.PAID
        invoice.paid_on = payment.received_on
        events.append(
            InvoiceEvent(invoice=invoice, kind=InvoiceEvent.Kind.PAID, day=payment.received_on)
        )
    return events


@dataclass(frozen=True)
class PaymentToRecord:
    """One payment for payments_record_many: what payment_record takes, the invoice by id."""

    invoice_id: int
    amount: Decimal
    method: str
    received_on: date
    reference: str = ""


class PaymentBook:
    """Payments recorded against invoices the caller holds locked (select_for_update), checked
    one after the other by the rules of payment_record — a second payment of one invoice sees
    the first — and written together by `write()`: the payments, their invoice events and the
    invoices, a fixed number of queries whatever their number (COPY and one UPDATE on PostgreSQL).

    `add` changes the invoice objects it is given in memory, as the one-by-one path changes
    them in the database: the caller reads their balance and status from them."""

    def __init__(self, *, actor: AbstractBaseUser | None = None) -> None:
        self.actor = actor
        self._payments: list[tuple[Payment, list[InvoiceEvent]]] = []
        self._invoices: dict[int, Invoice] = {}
        self._books: OpenBooks | None = None

    def books(self) -> OpenBooks:
        """The monthly close as this book's transaction sees it: read once, under its lock."""
        if self._books is None:
            self._books = books_open()
        return self._books

    def open_day(self, day: date) -> date:
        """The day a payment the bank made on `day` is booked (closing.OpenBooks.open_day)."""
        return self.books().open_day(day)

    def refusal(
        self, *, invoice: Invoice, amount: Decimal, received_on: date
    ) -> ApplicationError | None:
        """Why `add` would refuse this payment now (None: it would record it)."""
        return _payment_refusal(invoice, amount, received_on, self.books())

    def add(
        self,
        *,
        invoice: Invoice,
        amount: Decimal | str,
        method: str,
        received_on: date,
        reference: str = "",
    ) -> Payment:
        """A payment of `invoice` (locked by the caller), not written yet; an ApplicationError,
        which changes nothing, when payment_record would refuse it."""
        entered = amount_entered(amount)
        if entered is None:
            raise ApplicationError(_("Enter the amount received, e.g. 129.60."), field="amount")
        if method not in Payment.Method.values or method == Payment.Method.CUSTOMER_CREDIT:
            raise ApplicationError(_("Choose how the money was received."), field="method")
        held = self._invoices.setdefault(invoice.pk, invoice)
        if held is not invoice:
            raise ValueError(f"two objects of the invoice {invoice.pk} in one book")
        refusal = _payment_refusal(invoice, entered, received_on, self.books())
        if refusal is not None:
            raise refusal
        payment = _payment_row(invoice, entered, method, received_on, reference, self.actor)
        # Counted on the invoice now (amount paid, status), so that the next payment sees it.
        self._payments.append((payment, _payment_settles(invoice, payment)))
        return payment

    def write(self) -> list[Payment]:
        """Write what was added (inside the caller's transaction); returns the payments, with
        their ids."""
        added, self._payments = self._payments, []
        payments = [payment for payment, _events in added]
        if not payments:
            return payments
        # COPY on PostgreSQL (chunk_io, the bulk tools' door; Payment is in its audit).
        chunk_io.insert_rows(payments)
        events: list[InvoiceEvent] = []
        for payment, its_events in added:
            for event in its_events:
                if event.kind == InvoiceEvent.Kind.PAYMENT_SUCCEEDED:
                    event.data = _payment_data(payment)  # now with the payment's id
                events.append(event)
        chunk_io.insert_rows(events, ids=False)
        invoices = list({payment.invoice_id: payment.invoice for payment in payments}.values())
        # One UPDATE … FROM unnest() per thousands of invoices (Django's bulk_update writes a
        # CASE per row and field: seconds for a statement's worth of invoices).
        chunk_io.update_rows(invoices, SETTLED_FIELDS)
        _lift_suspensions([i for i in invoices if i.status == Invoice.Status.PAID])
        return payments


def _lift_suspensions(paid: list[Invoice]) -> None:
    """suspension_lift for the invoices just paid whose subscription is suspended: one query
    to find them (rarely any), then each lifted as one payment would."""
    ids = {invoice.subscription_id for invoice in paid if invoice.subscription_id}
    if not ids:
        return
    suspended = set(
        Subscription.objects.filter(pk__in=ids, suspended_since__isnull=False).values_list(
            "pk", flat=True
        )
    )
    for invoice in paid:
        if invoice.subscription_id in suspended and invoice.paid_on is not None:
            suspension_lift(invoice=invoice, day=invoice.paid_on)


def payments_record_many(
    *, payments: Sequence[PaymentToRecord], actor: AbstractBaseUser | None = None
) -> list[Payment | ApplicationError]:
    """Record many payments at once, with the rules, rows and events of payment_record taking
    them one by one in this order: for each, its Payment or the ApplicationError that refused
    it (a refused one changes nothing; the others are recorded). The invoices are locked in
    one query and everything is written in a fixed number of queries (PaymentBook)."""
    with transaction.atomic():
        invoices = Invoice.objects.select_for_update().in_bulk(
            sorted({payment.invoice_id for payment in payments})
        )
        book = PaymentBook(actor=actor)
        results: list[Payment | ApplicationError] = []
        for item in payments:
            invoice = invoices.get(item.invoice_id)
            if invoice is None:
                results.append(ApplicationError(_("This invoice does not exist.")))
                continue
            try:
                results.append(
                    book.add(
                        invoice=invoice,
                        amount=item.amount,
                        method=item.method,
                        received_on=item.received_on,
                        reference=item.reference,
                    )
                )
            except ApplicationError as error:
                results.append(error)
        book.write()
        return results


def payment_reverse(
    *, payment: Payment, day: date, reason: str, details: dict[str, str] | None = None
) -> Payment:
    """The money of `payment` came back (a returned direct debit): a reversal row of the same
    amount, negative, dated `day`; the invoice owes it again, open once more (overdue if its due
    date has passed). Returns the reversal. The payment itself is kept as it was recorded.
    `details` join the failure's event (`message`: the reason in words, for the payer's email)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        if payment.reverses_id is not None or payment.amount.amount <= 0:
            raise ApplicationError(_("A reversal cannot be reversed."))
        if Payment.objects.filter(reverses=payment).exists():
            raise ApplicationError(
                _("This payment of %(amount)s was already reversed.")
                % {"amount": money_text(payment.amount.amount, payment.currency)}
            )
        if day < payment.received_on:
            raise ApplicationError(
                _("The money cannot have come back before it was received (%(date)s).")
                % {"date": payment.received_on.isoformat()},
                field="day",
            )
        books_refuse_closed(day, field="day")
        if invoice.status == Invoice.Status.CANCELLED:
            # Its credit note settled it: what came back is owed by nobody on this invoice.
            raise ApplicationError(
                _(
                    "The invoice %(number)s was cancelled by a credit note: settle the money with "
                    "the customer outside it."
                )
                % {"number": invoice}
            )
        reversal = Payment.objects.create(
            invoice=invoice,
            currency=payment.currency,
            amount=-payment.amount.amount,
            method=payment.method,
            received_on=day,
            reference=(reason or payment.reference)[:100],
            reverses=payment,
        )
        _tell_payer(
            InvoiceEvent.objects.create(
                invoice=invoice,
                kind=InvoiceEvent.Kind.PAYMENT_FAILED,
                day=day,
                data={
                    **_payment_data(reversal),
                    "reverses": payment.pk,
                    "reason": reason,
                    **(details or {}),
                },
            )
        )
        invoice.amount_paid = invoice.amount_paid.amount - payment.amount.amount
        fields = ["amount_paid"]
        if invoice.status == Invoice.Status.PAID:
            late = invoice.due_date is not None and invoice.due_date < day
            invoice.status = Invoice.Status.OVERDUE if late else Invoice.Status.ISSUED
            invoice.paid_on = None
            fields += ["status", "paid_on"]
            if invoice.status == Invoice.Status.OVERDUE:
                InvoiceEvent.objects.create(
                    invoice=invoice, kind=InvoiceEvent.Kind.OVERDUE, day=day
                )
        invoice.save(update_fields=fields)
        return reversal


def payment_failed_record(
    *,
    invoice: Invoice,
    method: str,
    amount: Decimal,
    day: date,
    reason: str,
    details: dict[str, str | int] | None = None,
) -> InvoiceEvent:
    """A payment attempt that brought no money (a declined card, a debit the bank refused before
    it was collected): the invoice's history and the payment.failed webhook say so, for dunning
    to act on, and the party billed is emailed. The invoice itself is unchanged."""
    event = InvoiceEvent.objects.create(
        invoice=invoice,
        kind=InvoiceEvent.Kind.PAYMENT_FAILED,
        day=day,
        data={
            "method": method,
            "amount": str(round_money(amount, invoice.currency)),
            "currency": invoice.currency,
            "reason": reason,
            **(details or {}),
        },
    )
    _tell_payer(event)
    return event


def _tell_payer(event: InvoiceEvent) -> None:
    """The "your payment failed" email, in the outbox of the failure's transaction; asked for
    once it commits (the beat job sends it anyway: a dead broker only delays it)."""
    if not settings.INVOICE_EMAILS:
        return
    PaymentFailedEmail.objects.create(event=event)
    transaction.on_commit(send_pending_emails)


def _payment_data(payment: Payment) -> dict:
    return {
        "payment": payment.pk,
        "amount": str(round_money(payment.amount.amount, payment.currency)),
        "currency": payment.currency,
        "method": payment.method,
        "reference": payment.reference,
    }


def invoice_write_off(*, invoice: Invoice, day: date, reason: str) -> Invoice:
    """Dunning gives up on an open invoice: written off ("uncollectible"), no more reminders,
    retries or debits; still owed, so a payment that comes anyway is taken and settles it."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATUSES:
            raise ApplicationError(
                _("Only an unpaid invoice can be written off; %(number)s is %(status)s.")
                % {"number": invoice, "status": invoice.get_status_display()}
            )
        invoice.status = Invoice.Status.UNCOLLECTIBLE
        invoice.save(update_fields=["status"])
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.WRITTEN_OFF,
            day=day,
            data={
                "reason": reason,
                "balance": str(round_money(invoice.balance.amount, invoice.currency)),
            },
        )
        return invoice


def suspension_lift(*, invoice: Invoice, day: date) -> Subscription | None:
    """Paying (or cancelling) the invoice a suspension waits for lifts it at once: the
    subscription it bills is reactivated when no invoice of it that was overdue on the day it
    was suspended is still unpaid. Invoices that fell due later do not hold it: dunning
    suspends again if one of them reaches its day. Returns the subscription reactivated."""
    if invoice.subscription_id is None:
        return None
    subscription = Subscription.objects.filter(
        pk=invoice.subscription_id, suspended_since__isnull=False
    ).first()
    if subscription is None:
        return None
    assert subscription.suspended_since is not None  # filtered above
    still_unpaid = Invoice.objects.filter(
        subscription_id=subscription.pk,
        kind=Invoice.Kind.INVOICE,
        status__in=(Invoice.Status.OVERDUE, Invoice.Status.UNCOLLECTIBLE),
        due_date__lt=subscription.suspended_since,
    ).exists()
    if still_unpaid:
        return None
    subscription_reactivate(
        subscription=subscription,
        day=day,
        reason=_("Invoice %(number)s settled") % {"number": invoice.number},
    )
    return subscription


def reminder_levels() -> list[int]:
    """Days after the due date on which reminders go out (level 1, 2, 3…)."""
    return list(settings.OVERDUE_REMINDER_DAYS)


def invoices_mark_overdue(*, day: date) -> tuple[int, list[int]]:
    """Issued invoices past their due date become overdue; each reminder level due by `day` is
    recorded once and returned (reminder ids) for emailing. Safe to run twice."""
    with transaction.atomic():
        late = list(
            Invoice.objects.select_for_update(skip_locked=True)
            .filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, due_date__lt=day)
            .values_list("pk", flat=True)
        )
        overdue = Invoice.objects.filter(pk__in=late, status=Invoice.Status.ISSUED).update(
            status=Invoice.Status.OVERDUE
        )
        InvoiceEvent.objects.bulk_create(
            [InvoiceEvent(invoice_id=pk, kind=InvoiceEvent.Kind.OVERDUE, day=day) for pk in late],
            batch_size=1000,
        )
    reminders: list[int] = []
    levels = reminder_levels()
    if not levels:
        return overdue, reminders
    candidates = (
        Invoice.objects.filter(
            status=Invoice.Status.OVERDUE, due_date__lte=day - timedelta(days=levels[0])
        )
        .annotate(last_level=Max("reminders__level"))
        .values_list("pk", "due_date", "last_level")
    )
    for invoice_id, due_date, last_level in candidates.iterator(chunk_size=1000):
        assert due_date is not None  # filtered on due_date__lte above
        days_late = (day - due_date).days
        # The highest level reached: a late catch-up sends one reminder, not all of them.
        level = max(index for index, offset in enumerate(levels, start=1) if offset <= days_late)
        if last_level is not None and level <= last_level:
            continue
        reminder, created = InvoiceReminder.objects.get_or_create(
            invoice_id=invoice_id, level=level, defaults={"sent_on": day}
        )
        if created:
            reminders.append(reminder.pk)
    return overdue, reminders
