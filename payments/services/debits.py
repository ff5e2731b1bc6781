"""SEPA direct debit: the daily pain.008 batch, its submission, collection and returns
(R-transactions, by hand or from the bank's pain.002)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, Payment
from billing.services import PaymentBook, payment_failed_record, payment_reverse
from billing.services.closing import books_open_day, moved_note
from core.errors import ApplicationError
from core.pricing import ZERO
from payments import sepa
from payments.models import PaymentMethod, SepaBatch, SepaDebit


@dataclass(frozen=True)
class SepaReturn:
    """What a returned debit changed, for what comes next (dunning): the invoice, open again,
    and the reversal of its payment when the debit had been marked collected. The invoice is
    not debited again until a retry is set (sepa_debit_retry)."""

    debit: SepaDebit
    invoice: Invoice
    reversal: Payment | None
    reopened: bool


@dataclass(frozen=True)
class SepaReturnsImport:
    """A return file read: the debits marked returned, those it names that were already
    returned (the file imported twice), and the references it names that are not ours."""

    returned: list[SepaReturn] = field(default_factory=list)
    already_returned: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def sepa_creditor() -> sepa.Creditor:
    """The creditor written in every batch (settings, checked at start-up)."""
    return sepa.Creditor(
        name=settings.SEPA_CREDITOR_NAME,
        iban=settings.SEPA_CREDITOR_IBAN,
        bic=settings.SEPA_CREDITOR_BIC,
        identifier=settings.SEPA_CREDITOR_ID,
    )


def sepa_batch_create(*, day: date) -> SepaBatch | None:
    """The day's pain.008 batch (the daily job): every open invoice in euros of a customer whose
    default payment method is an active SEPA mandate, not being debited already, with something
    left to pay and due by the collection date, which is `day` + SEPA_PRENOTIFICATION_DAYS (so
    max(due date, day + the pre-notification days) for each). None when there is nothing to
    debit. Safe to run twice, and twice at once: the mandates and invoices taken are locked
    (skip locked: another run takes the others), and an invoice has one live debit (a database
    constraint). A message the ISO 20022 schema refuses is not written."""
    collection_date = day + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    creditor = sepa_creditor()
    with transaction.atomic():
        # Mandates first: a run in flight holds its customers' mandates, so that this one
        # leaves their invoices alone rather than read them before the other commits.
        mandates = {
            mandate.customer_id: mandate
            for mandate in PaymentMethod.objects.select_for_update(skip_locked=True)
            .filter(
                kind=PaymentMethod.Kind.SEPA_DEBIT,
                status=PaymentMethod.Status.ACTIVE,
                is_default=True,
                mandate_signed_on__lte=day,
            )
            .order_by("pk")
        }
        if not mandates:
            return None
        live = SepaDebit.objects.filter(invoice=OuterRef("pk"), status__in=SepaDebit.LIVE)
        # A returned debit is presented again only once a retry is set for it (the operator,
        # later dunning): never by itself the next morning.
        awaiting = SepaDebit.objects.filter(
            Q(retry_on__isnull=True) | Q(retry_on__gt=day),
            invoice=OuterRef("pk"),
            status=SepaDebit.Status.RETURNED,
        )
        invoices = [
            invoice
            for invoice in Invoice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                kind=Invoice.Kind.INVOICE,
                status__in=Invoice.OPEN_STATUSES,
                currency="EUR",  # SEPA debits euros only
                customer_id__in=list(mandates),
                due_date__lte=collection_date,
                issue_date__lte=day,
            )
            .exclude(Exists(live))
            .exclude(Exists(awaiting))
            .order_by("pk")
            if invoice.amount_paid.amount < invoice.total.amount
        ]
        if not invoices:
            return None
        attempts = dict(
            SepaDebit.objects.filter(invoice__in=invoices)
            .values("invoice_id")
            .annotate(n=Count("pk"))
            .values_list("invoice_id", "n")
        )
        debits: list[SepaDebit] = []
        lines: list[sepa.Debit] = []
        for invoice in invoices:
            mandate = mandates[invoice.customer_id]
            # A SEPA method has its mandate (check constraint payment_method_sepa_has_a_mandate).
            assert mandate.mandate_reference and mandate.mandate_signed_on
            debit = SepaDebit(
                invoice=invoice,
                mandate=mandate,
                currency=invoice.currency,
                amount=invoice.total.amount - invoice.amount_paid.amount,
                sequence_type=mandate.sequence_type,
                # The invoice's number, then which attempt: what the debtor's statement and
                # the bank's return file name.
                end_to_end_id=f"{invoice.number}-{attempts.get(invoice.pk, 0) + 1}",
            )
            with translation.override(invoice.language):
                description = _("Invoice %(number)s") % {"number": invoice.number}
            debits.append(debit)
            lines.append(
                sepa.Debit(
                    end_to_end_id=debit.end_to_end_id,
                    amount=debit.amount.amount,
                    sequence_type=debit.sequence_type,
                    collection_date=collection_date,
                    mandate_reference=mandate.mandate_reference,
                    mandate_signed_on=mandate.mandate_signed_on,
                    debtor_name=mandate.account_holder,
                    debtor_iban=mandate.iban,
                    debtor_bic=mandate.bic,
                    description=f"{description} — {creditor.name}",
                )
            )
        message_id, xml = sepa.pain008(creditor=creditor, debits=lines)
        errors = sepa.schema_errors(xml)
        if errors:
            raise ApplicationError(
                _("The pain.008 file would not be valid, so none was written: %(errors)s")
                % {"errors": "; ".join(errors[:3])}
            )
        batch = SepaBatch.objects.create(
            message_id=message_id,
            day=day,
            collection_date=collection_date,
            currency="EUR",
            total=sum((debit.amount.amount for debit in debits), ZERO),
            count=len(debits),
            xml=xml.decode(),
        )
        for debit in debits:
            debit.batch = batch
        SepaDebit.objects.bulk_create(debits)
        return batch


def sepa_batch_mark_submitted(
    *, batch: SepaBatch, actor: AbstractBaseUser | None = None
) -> SepaBatch:
    """The operator sent the batch's file to the bank: its debits can now be collected or
    come back."""
    with transaction.atomic():
        batch = SepaBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == SepaBatch.Status.CANCELLED:
            raise ApplicationError(
                _("The batch %(id)s was cancelled: its invoices are in a later batch.")
                % {"id": batch}
            )
        if batch.status != SepaBatch.Status.DRAFT:
            raise ApplicationError(
                _("The batch %(id)s was already submitted to the bank.") % {"id": batch}
            )
        batch.status = SepaBatch.Status.SUBMITTED
        batch.submitted_at = timezone.now()
        # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
        batch.submitted_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        batch.save(update_fields=["status", "submitted_at", "submitted_by"])
        return batch


def sepa_batch_cancel(*, batch: SepaBatch, actor: AbstractBaseUser | None = None) -> SepaBatch:
    """Cancel a draft batch, one not sent to the bank: its debits are cancelled with it, so that
    the next batch takes their invoices again (under new end-to-end ids). Refused once the batch
    was submitted: the bank has it, and each debit is then collected or comes back."""
    with transaction.atomic():
        batch = SepaBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == SepaBatch.Status.CANCELLED:
            raise ApplicationError(_("The batch %(id)s is already cancelled.") % {"id": batch})
        if batch.status == SepaBatch.Status.SUBMITTED:
            assert batch.submitted_at is not None  # set with the status
            raise ApplicationError(
                _(
                    "The batch %(id)s was submitted to the bank on %(date)s: it cannot be "
                    "cancelled any more. Ask the bank to recall it, then record each debit's "
                    "return."
                )
                % {"id": batch, "date": timezone.localdate(batch.submitted_at).isoformat()}
            )
        batch.status = SepaBatch.Status.CANCELLED
        batch.cancelled_at = timezone.now()
        batch.cancelled_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        batch.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        batch.debits.filter(status=SepaDebit.Status.SUBMITTED).update(
            status=SepaDebit.Status.CANCELLED
        )
        return batch


def sepa_debit_collect(
    *, debit: SepaDebit, today: date, actor: AbstractBaseUser | None = None
) -> SepaDebit:
    """The bank credited the debit: the payment is recorded on the invoice (method SEPA
    direct debit, received on the collection date, the end-to-end id as its reference), and
    the mandate's next debits are recurring (RCUR)."""
    with transaction.atomic():
        debit = (
            SepaDebit.objects.select_for_update()
            .select_related("batch")
            .defer("batch__xml")
            .get(pk=debit.pk)
        )
        refusal = debit_collect_refusal(debit, today)
        if refusal is not None:
            raise refusal
        debit.invoice = Invoice.objects.select_for_update().get(pk=debit.invoice_id)
        book = PaymentBook(actor=actor)
        debit_collect(book=book, debit=debit)
        book.write()
        debits_collected_write([debit])
        return debit


