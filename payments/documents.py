"""The emails the payments app sends: what dunning did to a subscription, in the invoiced
party's language."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing.documents import seller
from payments.models import DunningStep


def dunning_email(step: DunningStep) -> EmailMessage:
    invoice = step.invoice
    subscription = invoice.subscription
    assert subscription is not None  # dunning_email_send's
    with translation.override(invoice.language):
        if step.step == DunningStep.Step.SUSPENDED:
            subject = _("%(plan)s is suspended: invoice %(number)s is unpaid")
        else:
            subject = _("%(plan)s is cancelled: invoice %(number)s is unpaid")
        subject = subject % {"plan": subscription.plan.display_name, "number": invoice.number}
        body = render_to_string(
            "payments/email/dunning.txt",
            {
                "step": step,
                "invoice": invoice,
                "subscription": subscription,
                "seller": seller(),
            },
        )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invoice.customer.email])
