"""Bank statements (camt.053): incoming transfers matched to invoices by their structured
reference, then by amount and customer; the rest waits in a queue for the operator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from billing.models import Invoice, Payment
from billing.services import PaymentBook
from billing.services.closing import moved_note
from core.errors import ApplicationError
from core.pricing import round_money
from core.remittance import (
    key_from_creditor_reference,
    keys_in_text,
    number_from_key,
    reference_key,
)
from payments import sepa
from payments.camt import ParsedEntry, ParsedStatement, check_size, parse_statement
from payments.models import (
    BankStatement,
    BankStatementEntry,
    CreditEntry,
    PaymentMethod,
    SepaBatch,
    SepaDebit,
)
from payments.services.debits import (
    debit_collect,
    debit_collect_refusal,
    debits_collected_write,
    sepa_returns_record,
)
from subscriptions.models import Customer


def statement_import(*, file: File, actor: AbstractBaseUser | None, day: date) -> BankStatement:
    """Import a camt.053 statement in one transaction: each incoming transfer (CRDT) is matched
    to an open invoice, by the structured RF reference or the invoice number in its free text,
    then by its exact amount and its customer (the debtor's IBAN is one of the customer's
    mandates', or the debtor's name is the customer's, and exactly one open invoice has that
    balance); it becomes the invoice's bank-transfer payment, any surplus the customer's credit.
    What does not match waits in the unmatched queue; debits are ignored. A file already
    imported, not camt.053, or in a currency Cadence does not invoice in is refused whole."""
    # Said before an oversized upload is read into memory.
    check_size(getattr(file, "size", 0) or 0)
    parsed = parse_statement(file.read())
    _check_statement(parsed, day)
    with transaction.atomic():
        earlier = (
            BankStatement.objects.filter(file_hash=parsed.file_hash).first()
            or BankStatement.objects.filter(
                account_iban=parsed.account_iban, statement_id=parsed.statement_id
            ).first()
        )
        if earlier is not None:
            raise ApplicationError(_already_imported(earlier), field="file")
        try:
            with transaction.atomic():
                statement = BankStatement.objects.create(
                    file_name=(getattr(file, "name", "") or "")[:255],
                    file_hash=parsed.file_hash,
                    message_id=parsed.message_id,
                    statement_id=parsed.statement_id,
                    account_iban=parsed.account_iban,
                    currency=parsed.currency,
                    period_start=parsed.period_start,
                    period_end=parsed.period_end,
                    # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
                    imported_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
                )
        except IntegrityError:
            # The same file uploaded twice at once: the second waits for the first, then is
            # refused by the unique constraints.
            raise ApplicationError(_("This file was already imported."), field="file") from None
        _Matcher(statement, parsed, actor, day).run()
        return statement


def _check_statement(parsed: ParsedStatement, day: date) -> None:
    currencies = list(settings.CURRENCIES)
    if parsed.currency not in currencies:
        raise ApplicationError(
            _("This statement is in %(currency)s; Cadence invoices in %(currencies)s.")
            % {"currency": parsed.currency or "?", "currencies": ", ".join(currencies)},
            field="file",
        )
    for entry in parsed.entries:
        if entry.currency != parsed.currency:
            raise ApplicationError(
                _("Entry %(position)s is in %(found)s, the account in %(currency)s.")
                % {
                    "position": entry.position,
                    "found": entry.currency or "?",
                    "currency": parsed.currency,
                },
                field="file",
            )
        if entry.amount != round_money(entry.amount, parsed.currency):
            raise ApplicationError(
                _("Entry %(position)s has an amount finer than the cent: %(amount)s.")
                % {"position": entry.position, "amount": entry.amount},
                field="file",
            )
        if entry.booking_date > day:
            raise ApplicationError(
                _("Entry %(position)s is booked on %(date)s, after today: check the file.")
                % {"position": entry.position, "date": entry.booking_date.isoformat()},
                field="file",
            )


def _already_imported(earlier: BankStatement) -> str:
    return _(
        "This statement was already imported on %(date)s (statement %(statement)s of "
        "%(account)s): its transfers are recorded once."
    ) % {
        "date": earlier.imported_at.date().isoformat(),
        "statement": earlier.statement_id,
        "account": str(earlier),
    }


def _customer_name(name: str) -> str:
    return " ".join(name.split()).lower()


class _Matcher:
    """The matching of one statement: the invoices it may pay are read and locked in a few
    queries for the whole file, then each credit is settled in order (a second transfer for the
    same invoice sees what the first one paid)."""

    def __init__(
        self,
        statement: BankStatement,
        parsed: ParsedStatement,
        actor: AbstractBaseUser | None,
        day: date,
    ) -> None:
        self.statement = statement
        self.parsed = parsed
        self.actor = actor
        self.day = day
        self.credits = [
            entry for entry in parsed.entries if entry.direction == "CRDT" and entry.booked
        ]

    def run(self) -> None:
        seen = self._already_imported_references()
        keys = {id(entry): self._keys(entry) for entry in self.credits}
        numbers = {number_from_key(key) for found in keys.values() for key in found} - {""}
        invoices: dict[int, Invoice] = {}
        by_number: dict[str, int] = {}
        for invoice in self._locked(Invoice.objects.filter(number__in=numbers)):
            invoices[invoice.pk] = invoice
            by_number[invoice.number or ""] = invoice.pk
        by_customer = self._open_invoices_by_customer(invoices)
        debits, groups = self._our_debits(invoices)
        collected: list[SepaDebit] = []
        returns: list[tuple[BankStatementEntry, SepaDebit, str]] = []
        # Every payment of the file is checked in order as payment_record would, and written
        # at the end in a few queries (a statement is thousands of transfers).
        book = PaymentBook(actor=self.actor)
        credits: list[CreditEntry] = []
        rows = []
        for entry in self.parsed.entries:
            row = BankStatementEntry(
                statement=self.statement,
                position=entry.position,
                booking_date=entry.booking_date,
                currency=entry.currency,
                amount=entry.amount,
                direction=entry.direction,
                bank_reference=entry.bank_reference,
                structured_reference=entry.structured_reference,
                remittance_information=entry.remittance_information,
                debtor_name=entry.debtor_name,
                debtor_iban=entry.debtor_iban,
                status=BankStatementEntry.Status.UNMATCHED,
            )
            rows.append(row)
            if entry.direction != "CRDT":
                row.status = BankStatementEntry.Status.IGNORED
                row.note = _("A debit: only incoming transfers pay invoices.")
                returned = [debits[e2e] for e2e in entry.end_to_end_ids if e2e in debits]
                if entry.booked and entry.return_reason and len(returned) == 1:
                    # One of our direct debits came back: recorded once the payments are.
                    returns.append((row, returned[0], entry.return_reason))
                continue
            if not entry.booked:
                row.status = BankStatementEntry.Status.IGNORED
                row.note = _("Not booked by the bank (pending): it is in a later statement.")
                continue
            if entry.bank_reference and entry.bank_reference in seen:
                row.status = BankStatementEntry.Status.IGNORED
                row.note = _("Already imported with an earlier statement of this account.")
                continue
            if self._collects(row, entry, debits, groups, book, collected):
                continue
            target, how = self._by_reference(entry, keys[id(entry)], by_number, invoices)
            if target is None:
                target, how = self._by_amount_and_customer(entry, by_customer, invoices)
            if target is None:
                row.note = how
                continue
            try:
                payment, credit = _settle(
                    book=book,
                    invoice=target,
                    amount=entry.amount,
                    currency=entry.currency,
                    booked_on=entry.booking_date,
                    reference=entry.bank_reference,
                )
            except ApplicationError as error:
                row.invoice = target
                row.note = error.message[:300]
                continue
            if credit is not None:
                credits.append(credit)
            row.status = BankStatementEntry.Status.MATCHED
            row.invoice, row.payment, row.credit, row.note = target, payment, credit, how[:300]
        # The payments (and their invoices' events and balances), then what points at them.
        book.write()
        debits_collected_write(collected)
        CreditEntry.objects.bulk_create(credits, batch_size=2000)
        for row, debit, reason in returns:
            self._return(row, debit, reason)
        BankStatementEntry.objects.bulk_create(rows, batch_size=2000)

    def _our_debits(
        self, invoices: dict[int, Invoice]
    ) -> tuple[dict[str, SepaDebit], dict[str, tuple[SepaBatch, list[str]]]]:
        """Our SEPA direct debits the statement names, by end-to-end id, locked with their
        invoices; and the batches (by message id and payment information id) a credit may book
        as one amount, with the end-to-end ids each holds."""
        entries = [entry for entry in self.parsed.entries if entry.booked]
        e2e_ids = {e2e for entry in entries for e2e in entry.end_to_end_ids}
        batch_ids = {
            ref for entry in entries if entry.direction == "CRDT" for ref in entry.batch_ids
        }
        groups: dict[str, tuple[SepaBatch, list[str]]] = {}
        if batch_ids:
            # The batches at the bank whose debits are not all settled: a few, whatever the
            # statement's size; their payment information ids are in the files we wrote.
            to_collect = SepaDebit.objects.filter(
                batch=OuterRef("pk"), status=SepaDebit.Status.SUBMITTED
            )
            batches = SepaBatch.objects.filter(
                Q(message_id__in=batch_ids)
                | Q(Exists(to_collect), status=SepaBatch.Status.SUBMITTED)
            )
            for batch in batches:
                blocks = sepa.payment_groups(batch.xml)
                groups[batch.message_id] = (batch, [e for ids in blocks.values() for e in ids])
                for info_id, ids in blocks.items():
                    groups[info_id] = (batch, ids)
            groups = {ref: group for ref, group in groups.items() if ref in batch_ids}
            e2e_ids |= {e2e for _batch, ids in groups.values() for e2e in ids}
        if not e2e_ids:
            return {}, groups
        debits = {
            debit.end_to_end_id: debit
            for debit in SepaDebit.objects.select_for_update()
            .filter(end_to_end_id__in=e2e_ids)
            .order_by("pk")
        }
        # One object per batch, without its file: a batch of 10,000 debits is megabytes of XML.
        their_batches = SepaBatch.objects.defer("xml").in_bulk(
            {debit.batch_id for debit in debits.values()}
        )
        for debit in debits.values():
            debit.batch = their_batches[debit.batch_id]
        for invoice in self._locked(
            Invoice.objects.filter(pk__in={debit.invoice_id for debit in debits.values()})
        ):
            invoices.setdefault(invoice.pk, invoice)
        for debit in debits.values():
            debit.invoice = invoices[debit.invoice_id]
        return debits, groups

    def _collects(
        self,
        row: BankStatementEntry,
        entry: ParsedEntry,
        debits: dict[str, SepaDebit],
        groups: dict[str, tuple[SepaBatch, list[str]]],
        book: PaymentBook,
        collected: list[SepaDebit],
    ) -> bool:
        """When the credit is the collection of our direct debits — debit by debit (their
        end-to-end ids) or a batch booked as one amount (its message or payment information
        id) — they are collected, as sepa_debit_collect would: True. False when the credit is
        not ours (an ordinary transfer)."""
        batch = None
        ours = [debits[e2e] for e2e in entry.end_to_end_ids if e2e in debits]
        if not ours:
            ref = next((ref for ref in entry.batch_ids if ref in groups), None)
            if ref is None:
                return False
            batch, ids = groups[ref]
            ours = [debits[e2e] for e2e in ids if e2e in debits]
        elif len({debit.batch_id for debit in ours}) == 1:
            batch = ours[0].batch
        label = str(batch) if batch is not None else ", ".join(d.end_to_end_id for d in ours)
        row.sepa_batch = batch
        pending = [debit for debit in ours if debit.status == SepaDebit.Status.SUBMITTED]
        if not pending:
            row.status = BankStatementEntry.Status.IGNORED
            row.note = (
                _("The SEPA debits of %(batch)s this credit collects were already settled.")
                % {"batch": label}
            )[:300]
            return True
        expected = sum((debit.amount.amount for debit in pending), Decimal(0))
        if expected != entry.amount:
            row.note = (
                _(
                    "This credit of %(amount)s collects SEPA debits of %(batch)s, whose debits to "
                    "collect come to %(expected)s: check with the bank which were paid."
                )
                % {"amount": entry.amount, "batch": label, "expected": expected}
            )[:300]
            return True
        for debit in pending:
            refusal = debit_collect_refusal(debit, self.day) or book.refusal(
                invoice=debit.invoice,
                amount=debit.amount.amount,
                received_on=book.open_day(debit.batch.collection_date),
            )
            if refusal is not None:
                row.note = refusal.message[:300]
                return True
        for debit in pending:
            debit_collect(book=book, debit=debit)
            collected.append(debit)
        row.status = BankStatementEntry.Status.COLLECTED
        if len(pending) == 1:
            row.sepa_debit = pending[0]
            row.invoice = pending[0].invoice
        row.note = (
            _("Collected %(count)s SEPA debit(s) of %(batch)s; their invoices are paid.")
            % {"count": len(pending), "batch": label}
        )[:300]
        return True

    def _return(self, row: BankStatementEntry, debit: SepaDebit, reason: str) -> None:
        """A debit entry that is one of our direct debits coming back (an R-transaction):
        recorded as a return file would record it."""
        reason = reason.upper()
        if reason not in SepaDebit.ReturnReason.values:
            reason = SepaDebit.ReturnReason.MS03
        try:
            result = sepa_returns_record(
                rejections=[
                    sepa.Rejection(
                        message_id="",
                        end_to_end_id=debit.end_to_end_id,
                        reason=reason,
                        day=row.booking_date,
                    )
                ],
                day=row.booking_date,
                today=self.day,
            )
        except ApplicationError as error:
            row.note = error.message[:300]
            return
        if not result.returned:
            row.note = (_("%(id)s was already returned.") % {"id": debit})[:300]
            return
        debit = result.returned[0].debit
        row.status = BankStatementEntry.Status.RETURNED
        row.sepa_debit = debit
        row.invoice_id = debit.invoice_id
        row.note = (
            _("Our direct debit %(id)s came back (%(reason)s): its invoice is open again.")
            % {"id": debit, "reason": debit.get_return_reason_display()}
        )[:300]

    def _locked(self, invoices) -> list[Invoice]:
        return list(
            invoices.filter(kind=Invoice.Kind.INVOICE)
            .select_for_update(of=("self",))
            .order_by("pk")
        )

    def _already_imported_references(self) -> set[str]:
        references = {entry.bank_reference for entry in self.credits if entry.bank_reference}
        return set(
            BankStatementEntry.objects.filter(
                statement__account_iban=self.parsed.account_iban,
                bank_reference__in=references,
            )
            .exclude(statement=self.statement)
            .values_list("bank_reference", flat=True)
        )

    @staticmethod
    def _keys(entry: ParsedEntry) -> list[str]:
        keys = []
        if entry.structured_reference:
            keys.append(
                key_from_creditor_reference(entry.structured_reference)
                or reference_key(entry.structured_reference)
            )
        keys += keys_in_text(entry.remittance_information)
        return [key for key in keys if key]

    def _open_invoices_by_customer(self, invoices: dict[int, Invoice]) -> dict[int, list[int]]:
        """The open invoices of the customers the credits may come from, by customer id; the
        customers found for each debtor IBAN and name are kept on the matcher."""
        ibans = {entry.debtor_iban for entry in self.credits if entry.debtor_iban}
        names = {_customer_name(entry.debtor_name) for entry in self.credits if entry.debtor_name}
        self.customers_by_iban: dict[str, set[int]] = {}
        for iban, customer_id in PaymentMethod.objects.filter(iban__in=ibans).values_list(
            "iban", "customer_id"
        ):
            self.customers_by_iban.setdefault(iban, set()).add(customer_id)
        self.customers_by_name: dict[str, set[int]] = {}
        for name, customer_id in (
            Customer.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=names)
            .values_list("name", "id")
        ):
            self.customers_by_name.setdefault(_customer_name(name), set()).add(customer_id)
        customer_ids = set().union(
            *self.customers_by_iban.values(), *self.customers_by_name.values()
        )
        by_customer: dict[int, list[int]] = {}
        for invoice in self._locked(
            Invoice.objects.filter(
                customer_id__in=customer_ids,
                status__in=Invoice.PAYABLE_STATUSES,
                currency=self.parsed.currency,
            )
        ):
            invoice = invoices.setdefault(invoice.pk, invoice)
            by_customer.setdefault(invoice.customer_id, []).append(invoice.pk)
        return by_customer

    @staticmethod
    def _by_reference(
        entry: ParsedEntry,
        keys: list[str],
        by_number: dict[str, int],
        invoices: dict[int, Invoice],
    ) -> tuple[Invoice | None, str]:
        for key in keys:
            pk = by_number.get(number_from_key(key))
            if pk is None:
                continue
            invoice = invoices[pk]
            if entry.structured_reference and key == keys[0]:
                how = _("Matched by the structured reference %(reference)s.")
                reference = entry.structured_reference
            else:
                how = _("Matched by the invoice number in the transfer's text (%(reference)s).")
                reference = invoice.number or ""
            return invoice, how % {"reference": reference}
        return None, ""

    def _by_amount_and_customer(
        self,
        entry: ParsedEntry,
        by_customer: dict[int, list[int]],
        invoices: dict[int, Invoice],
    ) -> tuple[Invoice | None, str]:
        customer_ids = self.customers_by_iban.get(entry.debtor_iban, set()) | (
            self.customers_by_name.get(_customer_name(entry.debtor_name), set())
        )
        if not customer_ids:
            return None, _("No invoice reference and no customer with this IBAN or name.")
        candidates = [
            invoices[pk]
            for customer_id in sorted(customer_ids)
            for pk in by_customer.get(customer_id, [])
            if invoices[pk].status in Invoice.PAYABLE_STATUSES
            and invoices[pk].total.amount - invoices[pk].amount_paid.amount == entry.amount
            and (invoices[pk].issue_date or entry.booking_date) <= entry.booking_date
        ]
        if len(candidates) == 1:
            return candidates[0], _("Matched by amount and customer (%(customer)s).") % {
                "customer": candidates[0].customer_name or candidates[0].customer_id
            }
        if not candidates:
            return None, _("The customer has no open invoice of this amount.")
        return None, _("The customer has %(count)s open invoices of this amount: choose one.") % {
            "count": len(candidates)
        }


def _settle(
    *,
    book: PaymentBook,
    invoice: Invoice,
    amount: Decimal,
    currency: str,
    booked_on: date,
    reference: str,
) -> tuple[Payment, CreditEntry | None]:
    """Money received by transfer for an invoice (locked by the caller): its balance is paid,
    any surplus becomes the customer's credit (an over-payment pointing to the invoice). The
    payment is added to `book`; both are written by the caller (book.write(), then the
    credit)."""
    if invoice.currency != currency:
        raise ApplicationError(
            _("The transfer is in %(currency)s and %(number)s in %(invoice_currency)s.")
            % {"currency": currency, "number": invoice.number, "invoice_currency": invoice.currency}
        )
    if invoice.status not in Invoice.PAYABLE_STATUSES:
        raise ApplicationError(
            _("%(number)s is not open (status: %(status)s): it cannot receive this transfer.")
            % {"number": invoice.number, "status": invoice.get_status_display()}
        )
    balance = invoice.total.amount - invoice.amount_paid.amount
    paid = min(amount, balance)
    # The bank's booking date, unless its month is closed since: then the first open day, the
    # real date kept in the reference (and on the statement's entry).
    received_on = book.open_day(booked_on)
    note = moved_note(booked_on, received_on)
    payment = book.add(
        invoice=invoice,
        amount=paid,
        method=Payment.Method.BANK_TRANSFER,
        received_on=received_on,
        reference=f"{reference} ({note})" if note else reference,
    )
    credit = None
    if amount > paid:
        credit = CreditEntry(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=amount - paid,
            kind=CreditEntry.Kind.OVERPAYMENT,
            invoice=invoice,
            payment=payment,
            day=received_on,
        )
    return payment, credit


def statement_entry_match(
    *, entry: BankStatementEntry, invoice: Invoice, actor: AbstractBaseUser | None
) -> BankStatementEntry:
    """An operator matches an entry of the unmatched queue to an invoice: the same payment,
    and credit for any surplus, as a match made by the import."""
    with transaction.atomic():
        entry = BankStatementEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != BankStatementEntry.Status.UNMATCHED:
            raise ApplicationError(
                _("This entry is not waiting to be matched (status: %(status)s).")
                % {"status": entry.get_status_display()}
            )
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE:
            raise ApplicationError(
                _("%(number)s is a credit note: a transfer pays an invoice.")
                % {"number": invoice.number},
                field="invoice",
            )
        book = PaymentBook(actor=actor)
        payment, credit = _settle(
            book=book,
            invoice=invoice,
            amount=entry.amount.amount,
            currency=str(entry.currency),
            booked_on=entry.booking_date,
            reference=entry.bank_reference,
        )
        book.write()
        if credit is not None:
            credit.save()
        entry.status = BankStatementEntry.Status.MATCHED
        entry.invoice, entry.payment, entry.credit = invoice, payment, credit
        entry.matched_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        entry.note = (_("Matched by hand to %(number)s.") % {"number": invoice.number})[:300]
        entry.save(update_fields=["status", "invoice", "payment", "credit", "matched_by", "note"])
        return entry


def statement_entry_ignore(
    *, entry: BankStatementEntry, reason: str, actor: AbstractBaseUser | None
) -> BankStatementEntry:
    """An operator takes an entry out of the unmatched queue without paying anything (a
    transfer between our own accounts, a refund returned…): the reason is kept."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            _("Say why this transfer pays no invoice: the reason is kept with the entry."),
            field="reason",
        )
    with transaction.atomic():
        entry = BankStatementEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != BankStatementEntry.Status.UNMATCHED:
            raise ApplicationError(
                _("This entry is not waiting to be matched (status: %(status)s).")
                % {"status": entry.get_status_display()}
            )
        entry.status = BankStatementEntry.Status.IGNORED
        entry.matched_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        entry.note = reason[:300]
        entry.save(update_fields=["status", "matched_by", "note"])
        return entry
