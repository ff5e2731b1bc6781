"""Rendering: the invoice PDF (WeasyPrint, in the customer's language) and the emails."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceReminder, NoticeReminder


def seller() -> dict[str, str]:
    return {
        "name": settings.SELLER_NAME,
        "address": settings.SELLER_ADDRESS,
        "vat_number": settings.SELLER_VAT_NUMBER,
        "payment_details": settings.SELLER_PAYMENT_DETAILS,
    }


def document_title(invoice: Invoice) -> str:
    return _("Credit note") if invoice.kind == Invoice.Kind.CREDIT_NOTE else _("Invoice")


def invoice_html(invoice: Invoice) -> str:
    with translation.override(invoice.language):
        return render_to_string(
            "billing/invoice_pdf.html",
            {
                "invoice": invoice,
                "lines": list(invoice.lines.order_by("position", "id")),
                "taxes": list(invoice.taxes.order_by("rate")),
                "seller": seller(),
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
            "seller": settings.SELLER_NAME,
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
