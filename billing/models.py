"""Invoices and credit notes, their lines and taxes, numbering, payments and reminders.

An invoice line keys the charge it bills (subscription + charge key, unique): invoicing is what
is due minus what was invoiced, so it never bills a charge twice. Numbers are given at issue,
gapless per series and year. An issued invoice is immutable — database triggers refuse any
change to its amounts, lines and taxes (billing/migrations); corrections are credit notes.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import Product, TaxCategory, TaxRate, currency_field, money_field
from core.remittance import creditor_reference_text
from subscriptions.models import Customer, Subscription


class InvoiceSequence(models.Model):
    """The last number given in a series and year. Its row is locked only while numbering."""

    series = models.CharField(_("series"), max_length=8)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice number sequence")
        verbose_name_plural = _("invoice number sequences")
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="sequence_unique_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}{self.year}: {self.last_number}"


def format_number(series: str, year: int, sequence: int) -> str:
    """A document's number: `F2026-000001`."""
    return f"{series}{year}-{sequence:06d}"


class NumberClaim(models.Model):
    """A block of numbers the billing run asks for, for documents it has written and committed
    as drafts: numbered (`first_number`) in a short transaction of its own under the series'
    lock, then set on the documents (`applied_at`). The register of which block went to which
    documents; a claim a stopped process left is finished by the next (numbering_recover).
    billing/services/numbering.py."""

    series = models.CharField(_("series"), max_length=8)
    year = models.PositiveSmallIntegerField(_("year"))
    day = models.DateField(_("issue date"))
    # The documents' ids in ascending order: the block's numbers go to them in that order.
    invoice_ids = models.JSONField(_("documents"))
    count = models.PositiveIntegerField(_("number of documents"))
    first_number = models.PositiveIntegerField(_("first number"), null=True, blank=True)
    issued_at = models.DateTimeField(_("numbered at"), null=True, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    created_at = models.DateTimeField(_("claimed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("number claim")
        verbose_name_plural = _("number claims")
        indexes = [
            # What the lock's holder reads: the claims of its series waiting for numbers.
            models.Index(
                fields=["series", "year", "id"],
                condition=Q(first_number__isnull=True),
                name="number_claim_waiting",
            ),
            models.Index(
                fields=["id"], condition=Q(applied_at__isnull=True), name="number_claim_unapplied"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_number__isnull=True, applied_at__isnull=True)
                | Q(first_number__isnull=False, issued_at__isnull=False),
                name="number_claim_numbered_before_applied",
            ),
        ]

    def __str__(self) -> str:
        if self.first_number is None:
            return _("%(series)s%(year)s: %(count)s waiting for their numbers") % {
                "series": self.series,
                "year": self.year,
                "count": self.count,
            }
        first = format_number(self.series, self.year, self.first_number)
        if self.count == 1:
            return first
        return (
            f"{first} – {format_number(self.series, self.year, self.first_number + self.count - 1)}"
        )

    @property
    def state(self) -> str:
        if self.first_number is None:
            return _("waiting for its numbers")
        if self.applied_at is None:
            return _("numbered, not yet set on its documents")
        return _("issued")


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("invoice")
        CREDIT_NOTE = "credit_note", _("credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("invoice status", "draft")
        ISSUED = "issued", pgettext_lazy("invoice status", "issued")
        PAID = "paid", pgettext_lazy("invoice status", "paid")
        OVERDUE = "overdue", pgettext_lazy("invoice status", "overdue")
        CANCELLED = "cancelled", pgettext_lazy("invoice status", "cancelled by credit note")
        # Written off by dunning: nobody expects the money any more, but it is still owed and a
        # payment that comes anyway is taken (Stripe's "uncollectible").
        UNCOLLECTIBLE = "uncollectible", pgettext_lazy("invoice status", "written off")

    # Looked up by a row's kind, a plain str once read from the database.
    SERIES: dict[str, str] = {Kind.INVOICE: "F", Kind.CREDIT_NOTE: "AV"}
    OPEN_STATUSES = (Status.ISSUED, Status.OVERDUE)
    # Still owed: a written-off invoice takes a payment that comes anyway (nothing chases it).
    PAYABLE_STATUSES = (*OPEN_STATUSES, Status.UNCOLLECTIBLE)

    kind = models.CharField(_("kind"), max_length=11, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(
        _("status"), max_length=13, choices=Status.choices, default=Status.DRAFT
    )
    series = models.CharField(_("series"), max_length=8, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    sequence = models.PositiveIntegerField(_("number in the series"), null=True, blank=True)
    # Unique by a constraint (Meta), not `unique=True`, which adds a LIKE index nobody uses.
    number = models.CharField(_("number"), max_length=24, null=True, blank=True)  # noqa: DJ001 - NULL on drafts, so that only numbers are unique
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    billing_key = models.CharField(
        _("billing key"),
        max_length=64,
        blank=True,
        help_text=_("The period or the change this invoice bills, within its subscription."),
    )
    credited_invoice = models.ForeignKey(
        "self",
        verbose_name=_("corrects invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        db_index=False,  # indexed where set only (Meta): most documents are invoices
    )
    currency = currency_field()
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    po_reference = models.CharField(_("PO reference"), max_length=35, blank=True)
    # A partner's sale is invoiced to the partner (`customer`); the end customer it bought for
    # is named on the invoice, beside the PO reference (billing-rules §9).
    end_customer = models.ForeignKey(
        Customer,
        verbose_name=_("for the customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # indexed where set only (Meta)
    )
    end_customer_name = models.CharField(_("for the customer (name)"), max_length=200, blank=True)
    customer_name = models.CharField(_("billed to"), max_length=200, blank=True)
    customer_address = models.TextField(_("billing address"), blank=True)
    customer_vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    # The parties as they were when the invoice was made, for its PDF and its e-invoice
    # (EN 16931 BG-4 and BG-7): the seller profile at issue, and the party billed with its
    # structured address and identifiers (keys: billing/parties.py).
    seller = models.JSONField(_("seller"), default=dict, blank=True)
    buyer = models.JSONField(_("buyer"), default=dict, blank=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    net_total = money_field(_("net total"))
    tax_total = money_field(_("tax amount"))
    total = money_field(_("total"))
    amount_paid = money_field(_("amount paid"))
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    sent_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    # The outbox of invoice emails: set in the transaction that issues the document, cleared
    # once it is sent (billing.emails_send, every few minutes and right after each run). A dead
    # broker or mail server delays an email; it never loses one.
    email_pending = models.BooleanField(_("email to send"), default=False)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-id"]
        # Every index is paid on each of the tens of thousands of invoices a billing run
        # writes: only those a query needs. None but the primary key holds `id`, so that the
        # immutability trigger's lookup by id (billing/migrations) can only use the primary key.
        indexes = [
            models.Index(fields=["status", "due_date"]),
            models.Index(
                fields=["credited_invoice"],
                condition=Q(credited_invoice__isnull=False),
                name="invoice_credited_invoice",
            ),
            models.Index(
                fields=["end_customer"],
                condition=Q(end_customer__isnull=False),
                name="invoice_end_customer",
            ),
            models.Index(
                fields=["id"], condition=Q(email_pending=True), name="invoice_email_outbox"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="invoice_number_unique"),
            # One live invoice per period or change; a cancelled one leaves room for its reissue.
            models.UniqueConstraint(
                fields=["subscription", "billing_key"],
                condition=Q(subscription__isnull=False)
                & ~Q(billing_key="")
                & ~Q(status="cancelled"),
                name="invoice_one_per_billing_key",
            ),
            models.UniqueConstraint(
                fields=["series", "year", "sequence"],
                condition=Q(number__isnull=False),
                name="invoice_unique_sequence",
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(number__isnull=True) & Q(sequence__isnull=True))
                | (
                    ~Q(status="draft")
                    & Q(number__isnull=False)
                    & Q(sequence__isnull=False)
                    & Q(issue_date__isnull=False)
                ),
                name="invoice_number_only_when_issued",
                violation_error_message=_("A number is given at issue, never to a draft."),
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice") | Q(credited_invoice__isnull=False),
                name="credit_note_corrects_an_invoice",
                violation_error_message=_("A credit note corrects an invoice."),
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("draft #%(id)s") % {"id": self.pk}

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def being_numbered(self) -> bool:
        """A draft of the billing run, written with a claim for its number and waiting for it
        (billing/services/numbering.py): neither deleted nor issued by hand, or the claim's
        block of numbers would have a gap. Only such a draft carries a series."""
        return self.is_draft and bool(self.series)

    @property
    def balance(self):
        return self.total - self.amount_paid

    @property
    def payment_reference(self) -> str:
        """The structured reference (ISO 11649, "RF…") a transfer paying this invoice quotes,
        made from its number: empty on drafts and credit notes. Imported bank statements match
        transfers to invoices by it (payments.services.statement_import)."""
        if self.kind != self.Kind.INVOICE or not self.number:
            return ""
        return creditor_reference_text(self.number)


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        RECURRING = "recurring", _("recurring")
        PRORATION = "proration", _("proration")
        PENALTY = "penalty", _("penalty")
        ONE_OFF = "one_off", _("one-off")
        USAGE = "usage", _("usage")
        ISSUES = "issues", _("issues")
        TOPUP = "topup", _("credits bought")
        CREDIT = "credit", _("credit")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # led by the (subscription, charge_date) index and the charge key's
    )
    # The charge billed (subscriptions/charges.py keys), and the line's unique key: the charge,
    # plus "#2", "#3"… when a credit note reversed it for reissue. NULL, not "", on lines that
    # bill no charge (credits), so that only real keys are unique.
    charge = models.CharField(_("charge"), max_length=80, blank=True)
    charge_key = models.CharField(_("charge key"), max_length=84, null=True, blank=True)  # noqa: DJ001
    charge_date = models.DateField(_("charge date"), null=True, blank=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=300)
    period_start = models.DateField(_("from"), null=True, blank=True)
    period_end = models.DateField(_("to (excluded)"), null=True, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=2, default=Decimal("1")
    )
    currency = currency_field()
    unit_price = money_field(_("unit price"))
    gross = money_field(_("amount before discounts"))
    discounts = models.JSONField(_("discounts"), default=list, blank=True)
    discount_total = money_field(_("discounts"))
    net = money_field(_("net amount"))
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    tax_rate_ref = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # EN 16931 BT-151 and, but for S, the reason (BT-120/BT-121): decided by the parties.
    tax_category = models.CharField(
        _("VAT category"), max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    tax_exemption_code = models.CharField(_("exemption reason code"), max_length=30, blank=True)
    tax_exemption_reason = models.CharField(_("exemption reason"), max_length=200, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ledger_account = models.CharField(_("ledger account"), max_length=40, blank=True)
    invoice_item_type = models.CharField(_("invoice item type"), max_length=40, blank=True)
    rule = models.CharField(_("how it was computed"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "id"]
        constraints = [
            # Each charge of a subscription is invoiced once: the heart of idempotent billing.
            models.UniqueConstraint(
                fields=["subscription", "charge_key"],
                condition=Q(charge_key__isnull=False),
                name="line_one_per_charge_key",
            ),
        ]
        indexes = [models.Index(fields=["subscription", "charge_date"])]

    def __str__(self) -> str:
        return self.description


class InvoiceTax(models.Model):
    """Per VAT category and rate: the taxable base and the tax (EN 16931 BG-23: the sum of net
    amounts × the rate), with the exemption reason of a category other than S."""

    # Indexed by the (invoice, rate) constraint.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="taxes", db_index=False
    )
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    category = models.CharField(
        _("VAT category"), max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    exemption_code = models.CharField(_("exemption reason code"), max_length=30, blank=True)
    exemption_reason = models.CharField(_("exemption reason"), max_length=200, blank=True)
    currency = currency_field()
    base = money_field(_("taxable base"))
    tax = money_field(_("tax amount"))

    class Meta:
        verbose_name = _("invoice tax")
        verbose_name_plural = _("invoice taxes")
        ordering = ["invoice", "rate", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "category", "rate"], name="tax_one_per_category_and_rate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rate} %: {self.tax}"


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("bank transfer")
        CARD = "card", _("card")
        SEPA_DEBIT = "sepa_debit", _("SEPA direct debit")
        CUSTOMER_CREDIT = "credit", _("customer credit")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )
    currency = currency_field()
    amount = money_field(_("amount"))
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # Money that came back (a returned direct debit) is a reversal row: the same amount,
    # negative, on the day it came back, pointing at the payment it reverses. Not a flag on the
    # payment: the bank account saw two movements on two dates, and the sum of an invoice's
    # payments stays its amount paid with no filter to forget. Nothing is ever deleted.
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses the payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(amount__gt=0) & Q(reverses__isnull=True))
                | (Q(amount__lt=0) & Q(reverses__isnull=False)),
                name="payment_positive_or_reversal",
                violation_error_message=_(
                    "A payment is an amount above zero; only its reversal is below zero."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.get_method_display()} {self.received_on}"


class InvoiceReminder(models.Model):
    """A reminder sent for an overdue invoice (level 1, 2, 3…), once each."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    level = models.PositiveSmallIntegerField(_("reminder level"))
    sent_on = models.DateField(_("sent on"))

    class Meta:
        verbose_name = _("payment reminder")
        verbose_name_plural = _("payment reminders")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="reminder_once_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} #{self.level}"


class NoticeReminder(models.Model):
    """The reminder that a notice deadline approaches, sent once per renewal date."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="notice_reminders"
    )
    renewal_date = models.DateField(_("renewal date"))
    deadline = models.DateField(_("notice deadline"))
    sent_on = models.DateField(_("sent on"))

    class Meta:
        verbose_name = _("notice reminder")
        verbose_name_plural = _("notice reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "renewal_date"], name="notice_reminder_once_per_renewal"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.subscription_id} before {self.deadline}"


class InvoiceEvent(models.Model):
    """What happened to invoices, in the order it happened: issued, paid, overdue, cancelled,
    each payment received or failed, refunds, write-offs.

    Append-only, written by the billing services in the same transaction as the change: the
    outbox that outgoing webhooks read (integrations), so that no notification is lost or sent
    for a change that rolled back.
    """

    class Kind(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("invoice event", "issued")
        PAID = "paid", pgettext_lazy("invoice event", "paid")
        OVERDUE = "overdue", pgettext_lazy("invoice event", "overdue")
        CANCELLED = "cancelled", pgettext_lazy("invoice event", "cancelled by credit note")
        PAYMENT_SUCCEEDED = "payment_succeeded", pgettext_lazy("invoice event", "payment received")
        PAYMENT_FAILED = "payment_failed", pgettext_lazy("invoice event", "payment failed")
        REFUNDED = "refunded", pgettext_lazy("invoice event", "refunded")
        WRITTEN_OFF = "written_off", pgettext_lazy("invoice event", "written off")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    day = models.DateField(_("business date"))
    # What the webhook says beyond the invoice: the payment or refund (id, amount, method), the
    # reason a payment failed.
    data = models.JSONField(_("details"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice event")
        verbose_name_plural = _("invoice events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.invoice} {self.kind}"


class PaymentFailedEmail(models.Model):
    """The outbox of "your payment failed" emails: one per failed payment (a declined card, a
    returned direct debit), written in the transaction that records the failure, sent by the
    `billing.emails_send` job to the party billed. The invoice's events stay append-only."""

    event = models.OneToOneField(
        InvoiceEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="failure_email",
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("failed payment email")
        verbose_name_plural = _("failed payment emails")
        indexes = [
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True), name="payment_failed_outbox"
            )
        ]

    def __str__(self) -> str:
        return str(self.event)


class EInvoice(models.Model):
    """An issued document's legal e-invoice: the CII and UBL XML (EN 16931) and the Factur-X
    PDF (PDF/A-3 with the CII embedded), made once from the stored invoice, never recomputed,
    and what the approved platform (PA) said of it.

    Made after issue, outside the billing run (billing.einvoices_generate, enqueued when
    documents are issued and every few minutes for what is missing): a billing run never waits
    for PDFs. Kept in the database (a few tens of kB each), so that every worker of every
    machine reads the same files and nothing is half-written."""

    class Status(models.TextChoices):
        GENERATED = "generated", pgettext_lazy("e-invoice status", "generated")
        SUBMITTED = "submitted", pgettext_lazy("e-invoice status", "submitted to the platform")
        REJECTED = "rejected", pgettext_lazy("e-invoice status", "rejected")
        ACCEPTED = "accepted", pgettext_lazy("e-invoice status", "accepted")
        PAID = "paid", pgettext_lazy("e-invoice status", "paid")

    invoice = models.OneToOneField(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="einvoice"
    )
    cii_xml = models.BinaryField(_("CII XML"))
    ubl_xml = models.BinaryField(_("UBL XML"))
    facturx_pdf = models.BinaryField(_("Factur-X PDF"))
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)
    status = models.CharField(
        _("platform status"), max_length=9, choices=Status.choices, default=Status.GENERATED
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    platform_reference = models.CharField(_("platform reference"), max_length=100, blank=True)
    status_at = models.DateTimeField(_("status since"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-invoice")
        verbose_name_plural = _("e-invoices")
        ordering = ["-id"]

    def __str__(self) -> str:
        return str(self.invoice)


class EInvoiceStatusEvent(models.Model):
    """Each lifecycle status the platform reported, in order (append-only)."""

    einvoice = models.ForeignKey(EInvoice, on_delete=models.CASCADE, related_name="status_events")
    status = models.CharField(_("status"), max_length=9, choices=EInvoice.Status.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    platform_reference = models.CharField(_("platform reference"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("e-invoice status")
        verbose_name_plural = _("e-invoice statuses")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.einvoice} {self.status}"


class ClosedMonth(models.Model):
    """A monthly close: the books are closed up to the end of `month` (and of every month
    before it). No document is issued and no payment recorded with a date up to then: manual
    entries are refused, automated ones (a bank statement, a SEPA return learned later) are
    booked on the first open day (billing/services/closing.py).

    Append-only: a reopening is recorded on the row (who, when, why), which then no longer
    counts; the row stays as the history of the books."""

    month = models.DateField(_("month"), help_text=_("Its first day."))
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reopened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reopen_reason = models.CharField(_("why it was reopened"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("closed month")
        verbose_name_plural = _("closed months")
        ordering = ["-month", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["month"],
                condition=Q(reopened_at__isnull=True),
                name="closed_month_once",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="closed_month_first_day",
                violation_error_message=_("A month is named by its first day."),
            ),
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")