def debit_collect_refusal(debit: SepaDebit, today: date) -> ApplicationError | None:
    """Why `debit` (its batch read with it) cannot be marked collected on `today`, by hand or
    from the bank's statement; None when it can."""
    try:
        _refuse_unless_submitted(debit)
    except ApplicationError as error:
        return error
    collected_on = debit.batch.collection_date
    if today < collected_on:
        return ApplicationError(
            _("%(id)s is to be collected on %(date)s: it cannot have been collected yet.")
            % {"id": debit, "date": collected_on.isoformat()}
        )
    return None


def debit_collect(*, book: PaymentBook, debit: SepaDebit) -> None:
    """The debit's payment added to `book` (its invoice, locked, held by the book), the debit
    marked collected in memory: written by book.write(), then debits_collected_write."""
    collected_on = debit.batch.collection_date
    debit.payment = book.add(
        invoice=debit.invoice,
        amount=debit.amount.amount,
        method=Payment.Method.SEPA_DEBIT,
        # The bank's date, unless its month is closed: then the first open day (the debit
        # keeps its collection date; the reference stays its end-to-end id, which finds it).
        received_on=book.open_day(collected_on),
        reference=debit.end_to_end_id,
    )
    debit.status = SepaDebit.Status.COLLECTED
    debit.collected_on = collected_on


