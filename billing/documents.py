"""Rendering: the invoice PDF (WeasyPrint, in the customer's language) and the emails."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEvent, InvoiceReminder, NoticeReminder, Payment
from billing.parties import seller_snapshot
from catalog.models import SellerProfile
from core.money import money_text


def payment_details(iban: str, bic: str) -> str:
    """Where to pay by transfer, as printed: the seller's IBAN and BIC, else SELLER_PAYMENT_DETAILS."""
    if not iban:
        return settings.SELLER_PAYMENT_DETAILS
    return f"IBAN {iban}" + (f" — BIC {bic}" if bic else "")


def seller() -> dict[str, str]:
    """The seller as emails and pages name it: the seller profile (admin), else SELLER_*."""
    profile = SellerProfile.current()
    saved = profile.pk is not None
    return {
        "name": profile.legal_name,
        "vat_number": profile.vat_number,
        "payment_details": payment_details(profile.iban if saved else "", profile.bic),
    }


def document_title(invoice: Invoice) -> str:
    return _("Credit note") if invoice.kind == Invoice.Kind.CREDIT_NOTE else _("Invoice")


def printed_seller(invoice: Invoice) -> dict[str, str]:
    """The seller as it was at issue; a draft shows the profile as it is now."""
    return invoice.seller or seller_snapshot(SellerProfile.current())


def invoice_html(invoice: Invoice) -> str:
    with translation.override(invoice.language):
        printed = printed_seller(invoice)
        footer = printed.get("footer_fr") if invoice.language[:2] == "fr" else ""
        return render_to_string(
            "billing/invoice_pdf.html",
            {
                "invoice": invoice,
                "lines": list(invoice.lines.order_by("position", "id")),
                "taxes": list(invoice.taxes.order_by("rate", "category")),
                "seller": printed,
                "payment_details": payment_details(printed.get("iban", ""), printed.get("bic", "")),
                "footer": footer or printed.get("footer_en", ""),
                "title": document_title(invoice),
            },
        )


def invoice_pdf(invoice: Invoice) -> bytes:
    # Heavy (pango, cairo, fonts): loaded when a PDF is made, not by every process that imports
    # billing (the web workers, the beat, the billing run).
    import weasyprint  # noqa: PLC0415

    return weasyprint.HTML(
        string=invoice_html(invoice), base_url=str(settings.BASE_DIR)
    ).write_pdf()


def invoice_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"


def invoice_email(invoice: Invoice, recipients: list[str]) -> EmailMessage:
    with translation.override(invoice.language):
        context = {"invoice": invoice, "seller": seller(), "title": document_title(invoice)}
        subject = _("%(title)s %(number)s from %(seller)s") % {
            "title": context["title"],
            "number": invoice.number,
            "seller": context["seller"]["name"],
        }
        body = render_to_string("billing/email/invoice.txt", context)
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach(invoice_filename(invoice), invoice_pdf(invoice), "application/pdf")
    return message


def reminder_email(reminder: InvoiceReminder, recipients: list[str]) -> EmailMessage:
    invoice = reminder.invoice
    with translation.override(invoice.language):
        subject = _("Reminder %(level)s: invoice %(number)s is overdue") % {
            "level": reminder.level,
            "number": invoice.number,
        }
        body = render_to_string(
            "billing/email/reminder.txt",
            {"invoice": invoice, "reminder": reminder, "seller": seller()},
        )
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach(invoice_filename(invoice), invoice_pdf(invoice), "application/pdf")
    return message


def payment_failed_email(event: InvoiceEvent, recipients: list[str]) -> EmailMessage:
    """A payment of the invoice failed (a declined card, a returned debit): how much, why, and
    how to pay, in the invoice's language."""
    invoice = event.invoice
    data = event.data
    with translation.override(invoice.language):
        subject = _("Your payment for invoice %(number)s failed") % {"number": invoice.number}
        method = data.get("method", "")
        body = render_to_string(
            "billing/email/payment_failed.txt",
            {
                "invoice": invoice,
                "amount": money_text(abs(Decimal(data.get("amount", "0"))), invoice.currency),
                "method": Payment.Method(method).label if method in Payment.Method else method,
                # The failure in words (a card's decline, a debit's return reason in the
                # invoice's language), else what the bank or the gateway gave.
                "reason": data.get("message") or data.get("reason", ""),
                "seller": seller(),
            },
        )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def notice_email(notice: NoticeReminder, recipients: list[str]) -> EmailMessage:
    subscription = notice.subscription
    with translation.override(subscription.customer.locale):
        subject = _("Last days to cancel before the renewal of %(plan)s on %(date)s") % {
            "plan": subscription.plan.display_name,
            "date": notice.renewal_date.isoformat(),
        }
        body = render_to_string(
            "billing/email/notice.txt",
            {"notice": notice, "subscription": subscription, "seller": seller()},
        )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
