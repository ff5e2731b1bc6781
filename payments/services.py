"""Payment methods, refunds, customer credit, bank statements and SEPA direct debit: every write of the payments app, keyword-only,
each in a transaction; a refusal is an ApplicationError that changes nothing.

billing-rules §13: a refund never exceeds what was paid and each refund is a credit note and a
refund payment; a customer's credit (credit notes not refunded, over-payments) is applied to its
next invoices.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from billing.models import Invoice, InvoiceEvent, Payment
from billing.services import (
    invoice_credit_amount,
    payment_from_credit,
    payment_record,
    payment_reverse,
)
from core.errors import ApplicationError
from core.money import amount_entered, money_text
from core.pricing import ZERO, round_money
from core.remittance import (
    key_from_creditor_reference,
    keys_in_text,
    number_from_key,
    reference_key,
)
from core.text import forbidden_character
from payments import sepa
from payments.camt import ParsedEntry, ParsedStatement, check_size, parse_statement
from payments.models import (
    BankStatement,
    BankStatementEntry,
    CreditEntry,
    PaymentMethod,
    Refund,
    SepaBatch,
    SepaDebit,
)
from payments.selectors import refundable
from subscriptions.models import Customer

# Characters a SEPA mandate reference and name may hold (the scheme's Latin character set).
_MANDATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# Payment methods ---------------------------------------------------------------------------------


def sepa_mandate_add(
    *,
    customer: Customer,
    account_holder: str,
    iban: str,
    bic: str = "",
    accepted: bool,
    today: date,
    make_default: bool = True,
) -> PaymentMethod:
    """A SEPA direct debit mandate signed today by the account holder, who accepted the
    mandate text: its IBAN (and BIC, found from the IBAN when the bank is known) validated."""
    if not accepted:
        raise ApplicationError(
            _("Accept the mandate text: it authorises us to debit this account."),
            field="accepted",
        )
    holder = " ".join((account_holder or "").split())
    if not holder:
        raise ApplicationError(_("Enter the account holder's name."), field="account_holder")
    if len(holder) > 70 or forbidden_character(holder):
        raise ApplicationError(
            _("Enter the account holder's name as the bank knows it (70 characters at most)."),
            field="account_holder",
        )
    if customer.currency != "EUR":
        raise ApplicationError(
            _("A SEPA direct debit is in euros, and %(customer)s is invoiced in %(currency)s.")
            % {"customer": customer.name, "currency": customer.currency}
        )
    account = _valid_iban(iban)
    bank = _valid_bic(bic, account)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if make_default:
            customer.payment_methods.filter(is_default=True).update(is_default=False)
        return PaymentMethod.objects.create(
            customer=customer,
            kind=PaymentMethod.Kind.SEPA_DEBIT,
            is_default=make_default,
            mandate_reference=_new_mandate_reference(customer),
            mandate_signed_on=today,
            account_holder=holder,
            iban=account.compact,
            bic=bank,
        )


def _valid_iban(value: str) -> IBAN:
    try:
        account = IBAN(value or "")
    except SchwiftyException:
        raise ApplicationError(
            _("This IBAN is not valid: check its letters and digits (e.g. FR76 3000 6000 …)."),
            field="iban",
        ) from None
    if not account.in_sepa_zone:
        raise ApplicationError(
            _("A direct debit is drawn on an account in the SEPA zone; %(country)s is not.")
            % {"country": account.country_code},
            field="iban",
        )
    return account


def _valid_bic(value: str, account: IBAN) -> str:
    value = "".join((value or "").split()).upper()
    if not value:
        found = account.bic
        if found is None:
            raise ApplicationError(
                _("Enter the bank's BIC: it cannot be found from this IBAN."), field="bic"
            )
        return str(found.compact)
    try:
        return str(BIC(value).compact)
    except SchwiftyException:
        raise ApplicationError(
            _("This BIC is not valid: 8 or 11 letters and digits, e.g. AGRIFRPP."), field="bic"
        ) from None


def _new_mandate_reference(customer: Customer) -> str:
    """Unique, at most 35 characters: the customer's number and a random part."""
    while True:
        suffix = "".join(secrets.choice(_MANDATE_ALPHABET) for _i in range(8))
        reference = f"CAD-{customer.pk}-{suffix}"
        if not PaymentMethod.objects.filter(mandate_reference=reference).exists():
            return reference


def payment_method_set_default(*, method: PaymentMethod) -> PaymentMethod:
    """Invoices are paid by this method from now on."""
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=method.customer_id)
        method = PaymentMethod.objects.get(pk=method.pk)
        if method.status != PaymentMethod.Status.ACTIVE:
            raise ApplicationError(_("A revoked payment method cannot be the default."))
        PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).exclude(
            pk=method.pk
        ).update(is_default=False)
        if not method.is_default:
            method.is_default = True
            method.save(update_fields=["is_default"])
        return method