def debits_collected_write(debits: list[SepaDebit]) -> None:
    """Write debits marked collected (their payments written): a few queries whatever their
    number; the mandates collected for the first time are recurring (RCUR) from now on, with
    their history rows."""
    by_day: dict[date, list[SepaDebit]] = {}
    for debit in debits:
        assert debit.collected_on is not None and debit.payment is not None  # debit_collect
        by_day.setdefault(debit.collected_on, []).append(debit)
    for day, collected in by_day.items():
        SepaDebit.objects.filter(pk__in=[debit.pk for debit in collected]).update(
            status=SepaDebit.Status.COLLECTED,
            collected_on=day,
            # Each debit's own payment: its invoice's direct-debit payment referenced by its
            # end-to-end id (unique: one debit per id; a reversal's reference is its reason).
            payment=Subquery(
                Payment.objects.filter(
                    invoice_id=OuterRef("invoice_id"),
                    reference=OuterRef("end_to_end_id"),
                    method=Payment.Method.SEPA_DEBIT,
                    reverses__isnull=True,
                ).values("pk")[:1]
            ),
        )
        mandates = list(
            PaymentMethod.objects.select_for_update()
            .filter(
                pk__in={debit.mandate_id for debit in collected}, first_collected_on__isnull=True
            )
            .order_by("pk")
        )
        if mandates:
            PaymentMethod.objects.filter(pk__in=[m.pk for m in mandates]).update(
                first_collected_on=day
            )
            for mandate in mandates:
                mandate.first_collected_on = day
            # .update() writes no audit row: the mandates' history gets them here.
            PaymentMethod.history.bulk_history_create(mandates, update=True)


def sepa_debit_return(*, debit: SepaDebit, reason: str, day: date) -> SepaReturn:
    """The debit came back (an R-transaction, `reason` its code, e.g. MD01): recorded on the
    debit; a payment recorded when it was collected is reversed, so that the invoice is open
    again (overdue when its due date has passed). Returns what changed, for dunning."""
    if reason not in SepaDebit.ReturnReason.values:
        raise ApplicationError(
            _("Choose the reason the bank gave for the return (e.g. AM04, MD01)."), field="reason"
        )
    return _debit_return(debit=debit, reason=reason, day=day)


