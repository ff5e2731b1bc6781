"""How customers pay and get money back: payment methods (bank transfer, SEPA direct debit under
a mandate, card through a gateway), refunds, and the customer credit ledger.

Money received against an invoice stays a `billing.Payment`: this app decides how money comes
and goes, billing records what an invoice was paid.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from billing.models import Invoice, Payment
from catalog.models import currency_field, money_field
from core.banking import masked_iban
from subscriptions.models import Customer


def day_list(value: str) -> list[int]:
    """ "3, 5, 7" → [3, 5, 7] (a dunning policy's retry days)."""
    return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]


def validate_day_list(value: str) -> None:
    try:
        days = day_list(value)
    except ValueError:
        raise ValidationError(
            _("Write days as whole numbers separated by commas, e.g. 3, 5, 7."), code="invalid"
        ) from None
    if any(day < 1 or day > 365 for day in days) or days != sorted(set(days)):
        raise ValidationError(
            _("Each day is between 1 and 365, in increasing order, e.g. 3, 5, 7."), code="invalid"
        )


class PaymentMethod(models.Model):
    """One way a customer (or a partner, for what it is invoiced) pays its invoices.

    A SEPA direct debit method is a mandate: its unique reference (at most 35 characters, the
    scheme's limit), the date it was signed, the debtor's name, IBAN and BIC. Its first
    collection is sent with the sequence type FRST, the next ones RCUR.
    """

    class Kind(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("bank transfer")
        SEPA_DEBIT = "sepa_debit", _("SEPA direct debit")
        CARD = "card", _("card")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REVOKED = "revoked", _("revoked")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="payment_methods",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    is_default = models.BooleanField(_("default"), default=False)
    # SEPA direct debit: the mandate.
    mandate_reference = models.CharField(
        _("mandate reference"), max_length=35, null=True, blank=True, unique=True
    )
    mandate_signed_on = models.DateField(_("mandate signed on"), null=True, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=70, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    first_collected_on = models.DateField(
        _("first collected on"),
        null=True,
        blank=True,
        help_text=_("Empty until the first debit: it is sent as FRST, the next ones as RCUR."),
    )
    # Card: what the gateway keeps (never the card number).
    gateway = models.CharField(_("gateway"), max_length=30, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last digits"), max_length=4, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["customer", "-is_default", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True),
                name="payment_method_one_default",
                violation_error_message=_("A customer has one default payment method."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="sepa_debit")
                | (
                    Q(mandate_reference__isnull=False, mandate_signed_on__isnull=False)
                    & ~Q(iban="")
                    & ~Q(account_holder="")
                ),
                name="payment_method_sepa_has_a_mandate",
                violation_error_message=_(
                    "A SEPA direct debit needs a mandate: its reference, signature date, account "
                    "holder and IBAN."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="active") | Q(is_default=False),
                name="payment_method_default_is_active",
                violation_error_message=_("A revoked payment method cannot be the default."),
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SEPA_DEBIT:
            return f"{self.get_kind_display()} {self.masked_iban} ({self.mandate_reference})"
        if self.kind == self.Kind.CARD:
            return f"{self.card_brand or self.get_kind_display()} •••• {self.card_last4}"
        return str(self.get_kind_display())

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)

    @property
    def sequence_type(self) -> str:
        """The SEPA sequence type of the next debit."""
        return "FRST" if self.first_collected_on is None else "RCUR"


class Refund(models.Model):
    """Money paid back on an invoice: with a credit note for the same amount, never more than
    what was paid and not refunded yet (billing-rules §13)."""

    class Via(models.TextChoices):
        TRANSFER = "transfer", _("bank transfer to the customer")
        GATEWAY = "gateway", _("back to the card")
        CREDIT = "credit", _("customer credit")

    class Status(models.TextChoices):
        PENDING = "pending", _("to pay")
        SUCCEEDED = "succeeded", _("paid")
        FAILED = "failed", _("failed")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="refunds"
    )
    credit_note = models.OneToOneField(
        Invoice,
        verbose_name=_("credit note"),
        on_delete=models.PROTECT,
        related_name="refund",
    )
    currency = currency_field()
    amount = money_field(_("amount"))
    via = models.CharField(_("paid back by"), max_length=8, choices=Via.choices)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.PENDING
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    card_payment = models.ForeignKey(
        "CardPayment",
        verbose_name=_("card payment refunded"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text=_("Back to the card: the payment the gateway refunds."),
    )
    reason = models.CharField(_("reason"), max_length=300)
    day = models.DateField(_("date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-day", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="refund_amount_positive",
                violation_error_message=_("A refund is an amount above zero."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_via_display()}, {self.day})"

    @property
    def masked_iban(self) -> str:
        """The account paid back (a transfer), masked; empty otherwise."""
        return masked_iban(self.iban) if self.iban else ""


class CreditEntry(models.Model):
    """One move of a customer's credit balance, per currency (append-only): credit comes from
    credit notes not refunded and over-payments, and goes to the next invoices."""

    class Kind(models.TextChoices):
        CREDIT_NOTE = "credit_note", _("credit note")
        OVERPAYMENT = "overpayment", _("over-payment")
        APPLIED = "applied", _("applied to an invoice")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit"
    )
    currency = currency_field()
    amount = money_field(_("amount"), help_text=_("Positive: credit given; negative: credit used."))
    kind = models.CharField(_("kind"), max_length=11, choices=Kind.choices)
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("document"),
        on_delete=models.PROTECT,
        related_name="credit_entries",
        help_text=_("The credit note that gave the credit, or the invoice it paid."),
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entry",
    )
    day = models.DateField(_("date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer credit entry")
        verbose_name_plural = _("customer credit")
        ordering = ["customer", "-day", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="credit_entry_not_zero",
                violation_error_message=_("A credit entry moves an amount."),
            ),
            # A credit note gives its credit once.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(kind="credit_note"),
                name="credit_entry_once_per_credit_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.get_kind_display()} {self.day}"


class BankStatement(models.Model):
    """An imported bank statement (camt.053): the account, the bank's statement id and period,
    who imported it. A file is imported once: its hash, and the account's statement id, are
    unique."""

    file_name = models.CharField(_("file name"), max_length=255)
    file_hash = models.CharField(_("SHA-256 of the file"), max_length=64)
    message_id = models.CharField(_("message id"), max_length=35, blank=True)
    statement_id = models.CharField(_("statement id"), max_length=35)
    account_iban = models.CharField(_("account IBAN"), max_length=34)
    currency = currency_field()
    period_start = models.DateField(_("from"), null=True, blank=True)
    period_end = models.DateField(_("to"), null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["file_hash"],
                name="bank_statement_file_once",
                violation_error_message=_("This file was already imported."),
            ),
            models.UniqueConstraint(
                fields=["account_iban", "statement_id"],
                name="bank_statement_once_per_account",
                violation_error_message=_("This statement of this account was already imported."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} ({masked_iban(self.account_iban)})"


class BankStatementEntry(models.Model):
    """One booked entry of a statement. An incoming transfer (credit) is matched to an open
    invoice and becomes its payment (any surplus becomes customer credit), or waits in the
    unmatched queue for an operator; a debit is ignored."""

    class Direction(models.TextChoices):
        CREDIT = "CRDT", _("credit")
        DEBIT = "DBIT", _("debit")

    class Status(models.TextChoices):
        MATCHED = "matched", _("matched")
        UNMATCHED = "unmatched", _("unmatched")
        IGNORED = "ignored", _("ignored")
        COLLECTED = "collected", _("SEPA debits collected")
        RETURNED = "returned", _("SEPA debit returned")

    statement = models.ForeignKey(
        BankStatement,
        verbose_name=_("statement"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    position = models.PositiveIntegerField(_("position"))
    booking_date = models.DateField(_("booking date"))
    currency = currency_field()
    amount = money_field(_("amount"))
    direction = models.CharField(_("credit or debit"), max_length=4, choices=Direction.choices)
    bank_reference = models.CharField(_("bank's reference"), max_length=35, blank=True)
    structured_reference = models.CharField(_("structured reference"), max_length=35, blank=True)
    remittance_information = models.CharField(
        _("remittance information"), max_length=500, blank=True
    )
    debtor_name = models.CharField(_("debtor"), max_length=140, blank=True)
    debtor_iban = models.CharField(_("debtor's IBAN"), max_length=34, blank=True)
    status = models.CharField(_("status"), max_length=9, choices=Status.choices)
    note = models.CharField(
        _("note"),
        max_length=300,
        blank=True,
        help_text=_("How the entry was matched, why it was not, or why it is ignored."),
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_entries",
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_entry",
    )
    credit = models.OneToOneField(
        CreditEntry,
        verbose_name=_("customer credit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_entry",
        help_text=_("The surplus of an over-payment."),
    )
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the import matched the entry by itself."),
    )
    # Our SEPA direct debits seen on the account: a credit that collects a batch (booked as one
    # amount, or debit by debit), a debit that is one coming back (an R-transaction).
    sepa_batch = models.ForeignKey(
        "SepaBatch",
        verbose_name=_("SEPA batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_entries",
        help_text=_("The direct-debit batch whose debits this credit collected."),
    )
    sepa_debit = models.ForeignKey(
        "SepaDebit",
        verbose_name=_("SEPA debit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_entries",
        help_text=_("The direct debit this entry collected, or that came back with it."),
    )

    class Meta:
        verbose_name = _("bank statement entry")
        verbose_name_plural = _("bank statement entries")
        ordering = ["statement", "position"]
        indexes = [
            # The unmatched queue: a few rows among every entry ever imported.
            models.Index(
                fields=["booking_date"],
                condition=Q(status="unmatched"),
                name="bank_entry_unmatched_queue",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="bank_entry_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="bank_entry_amount_positive",
                violation_error_message=_("An entry's amount is above zero; its side says why."),
            ),
            models.CheckConstraint(
                condition=~Q(status="matched")
                | (Q(invoice__isnull=False) & Q(payment__isnull=False)),
                name="bank_entry_matched_has_a_payment",
                violation_error_message=_("A matched entry paid an invoice."),
            ),
            models.CheckConstraint(
                condition=Q(direction="CRDT") | ~Q(status="matched"),
                name="bank_entry_only_credits_match",
                violation_error_message=_("Only an incoming transfer pays an invoice."),
            ),
            models.CheckConstraint(
                condition=~Q(status="collected")
                | (
                    Q(direction="CRDT")
                    & (Q(sepa_batch__isnull=False) | Q(sepa_debit__isnull=False))
                ),
                name="bank_entry_collected_names_its_debits",
                violation_error_message=_(
                    "A credit that collects SEPA debits names their batch or the debit."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="returned")
                | (Q(direction="DBIT") & Q(sepa_debit__isnull=False)),
                name="bank_entry_returned_names_its_debit",
                violation_error_message=_("A returned debit is a debit entry naming our debit."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.debtor_name or self.bank_reference}"

    @property
    def masked_debtor_iban(self) -> str:
        return masked_iban(self.debtor_iban) if self.debtor_iban else ""


class SepaBatch(models.Model):
    """One pain.008 message: the SEPA direct debits written on one day, for one requested
    collection date. A draft until the operator says it was sent to the bank (submitted).

    The XML is kept as written: what the bank received is what the admin downloads again.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("SEPA batch status", "draft")
        SUBMITTED = "submitted", pgettext_lazy("SEPA batch status", "submitted to the bank")
        CANCELLED = "cancelled", pgettext_lazy("SEPA batch status", "cancelled")

    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    day = models.DateField(_("created on"))
    collection_date = models.DateField(_("requested collection date"))
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.DRAFT
    )
    currency = currency_field()
    total = money_field(_("total"))
    count = models.PositiveIntegerField(_("number of debits"))
    xml = models.TextField(_("pain.008 XML"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("SEPA direct debit batch")
        verbose_name_plural = _("SEPA direct debit batches")
        ordering = ["-day", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(count__gt=0) & Q(total__gt=0),
                name="sepa_batch_not_empty",
                violation_error_message=_("A SEPA batch debits at least one invoice."),
            )
        ]

    def __str__(self) -> str:
        return self.message_id

    @property
    def filename(self) -> str:
        return f"pain.008-{self.message_id}.xml"


class SepaDebit(models.Model):
    """One invoice debited under a mandate in a batch. Live while submitted or collected; a
    returned debit (an R-transaction, with its reason), or one whose draft batch was cancelled
    before it reached the bank, lets the invoice be debited again."""

    class Sequence(models.TextChoices):
        FIRST = "FRST", _("first (FRST)")
        RECURRING = "RCUR", _("recurring (RCUR)")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("SEPA debit status", "submitted")
        COLLECTED = "collected", pgettext_lazy("SEPA debit status", "collected")
        RETURNED = "returned", pgettext_lazy("SEPA debit status", "returned")
        CANCELLED = "cancelled", pgettext_lazy("SEPA debit status", "cancelled with its batch")

    # A debit that holds its invoice: the invoice is not debited again meanwhile.
    LIVE = ("submitted", "collected")

    class ReturnReason(models.TextChoices):
        """The R-transaction reason codes (ISO 20022 ExternalStatusReason1Code) a SEPA Core
        debit comes back with, as the EPC's guidance lists them."""

        AC01 = "AC01", _("AC01 — account identifier incorrect (invalid IBAN)")
        AC04 = "AC04", _("AC04 — account closed")
        AC06 = "AC06", _("AC06 — account blocked, or blocked for direct debits")
        AC13 = "AC13", _("AC13 — debtor account is a consumer account")
        AG01 = "AG01", _("AG01 — transaction forbidden on this kind of account")
        AG02 = "AG02", _("AG02 — invalid bank operation code")
        AM04 = "AM04", _("AM04 — insufficient funds")
        AM05 = "AM05", _("AM05 — duplicate collection")
        BE05 = "BE05", _("BE05 — creditor identifier incorrect")
        FF01 = "FF01", _("FF01 — invalid file format")
        MD01 = "MD01", _("MD01 — no valid mandate")
        MD02 = "MD02", _("MD02 — mandate data missing or incorrect")
        MD06 = "MD06", _("MD06 — refund requested by the debtor (authorised debit)")
        MD07 = "MD07", _("MD07 — debtor deceased")
        MS02 = "MS02", _("MS02 — refused by the debtor")
        MS03 = "MS03", _("MS03 — reason not specified")
        RC01 = "RC01", _("RC01 — bank identifier (BIC) incorrect")
        RR01 = "RR01", _("RR01 — debtor account or identification missing (regulatory)")
        RR02 = "RR02", _("RR02 — debtor name or address missing (regulatory)")
        RR03 = "RR03", _("RR03 — creditor name or address missing (regulatory)")
        RR04 = "RR04", _("RR04 — regulatory reason")
        SL01 = "SL01", _("SL01 — specific service offered by the debtor's bank")

    batch = models.ForeignKey(
        SepaBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="debits"
    )
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="sepa_debits"
    )
    mandate = models.ForeignKey(
        PaymentMethod,
        verbose_name=_("mandate"),
        on_delete=models.PROTECT,
        related_name="sepa_debits",
    )
    currency = currency_field()
    amount = money_field(_("amount"))
    sequence_type = models.CharField(_("sequence type"), max_length=4, choices=Sequence.choices)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, unique=True)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.SUBMITTED
    )
    collected_on = models.DateField(_("collected on"), null=True, blank=True)
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sepa_debit",
        help_text=_("The payment recorded on the invoice when the debit was collected."),
    )
    return_reason = models.CharField(
        _("return reason"), max_length=4, choices=ReturnReason.choices, blank=True
    )
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    retry_on = models.DateField(
        _("debit again from"),
        null=True,
        blank=True,
        help_text=_(
            "A returned debit is not presented again by itself: from this date the next batch "
            "debits the invoice again (set by the operator, later by dunning)."
        ),
    )

    # Reasons after which debiting again under the same mandate would only fail again: the
    # customer gives a new mandate or pays another way.
    FINAL_REASONS = frozenset({"AC01", "AC04", "AG01", "MD01", "MD07"})

    class Meta:
        verbose_name = _("SEPA direct debit")
        verbose_name_plural = _("SEPA direct debits")
        ordering = ["batch", "id"]
        constraints = [
            # An invoice is debited once at a time: again only after its debit came back, or
            # after the draft batch holding it was cancelled.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["submitted", "collected"]),
                name="sepa_debit_one_live_per_invoice",
                violation_error_message=_("This invoice is already being debited."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="sepa_debit_amount_positive",
                violation_error_message=_("A direct debit is an amount above zero."),
            ),
            models.CheckConstraint(
                condition=~Q(status="returned")
                | (~Q(return_reason="") & Q(returned_on__isnull=False)),
                name="sepa_debit_return_has_a_reason",
                violation_error_message=_("A returned debit has its reason code and date."),
            ),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id


class DunningPolicy(models.Model):
    """What happens when an invoice stays unpaid (Stripe's "revenue recovery", Chargebee's
    dunning): retries of a failed payment, then suspension, then cancellation or write-off, each
    on a day counted as the policy says. One global policy (no plan) and, where a plan needs
    another, one per plan. The reminders are the overdue reminders already sent
    (OVERDUE_REMINDER_DAYS)."""

    class Final(models.TextChoices):
        NONE = "none", _("nothing more (reminders only)")
        CANCEL = "cancel", _("cancel the subscription")
        WRITE_OFF = "write_off", _("write the invoice off")
        CANCEL_AND_WRITE_OFF = "both", _("cancel the subscription and write the invoice off")

    name = models.CharField(_("name"), max_length=80)
    plan = models.OneToOneField(
        "catalog.Plan",
        verbose_name=_("plan"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dunning_policy",
        help_text=_("Empty: the policy of every plan that has none of its own."),
    )
    retry_days = models.CharField(
        _("retry after (days)"),
        max_length=60,
        blank=True,
        default="3, 5, 7",
        validators=[validate_day_list],
        help_text=_(
            "Days after the first failed payment (a declined card, a returned direct debit) on "
            "which it is tried again, e.g. 3, 5, 7. Empty: no retry."
        ),
    )
    suspend_after_days = models.PositiveSmallIntegerField(
        _("suspend after (days overdue)"),
        null=True,
        blank=True,
        default=14,
        validators=[MaxValueValidator(365)],
        help_text=_("Days after the due date. Empty: never suspended."),
    )
    hold_invoicing = models.BooleanField(
        _("hold invoicing while suspended"),
        default=False,
        help_text=_(
            "Off: invoices keep coming while suspended. On: none is issued until the "
            "subscription is reactivated, then what fell due meanwhile is invoiced."
        ),
    )
    final_after_days = models.PositiveSmallIntegerField(
        _("final step after (days overdue)"),
        null=True,
        blank=True,
        default=45,
        validators=[MaxValueValidator(730)],
        help_text=_("Days after the due date. Empty: no final step."),
    )
    final_action = models.CharField(
        _("final step"), max_length=9, choices=Final.choices, default=Final.CANCEL
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        ordering = ["plan__code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                name="dunning_policy_name_unique",
                violation_error_message=_("A dunning policy of this name exists."),
            ),
            # At most one policy without a plan (the global one): a unique index on a constant
            # over the rows without a plan.
            models.UniqueConstraint(
                models.Value(1),
                name="dunning_policy_one_global",
                condition=Q(plan__isnull=True),
                violation_error_message=_("There is already a global policy (without plan)."),
            ),
            models.CheckConstraint(
                condition=Q(final_after_days__isnull=True)
                | Q(suspend_after_days__isnull=True)
                | Q(final_after_days__gt=models.F("suspend_after_days")),
                name="dunning_final_after_suspension",
                violation_error_message=_("The final step comes after the suspension."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def retry_offsets(self) -> list[int]:
        return day_list(self.retry_days)


class DunningStep(models.Model):
    """A step dunning took on an invoice, once each (the unique key): its audit trail and what
    makes the daily job safe to run twice."""

    class Step(models.TextChoices):
        RETRY = "retry", _("payment retried")
        SUSPENDED = "suspended", _("subscription suspended")
        CANCELLED = "cancelled", _("subscription cancelled")
        WRITTEN_OFF = "written_off", _("invoice written off")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="dunning_steps"
    )
    step = models.CharField(_("step"), max_length=11, choices=Step.choices)
    # Retries are numbered 1, 2, 3…; the other steps are 0.
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    day = models.DateField(_("date"))
    policy = models.ForeignKey(
        DunningPolicy,
        verbose_name=_("policy"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    # The email outbox: a step that suspended or cancelled something is announced; the daily
    # job sends what is still unsent, so that a broker down at that moment loses nothing.
    to_email = models.BooleanField(_("to announce by email"), default=False)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step", "attempt"], name="dunning_step_once")
        ]

    def __str__(self) -> str:
        label = self.get_step_display()
        return f"{label} {self.attempt}" if self.attempt else str(label)


# Why a card was refused, in the payer's words (the provider's own message is in English and
# meant for developers). Codes are the usual decline codes; an adapter maps its own to these.
FAILURE_MESSAGES = {
    "card_declined": _("Your card was declined by your bank. Try another card."),
    "insufficient_funds": _(
        "Your card was declined: insufficient funds. Try another card or pay by bank transfer."
    ),
    "expired_card": _("Your card has expired. Use another card."),
    "incorrect_number": _("The card number is incorrect."),
    "test_mode_live_card": _(
        "This is the test gateway: use one of its test card numbers, e.g. 4242 4242 4242 4242."
    ),
    "authentication_required": _(
        "Your bank asks you to confirm this payment yourself: pay the invoice by card in your "
        "account."
    ),
    "authentication_failed": _("The payment was not confirmed with your bank (3-D Secure)."),
    "canceled": _("The payment was abandoned before it was confirmed."),
    "processing_error": _("The card could not be charged because of an error. Try again."),
}


def failure_text(code: str) -> str:
    """Why a card was refused, in the reader's language."""
    if code in FAILURE_MESSAGES:
        return str(FAILURE_MESSAGES[code])
    return str(_("The card payment was refused (%(code)s).") % {"code": code or "?"})


class CardPayment(models.Model):
    """One attempt to charge an invoice to a card through a gateway (payments/gateways/).

    The provider confirms it asynchronously: the attempt is processing (or waits for the payer's
    3-D Secure authentication) until the gateway's webhook says it succeeded — the invoice then
    receives a `billing.Payment` — or failed, with the provider's decline code. One attempt at a
    time per invoice is in flight (a database rule).
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", pgettext_lazy("card payment status", "being confirmed")
        REQUIRES_ACTION = "requires_action", pgettext_lazy("card payment status", "to authenticate")
        SUCCEEDED = "succeeded", pgettext_lazy("card payment status", "paid")
        FAILED = "failed", pgettext_lazy("card payment status", "declined")

    IN_FLIGHT = (Status.PROCESSING, Status.REQUIRES_ACTION)

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="card_payments"
    )
    method = models.ForeignKey(
        PaymentMethod,
        verbose_name=_("saved card"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="card_payments",
        help_text=_("Empty for a card typed in for this payment only."),
    )
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last digits"), max_length=4, blank=True)
    currency = currency_field()
    amount = money_field(_("amount"))
    gateway = models.CharField(_("gateway"), max_length=30)
    provider_id = models.CharField(_("provider's payment id"), max_length=100, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    off_session = models.BooleanField(
        _("without the payer"),
        default=False,
        help_text=_("Charged by a retry, the payer not there to authenticate."),
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices)
    action_url = models.CharField(_("authentication page"), max_length=500, blank=True)
    failure_code = models.CharField(_("decline code"), max_length=60, blank=True)
    failure_message = models.CharField(_("provider's message"), max_length=300, blank=True)
    created_on = models.DateField(_("created on"))
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="card_payment",
        help_text=_("The payment recorded on the invoice when the gateway confirmed it."),
    )
    credit = models.OneToOneField(
        CreditEntry,
        verbose_name=_("customer credit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="card_payment",
        help_text=_("What the invoice no longer owed when the card was charged."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("card payment")
        verbose_name_plural = _("card payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_id"],
                condition=~Q(provider_id=""),
                name="card_payment_provider_id_unique",
            ),
            # Two clicks, two tabs or a retry racing the payer: one charge at a time.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["processing", "requires_action"]),
                name="card_payment_one_in_flight_per_invoice",
                violation_error_message=_("A card payment of this invoice is being confirmed."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="card_payment_amount_positive",
                violation_error_message=_("A card payment is an amount above zero."),
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(confirmed_on__isnull=False),
                name="card_payment_succeeded_is_dated",
                violation_error_message=_("A succeeded card payment has its date."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id or self.idempotency_key} ({self.get_status_display()})"

    @property
    def card(self) -> str:
        return f"{self.card_brand} •••• {self.card_last4}".strip()

    @property
    def failure_text(self) -> str:
        """Why it failed, in the reader's language."""
        return failure_text(self.failure_code) if self.status == self.Status.FAILED else ""


class GatewayEvent(models.Model):
    """A webhook received from a gateway, once: the provider's event id is unique per gateway,
    so a delivery repeated (providers retry until they get a 2xx) is recorded once and acted on
    once."""

    gateway = models.CharField(_("gateway"), max_length=30)
    provider_event_id = models.CharField(_("provider's event id"), max_length=100)
    type = models.CharField(_("type"), max_length=60)
    provider_payment_id = models.CharField(_("provider's payment id"), max_length=100, blank=True)
    provider_refund_id = models.CharField(_("provider's refund id"), max_length=100, blank=True)
    payload = models.JSONField(_("payload"))
    card_payment = models.ForeignKey(
        CardPayment,
        verbose_name=_("card payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    refund = models.ForeignKey(
        Refund,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gateway_events",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_event_id"], name="gateway_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.provider_event_id} {self.type}"


# The test gateway's own side (payments/gateways/test.py) -----------------------------------------
# What a provider keeps on its servers, kept here because the test gateway runs in-process: its
# cards (never the number: the behaviour its test number chose), payments, refunds and the
# events it sends. Cadence's services never read these tables; they see the gateway's answers
# and webhooks only.


class SandboxCard(models.Model):
    class Behaviour(models.TextChoices):
        SUCCEED = "succeed", _("succeeds")
        DECLINE = "decline", _("declined")
        INSUFFICIENT_FUNDS = "insufficient_funds", _("declined: insufficient funds")
        AUTHENTICATE = "authenticate", _("asks for 3-D Secure")
        DECLINE_ON_CHARGE = "decline_on_charge", _("saved, then declined when charged")

    token = models.CharField(_("token"), max_length=40, unique=True)
    brand = models.CharField(_("card brand"), max_length=20)
    last4 = models.CharField(_("card last digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    holder = models.CharField(_("card holder"), max_length=100, blank=True)
    behaviour = models.CharField(_("behaviour"), max_length=20, choices=Behaviour.choices)
    reusable = models.BooleanField(_("saved"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("test gateway card")
        verbose_name_plural = _("test gateway cards")

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class SandboxPayment(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing", pgettext_lazy("card payment status", "being confirmed")
        REQUIRES_ACTION = "requires_action", pgettext_lazy("card payment status", "to authenticate")
        SUCCEEDED = "succeeded", pgettext_lazy("card payment status", "paid")
        FAILED = "failed", pgettext_lazy("card payment status", "declined")
        CANCELED = "canceled", pgettext_lazy("card payment status", "abandoned")

    provider_id = models.CharField(_("payment id"), max_length=40, unique=True)
    card = models.ForeignKey(SandboxCard, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices)
    failure_code = models.CharField(_("decline code"), max_length=60, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    off_session = models.BooleanField(_("without the payer"), default=False)
    description = models.CharField(_("description"), max_length=200, blank=True)
    return_url = models.CharField(_("return URL"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("test gateway payment")
        verbose_name_plural = _("test gateway payments")

    def __str__(self) -> str:
        return self.provider_id


class SandboxRefund(models.Model):
    provider_id = models.CharField(_("refund id"), max_length=40, unique=True)
    payment = models.ForeignKey(SandboxPayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=10)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("test gateway refund")
        verbose_name_plural = _("test gateway refunds")

    def __str__(self) -> str:
        return self.provider_id


class SandboxEvent(models.Model):
    """An event the test gateway sends to Cadence's webhook endpoint (a Celery task delivers it,
    signed at delivery time as a provider signs each attempt)."""

    provider_id = models.CharField(_("event id"), max_length=40, unique=True)
    type = models.CharField(_("type"), max_length=60)
    data = models.JSONField(_("data"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    acknowledged_at = models.DateTimeField(
        _("acknowledged at"),
        null=True,
        blank=True,
        help_text=_("When Cadence answered it: until then, the gateway delivers it again."),
    )

    class Meta:
        verbose_name = _("test gateway event")
        verbose_name_plural = _("test gateway events")

    def __str__(self) -> str:
        return f"{self.provider_id} {self.type}"
