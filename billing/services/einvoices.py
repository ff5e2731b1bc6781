"""Legal e-invoices (EN 16931): made once per issued document, outside the billing run, and
what the approved platform (PA) reports of them.

`einvoice_generate` builds the CII, then the UBL, then the Factur-X PDF from the stored
document and keeps them (`EInvoice`, one per document under a unique constraint). The
`billing.einvoices_generate` job (`einvoices_generate_pending`) makes those still missing: it
is nudged after each commit that issues documents and runs every few minutes anyway, so a
broker down when documents were issued delays their e-invoices and never loses one. A billing
run never waits for a PDF: it only asks, after its commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.einvoice.cii import invoice_cii
from billing.einvoice.facturx import facturx_pdf
from billing.einvoice.ubl import invoice_ubl
from billing.models import EInvoice, EInvoiceStatusEvent, Invoice
from config.celery import send
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

EINVOICES_BATCH = 200

# The formats a document downloads in: its BinaryField, file name suffix and content type.
FORMATS: dict[str, tuple[str, str, str]] = {
    "facturx": ("facturx_pdf", "factur-x.pdf", "application/pdf"),
    "cii": ("cii_xml", "cii.xml", "application/xml"),
    "ubl": ("ubl_xml", "ubl.xml", "application/xml"),
}

# What a platform reports (the first status, `generated`, is ours).
PLATFORM_STATUSES = (
    EInvoice.Status.SUBMITTED,
    EInvoice.Status.REJECTED,
    EInvoice.Status.ACCEPTED,
    EInvoice.Status.PAID,
)


@dataclass(frozen=True)
class EInvoiceFile:
    content: bytes
    filename: str
    content_type: str


def _issued(invoice: Invoice) -> Invoice:
    if invoice.status == Invoice.Status.DRAFT or not invoice.number:
        raise ApplicationError(
            _("A draft has no e-invoice: it is made once the document is issued.")
        )
    return invoice


def einvoice_generate(*, invoice: Invoice) -> EInvoice:
    """The e-invoice of an issued document, made from its stored rows if it has none yet.

    Idempotent: a document has one e-invoice (unique constraint). The files are built outside
    any transaction (a PDF takes a fraction of a second); when two workers build the same
    document at once, the first row written is kept and the other's files are dropped."""
    existing = EInvoice.objects.filter(invoice_id=invoice.pk).first()
    if existing is not None:
        return existing
    invoice = _issued(
        Invoice.objects.select_related("customer", "credited_invoice").get(pk=invoice.pk)
    )
    cii = invoice_cii(invoice)
    ubl = invoice_ubl(invoice)
    pdf = facturx_pdf(invoice, cii)
    return _store(invoice, cii=cii, ubl=ubl, pdf=pdf)


def _store(invoice: Invoice, *, cii: bytes, ubl: bytes, pdf: bytes) -> EInvoice:
    now = timezone.now()
    try:
        with transaction.atomic():
            einvoice = EInvoice.objects.create(
                invoice=invoice,
                cii_xml=cii,
                ubl_xml=ubl,
                facturx_pdf=pdf,
                status=EInvoice.Status.GENERATED,
                status_at=now,
            )
            EInvoiceStatusEvent.objects.create(einvoice=einvoice, status=EInvoice.Status.GENERATED)
    except IntegrityError:
        # Another worker stored it first (the one-to-one's unique constraint): keep its row.
        return EInvoice.objects.get(invoice_id=invoice.pk)
    return einvoice


def einvoices_generate_pending(*, limit: int = EINVOICES_BATCH) -> int:
    """Make the e-invoices of up to `limit` issued documents that have none, oldest first.
    Returns how many were made.

    Each document is claimed under its row lock (skip_locked on PostgreSQL), in a transaction
    of its own held only while its files are built: two jobs at once take different documents,
    and a payment waits for one document's PDF at most. A document whose e-invoice fails (a
    CII the schema refuses) is logged and left for the next round; the others go on."""
    made, after = 0, 0
    while made < limit:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer", "credited_invoice")
                .exclude(status=Invoice.Status.DRAFT)
                .filter(einvoice__isnull=True, pk__gt=after)
                .order_by("pk")
                .first()
            )
            if invoice is None:
                return made
            after = invoice.pk
            try:
                with transaction.atomic():
                    cii = invoice_cii(invoice)
                    ubl = invoice_ubl(invoice)
                    pdf = facturx_pdf(invoice, cii)
                    _store(invoice, cii=cii, ubl=ubl, pdf=pdf)
            except Exception:
                logger.exception("e-invoice of %s not made, retried next round", invoice)
                continue
            made += 1
    return made


def einvoices_request() -> None:
    """Ask a worker to make the e-invoices of the documents being issued, once the issuing
    transaction commits (never inside it: a billing run does not wait for PDFs, and a rollback
    asks for nothing). The beat job makes them anyway: a dead broker only delays them."""
    if settings.EINVOICES_ON_ISSUE:
        transaction.on_commit(_request_now)


def _request_now() -> None:
    send("billing.einvoices_generate")


def einvoice_file(*, invoice: Invoice, file_format: str) -> EInvoiceFile:
    """The e-invoice of an issued document in `file_format` (facturx, cii or ubl), made now if
    it is still missing."""
    if file_format not in FORMATS:
        raise ApplicationError(
            _("Unknown e-invoice format %(format)s: choose facturx, cii or ubl.")
            % {"format": file_format},
            field="format",
        )
    _issued(invoice)
    field, suffix, content_type = FORMATS[file_format]
    content = EInvoice.objects.filter(invoice_id=invoice.pk).values_list(field, flat=True).first()
    if content is None:
        content = getattr(einvoice_generate(invoice=invoice), field)
    return EInvoiceFile(bytes(content), f"{invoice.number}-{suffix}", content_type)


def einvoice_status_record(
    *,
    einvoice: EInvoice,
    status: str,
    reason: str = "",
    platform_reference: str = "",
    actor: AbstractBaseUser | None = None,
) -> EInvoice:
    """Record what the platform reports of an e-invoice (submitted, rejected, accepted, paid):
    a history row, and the e-invoice's current status. A rejection says why."""
    if status not in PLATFORM_STATUSES:
        raise ApplicationError(
            _("Unknown platform status %(status)s: submitted, rejected, accepted or paid.")
            % {"status": status},
            field="status",
        )
    reason = reason.strip()
    if status == EInvoice.Status.REJECTED and not reason:
        raise ApplicationError(_("A rejection needs its reason."), field="reason")
    with transaction.atomic():
        einvoice = EInvoice.objects.select_for_update().get(pk=einvoice.pk)
        EInvoiceStatusEvent.objects.create(
            einvoice=einvoice,
            status=status,
            reason=reason,
            platform_reference=platform_reference,
            # django-stubs types a foreign key to AUTH_USER_MODEL as the concrete User.
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
        einvoice.status = status
        einvoice.status_reason = reason
        einvoice.platform_reference = platform_reference or einvoice.platform_reference
        einvoice.status_at = timezone.now()
        einvoice.save(update_fields=["status", "status_reason", "platform_reference", "status_at"])
    return einvoice