def sepa_debit_retry(*, debit: SepaDebit, day: date) -> SepaDebit:
    """Debit the invoice of a returned debit again: the first batch written on or after `day`
    takes it (a new debit, the next attempt). Refused when the reason says the mandate cannot
    be debited (account closed, no valid mandate…) or the invoice is no longer open."""
    with transaction.atomic():
        debit = SepaDebit.objects.select_for_update().select_related("invoice").get(pk=debit.pk)
        if debit.status != SepaDebit.Status.RETURNED:
            raise ApplicationError(
                _("Only a returned debit is debited again; %(id)s is %(status)s.")
                % {"id": debit, "status": debit.get_status_display()}
            )
        if debit.return_reason in SepaDebit.FINAL_REASONS:
            raise ApplicationError(
                _(
                    "%(id)s came back with %(reason)s: debiting this mandate again would fail "
                    "again. Ask the customer for a new mandate or another way to pay."
                )
                % {"id": debit, "reason": debit.get_return_reason_display()}
            )
        if debit.invoice.status not in Invoice.OPEN_STATUSES:
            raise ApplicationError(
                _("The invoice %(number)s is not open any more (%(status)s).")
                % {"number": debit.invoice, "status": debit.invoice.get_status_display()}
            )
        if (
            debit.invoice.sepa_debits.filter(pk__gt=debit.pk)
            .exclude(status=SepaDebit.Status.CANCELLED)
            .exists()
        ):
            raise ApplicationError(
                _("The invoice %(number)s was debited again after %(id)s.")
                % {"number": debit.invoice, "id": debit}
            )
        debit.retry_on = day
        debit.save(update_fields=["retry_on"])
        return debit


def _refuse_unless_submitted(debit: SepaDebit) -> None:
    if debit.batch.status == SepaBatch.Status.CANCELLED:
        raise ApplicationError(
            _(
                "The batch %(batch)s was cancelled before it reached the bank: %(id)s was never sent."
            )
            % {"batch": debit.batch, "id": debit}
        )
    if debit.batch.status != SepaBatch.Status.SUBMITTED:
        raise ApplicationError(
            _("The batch %(batch)s has not been submitted to the bank: mark it submitted first.")
            % {"batch": debit.batch}
        )
    if debit.status != SepaDebit.Status.SUBMITTED:
        raise ApplicationError(
            _("%(id)s is already %(status)s.") % {"id": debit, "status": debit.get_status_display()}
        )


def _debit_return(
    *, debit: SepaDebit, reason: str, day: date, from_bank: bool = False
) -> SepaReturn:
    """`from_bank`: learned from the bank's file, whose date may be in a month closed since —
    the reversal is then booked on the first open day (an operator's own date is refused)."""
    with transaction.atomic():
        debit = (
            SepaDebit.objects.select_for_update()
            .select_related("batch", "invoice")
            .defer("batch__xml")
            .get(pk=debit.pk)
        )
        if debit.batch.status != SepaBatch.Status.SUBMITTED:
            raise ApplicationError(
                _(
                    "The batch %(batch)s has not been submitted to the bank: mark it submitted "
                    "first."
                )
                % {"batch": debit.batch}
            )
        if debit.status == SepaDebit.Status.RETURNED:
            raise ApplicationError(
                _("%(id)s was already returned (%(reason)s).")
                % {"id": debit, "reason": debit.return_reason}
            )
        if day < debit.batch.day:
            raise ApplicationError(
                _("A debit cannot come back before its batch was written (%(date)s).")
                % {"date": debit.batch.day.isoformat()},
                field="day",
            )
        reversal = None
        # What the payer's email says (billing/documents.py): the reason in words, not a code.
        said = {"message": _return_text(reason, debit.invoice.language)}
        if debit.payment is not None:
            booked = books_open_day(day) if from_bank else day
            reversal = payment_reverse(
                payment=debit.payment,
                day=booked,
                reason=" ".join(
                    filter(None, (reason, debit.end_to_end_id, moved_note(day, booked)))
                ),
                details=said,
            )
        else:
            # Rejected before it was collected: no money moved, but the payment failed (the
            # webhook payment.failed, and dunning's retries count from it).
            payment_failed_record(
                invoice=debit.invoice,
                method=Payment.Method.SEPA_DEBIT,
                amount=debit.amount.amount,
                day=day,
                reason=f"{reason} {debit.end_to_end_id}",
                details={"debit": debit.end_to_end_id, **said},
            )
        debit.status = SepaDebit.Status.RETURNED
        debit.return_reason = reason
        debit.returned_on = day
        debit.save(update_fields=["status", "return_reason", "returned_on"])
        mandate = PaymentMethod.objects.select_for_update().get(pk=debit.mandate_id)
        if (
            mandate.first_collected_on is not None
            and not mandate.sepa_debits.filter(status=SepaDebit.Status.COLLECTED).exists()
        ):
            # Its only collection came back: the next debit is a first one again.
            mandate.first_collected_on = None
            mandate.save(update_fields=["first_collected_on"])
        if reason in SepaDebit.FINAL_REASONS and mandate.status == PaymentMethod.Status.ACTIVE:
            # No valid mandate, account closed…: debiting it again would fail again (and a
            # creditor may not). The next invoices wait for a new mandate or another method.
            mandate.status = PaymentMethod.Status.REVOKED
            mandate.is_default = False
            mandate.revoked_on = day
            mandate.save(update_fields=["status", "is_default", "revoked_on"])
        invoice = Invoice.objects.get(pk=debit.invoice_id)
        return SepaReturn(
            debit=debit,
            invoice=invoice,
            reversal=reversal,
            reopened=invoice.status in Invoice.OPEN_STATUSES,
        )