def payment_method_revoke(*, method: PaymentMethod, today: date) -> PaymentMethod:
    """No more debits or charges by this method; invoices are then paid by bank transfer unless
    another method is made the default."""
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.status == PaymentMethod.Status.REVOKED:
            raise ApplicationError(_("This payment method is already revoked."))
        method.status = PaymentMethod.Status.REVOKED
        method.is_default = False
        method.revoked_on = today
        method.save(update_fields=["status", "is_default", "revoked_on"])
        return method


# Refunds -------------------------------------------------------------------------------------------


def refund_create(
    *,
    invoice: Invoice,
    amount: Decimal | str,
    reason: str,
    via: str,
    day: date,
    iban: str = "",
    actor: AbstractBaseUser | None = None,
) -> Refund:
    """Pay back `amount` of a paid invoice: a credit note of that amount and the refund, by
    transfer to the customer's account (to pay: status "to pay" until the transfer is made) or
    to its customer credit (at once). Never more than what was paid and not refunded yet."""
    amount = _amount(amount)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            _("Say why the money is paid back: the reason is printed on the credit note."),
            field="reason",
        )
    if via not in Refund.Via.values:
        raise ApplicationError(_("Choose how the money is paid back."), field="via")
    if via == Refund.Via.GATEWAY:
        raise ApplicationError(
            _("No card payment on this invoice can be refunded through a gateway."), field="via"
        )
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
            raise ApplicationError(_("Only an issued invoice can be refunded."))
        if amount != round_money(amount, invoice.currency):
            raise ApplicationError(
                _("A refund is an amount in %(currency)s, to the cent.")
                % {"currency": invoice.currency},
                field="amount",
            )
        left = refundable(invoice)
        if amount > left:
            raise ApplicationError(
                _("%(number)s has %(left)s paid and not refunded; %(amount)s is more than that.")
                % {
                    "number": invoice.number,
                    "left": money_text(left, invoice.currency),
                    "amount": money_text(amount, invoice.currency),
                },
                field="amount",
            )
        account = ""
        if via == Refund.Via.TRANSFER:
            account = _refund_account(invoice, iban)
        count = invoice.refunds.count()
        credit_note = invoice_credit_amount(
            invoice=invoice,
            amount=amount,
            reason=reason,
            day=day,
            billing_key=f"refund:{invoice.pk}:{count + 1}",
        )
        refund = Refund.objects.create(
            invoice=invoice,
            credit_note=credit_note,
            currency=invoice.currency,
            amount=amount,
            via=via,
            status=Refund.Status.SUCCEEDED if via == Refund.Via.CREDIT else Refund.Status.PENDING,
            iban=account,
            reason=reason[:300],
            day=day,
            # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.REFUNDED,
            day=day,
            data={
                "refund": refund.pk,
                "amount": str(amount),
                "currency": invoice.currency,
                "via": via,
                "credit_note": credit_note.number,
            },
        )
        if via == Refund.Via.CREDIT:
            CreditEntry.objects.create(
                customer_id=invoice.customer_id,
                currency=invoice.currency,
                amount=amount,
                kind=CreditEntry.Kind.CREDIT_NOTE,
                invoice=credit_note,
                day=day,
            )
        return refund


def refund_mark_paid(*, refund: Refund, day: date) -> Refund:
    """The transfer of a refund was made."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            raise ApplicationError(
                _("This refund is not waiting to be paid (status: %(status)s).")
                % {"status": refund.get_status_display()}
            )
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["status"])
        return refund


def _amount(value: Decimal | str) -> Decimal:
    amount = amount_entered(value)
    if amount is None:
        raise ApplicationError(_("Enter an amount, e.g. 40.00."), field="amount")
    if amount <= 0:
        raise ApplicationError(_("Enter an amount above zero, e.g. 40.00."), field="amount")
    return amount


def _refund_account(invoice: Invoice, iban: str) -> str:
    if iban:
        return _valid_iban(iban).compact
    mandate = (
        PaymentMethod.objects.filter(
            customer_id=invoice.customer_id, kind=PaymentMethod.Kind.SEPA_DEBIT
        )
        .order_by("-is_default", "-id")
        .first()
    )
    if mandate is None:
        raise ApplicationError(
            _("Enter the IBAN to pay the money back to: the customer has no account on file."),
            field="iban",
        )
    return mandate.iban


# Customer credit --------------------------------------------------------------------------------------


def credit_balance(*, customer: Customer, currency: str) -> Decimal:
    total = CreditEntry.objects.filter(customer=customer, currency=currency).aggregate(
        total=Sum("amount")
    )["total"]
    return round_money(total or ZERO, currency)


def credit_apply(*, invoice: Invoice, day: date) -> Decimal:
    """Pay what is left of an open invoice with its customer's credit in its currency, as far
    as the credit goes; returns the amount applied (0: nothing to apply). Safe to run twice."""
    with transaction.atomic():
        # The customer's row serialises everything that spends its credit.
        customer = Customer.objects.select_for_update().get(pk=invoice.customer_id)
        invoice = Invoice.objects.get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATUSES:
            return ZERO
        balance = credit_balance(customer=customer, currency=invoice.currency)
        due = invoice.total.amount - invoice.amount_paid.amount
        amount = min(balance, due)
        if amount <= 0:
            return ZERO
        payment = payment_from_credit(invoice=invoice, amount=amount, day=day)
        CreditEntry.objects.create(
            customer=customer,
            currency=invoice.currency,
            amount=-amount,
            kind=CreditEntry.Kind.APPLIED,
            invoice=invoice,
            payment=payment,
            day=day,
        )
        return amount


def credits_apply_due(*, day: date) -> int:
    """Apply every customer's credit to its open invoices, oldest first (the daily job); returns
    the number of invoices paid from credit. Safe to run twice: credit spent is gone."""
    with_credit = (
        CreditEntry.objects.values("customer_id", "currency")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
    )
    applied = 0
    for row in with_credit:
        for invoice in Invoice.objects.filter(
            customer_id=row["customer_id"],
            currency=row["currency"],
            kind=Invoice.Kind.INVOICE,
            status__in=Invoice.OPEN_STATUSES,
            issue_date__lte=day,
        ).order_by("issue_date", "id"):
            if credit_apply(invoice=invoice, day=day) > 0:
                applied += 1
            else:
                break
    return applied


# Bank statements -------------------------------------------------------------------------------


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
        _Matcher(statement, parsed, actor).run()
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
        self, statement: BankStatement, parsed: ParsedStatement, actor: AbstractBaseUser | None
    ) -> None:
        self.statement = statement
        self.parsed = parsed
        self.actor = actor
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
                continue
            if not entry.booked:
                row.status = BankStatementEntry.Status.IGNORED
                row.note = _("Not booked by the bank (pending): it is in a later statement.")
                continue
            if entry.bank_reference and entry.bank_reference in seen:
                row.status = BankStatementEntry.Status.IGNORED
                row.note = _("Already imported with an earlier statement of this account.")
                continue
            target, how = self._by_reference(entry, keys[id(entry)], by_number, invoices)
            if target is None:
                target, how = self._by_amount_and_customer(entry, by_customer, invoices)
            if target is None:
                row.note = how
                continue
            try:
                payment, credit = _settle(
                    invoice=target,
                    amount=entry.amount,
                    currency=entry.currency,
                    booked_on=entry.booking_date,
                    reference=entry.bank_reference,
                    actor=self.actor,
                )
            except ApplicationError as error:
                row.invoice = target
                row.note = error.message[:300]
                continue
            invoices[target.pk] = payment.invoice
            row.status = BankStatementEntry.Status.MATCHED
            row.invoice, row.payment, row.credit, row.note = target, payment, credit, how[:300]
        BankStatementEntry.objects.bulk_create(rows, batch_size=2000)

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
                status__in=Invoice.OPEN_STATUSES,
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
            if invoices[pk].status in Invoice.OPEN_STATUSES
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
    invoice: Invoice,
    amount: Decimal,
    currency: str,
    booked_on: date,
    reference: str,
    actor: AbstractBaseUser | None,
) -> tuple[Payment, CreditEntry | None]:
    """Money received by transfer for an invoice (locked by the caller): its balance is paid,
    any surplus becomes the customer's credit (an over-payment pointing to the invoice)."""
    if invoice.currency != currency:
        raise ApplicationError(
            _("The transfer is in %(currency)s and %(number)s in %(invoice_currency)s.")
            % {"currency": currency, "number": invoice.number, "invoice_currency": invoice.currency}
        )
    if invoice.status not in Invoice.OPEN_STATUSES:
        raise ApplicationError(
            _("%(number)s is not open (status: %(status)s): it cannot receive this transfer.")
            % {"number": invoice.number, "status": invoice.get_status_display()}
        )
    balance = invoice.total.amount - invoice.amount_paid.amount
    paid = min(amount, balance)
    payment = payment_record(
        invoice=invoice,
        amount=paid,
        method=Payment.Method.BANK_TRANSFER,
        received_on=booked_on,
        reference=reference,
        actor=actor,
    )
    credit = None
    if amount > paid:
        credit = CreditEntry.objects.create(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=amount - paid,
            kind=CreditEntry.Kind.OVERPAYMENT,
            invoice=invoice,
            payment=payment,
            day=booked_on,
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
        payment, credit = _settle(
            invoice=invoice,
            amount=entry.amount.amount,
            currency=str(entry.currency),
            booked_on=entry.booking_date,
            reference=entry.bank_reference,
            actor=actor,
        )
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


# SEPA direct debit -------------------------------------------------------------------------------


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
        live = SepaDebit.objects.filter(invoice=OuterRef("pk")).exclude(
            status=SepaDebit.Status.RETURNED
        )
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


def sepa_debit_collect(
    *, debit: SepaDebit, today: date, actor: AbstractBaseUser | None = None
) -> SepaDebit:
    """The bank credited the debit: the payment is recorded on the invoice (method SEPA
    direct debit, received on the collection date, the end-to-end id as its reference), and
    the mandate's next debits are recurring (RCUR)."""
    with transaction.atomic():
        debit = SepaDebit.objects.select_for_update().select_related("batch").get(pk=debit.pk)
        _refuse_unless_submitted(debit)
        collected_on = debit.batch.collection_date
        if today < collected_on:
            raise ApplicationError(
                _("%(id)s is to be collected on %(date)s: it cannot have been collected yet.")
                % {"id": debit, "date": collected_on.isoformat()}
            )
        payment = payment_record(
            invoice=debit.invoice,
            amount=debit.amount.amount,
            method=Payment.Method.SEPA_DEBIT,
            received_on=collected_on,
            reference=debit.end_to_end_id,
            actor=actor,
        )
        debit.status = SepaDebit.Status.COLLECTED
        debit.collected_on = collected_on
        debit.payment = payment
        debit.save(update_fields=["status", "collected_on", "payment"])
        mandate = PaymentMethod.objects.select_for_update().get(pk=debit.mandate_id)
        if mandate.first_collected_on is None:
            mandate.first_collected_on = collected_on
            mandate.save(update_fields=["first_collected_on"])
        return debit


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
        if debit.invoice.sepa_debits.filter(pk__gt=debit.pk).exists():
            raise ApplicationError(
                _("The invoice %(number)s was debited again after %(id)s.")
                % {"number": debit.invoice, "id": debit}
            )
        debit.retry_on = day
        debit.save(update_fields=["retry_on"])
        return debit


def _refuse_unless_submitted(debit: SepaDebit) -> None:
    if debit.batch.status != SepaBatch.Status.SUBMITTED:
        raise ApplicationError(
            _("The batch %(batch)s has not been submitted to the bank: mark it submitted first.")
            % {"batch": debit.batch}
        )
    if debit.status != SepaDebit.Status.SUBMITTED:
        raise ApplicationError(
            _("%(id)s is already %(status)s.") % {"id": debit, "status": debit.get_status_display()}
        )


def _debit_return(*, debit: SepaDebit, reason: str, day: date) -> SepaReturn:
    with transaction.atomic():
        debit = SepaDebit.objects.select_for_update().select_related("batch").get(pk=debit.pk)
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
        if debit.payment is not None:
            reversal = payment_reverse(
                payment=debit.payment, day=day, reason=f"{reason} {debit.end_to_end_id}"
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
        invoice = Invoice.objects.get(pk=debit.invoice_id)
        return SepaReturn(
            debit=debit,
            invoice=invoice,
            reversal=reversal,
            reopened=invoice.status in Invoice.OPEN_STATUSES,
        )


def sepa_returns_import(*, content: bytes, today: date) -> SepaReturnsImport:
    """Read the bank's pain.002 status report: each debit it rejects is returned with its reason
    code (MS03, "not specified", when it gives none), all in one transaction — a refusal on one
    leaves every debit as it was. References that are not ours are listed back, not written."""
    try:
        report = sepa.pain002(content)
    except sepa.InvalidFile as error:
        raise ApplicationError(
            _("This file cannot be read as a pain.002 payment status report: %(error)s")
            % {"error": error},
            field="file",
        ) from None
    day = min(report.day or today, today)
    result = SepaReturnsImport()
    with transaction.atomic():
        for rejection in report.rejections:
            reason = rejection.reason.upper()
            if not (len(reason) == 4 and reason.isascii() and reason.isalnum()):
                reason = SepaDebit.ReturnReason.MS03
            if rejection.end_to_end_id:
                debits = list(SepaDebit.objects.filter(end_to_end_id=rejection.end_to_end_id))
                label = rejection.end_to_end_id
            else:  # the whole message
                debits = list(SepaDebit.objects.filter(batch__message_id=rejection.message_id))
                label = rejection.message_id
            if not debits:
                result.unknown.append(label)
                continue
            for debit in debits:
                if debit.status == SepaDebit.Status.RETURNED:
                    result.already_returned.append(debit.end_to_end_id)
                    continue
                result.returned.append(_debit_return(debit=debit, reason=reason, day=day))
    return result