def _return_text(reason: str, language: str) -> str:
    """A return reason code as the payer reads it, in the invoice's language ("AM04 —
    provision insuffisante"); a code outside the list stays as the bank gave it."""
    if reason not in SepaDebit.ReturnReason.values:
        return reason
    with translation.override(language):
        return str(SepaDebit.ReturnReason(reason).label)


def sepa_returns_import(*, content: bytes, today: date) -> SepaReturnsImport:
    """Read the bank's returns — a pain.002 status report or a camt.054 debit notification,
    whichever the file is: each debit it rejects or returns is marked returned with its reason
    code (MS03, "not specified", when it gives none), found by its end-to-end id or else by its
    mandate and amount, all in one transaction — a refusal on one leaves every debit as it was.
    A file imported twice changes nothing more; references that are not ours are listed back,
    not written."""
    try:
        report = sepa.returns_report(content)
    except sepa.InvalidFile as error:
        raise ApplicationError(
            _(
                "This file cannot be read as a pain.002 payment status report or a camt.054 "
                "debit notification: %(error)s"
            )
            % {"error": error},
            field="file",
        ) from None
    with transaction.atomic():
        return sepa_returns_record(rejections=report.rejections, day=report.day, today=today)


def sepa_returns_record(
    *, rejections: list[sepa.Rejection], day: date | None, today: date
) -> SepaReturnsImport:
    """Record the returns a bank file names (inside the caller's transaction): `day` is the
    file's, for a return that has no booking date of its own."""
    result = SepaReturnsImport()
    for rejection in rejections:
        reason = rejection.reason.upper()
        if not (len(reason) == 4 and reason.isascii() and reason.isalnum()):
            reason = SepaDebit.ReturnReason.MS03
        returned_on = min(rejection.day or day or today, today)
        debits, label = _returned_debits(rejection)
        if not debits:
            result.unknown.append(label)
            continue
        for debit in debits:
            if debit.status == SepaDebit.Status.RETURNED:
                result.already_returned.append(debit.end_to_end_id)
                continue
            result.returned.append(
                _debit_return(debit=debit, reason=reason, day=returned_on, from_bank=True)
            )
    return result


def _returned_debits(rejection: sepa.Rejection) -> tuple[list[SepaDebit], str]:
    """The debits a return names, and how to name it back when none is ours."""
    if rejection.end_to_end_id:
        found = list(SepaDebit.objects.filter(end_to_end_id=rejection.end_to_end_id))
        return found, rejection.end_to_end_id
    if rejection.mandate_reference:
        # No end-to-end id (NOTPROVIDED): the mandate's debit of this amount at the bank —
        # one, or the file does not say which.
        label = _("mandate %(reference)s") % {"reference": rejection.mandate_reference}
        if rejection.amount is not None:
            label += f" ({rejection.amount})"
        candidates = SepaDebit.objects.filter(
            mandate__mandate_reference=rejection.mandate_reference,
            batch__status=SepaBatch.Status.SUBMITTED,
            status__in=SepaDebit.LIVE,
        )
        if rejection.amount is not None:
            candidates = candidates.filter(amount=rejection.amount)
        found = list(candidates[:2])
        if len(found) == 1:
            return found, label
        if not found and rejection.amount is not None:
            # The file imported again: its debit was returned by the first import.
            already = list(
                SepaDebit.objects.filter(
                    mandate__mandate_reference=rejection.mandate_reference,
                    status=SepaDebit.Status.RETURNED,
                    amount=rejection.amount,
                )[:2]
            )
            if len(already) == 1:
                return already, label
        return [], label
    # The whole message
    return list(SepaDebit.objects.filter(batch__message_id=rejection.message_id)), (
        rejection.message_id
    )
