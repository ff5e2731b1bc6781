"""/account/payment-methods/: a customer's payment methods and credit, in self-service.

Each view parses, calls one service and renders; the customer comes from `customer_required`
(404 for anyone else) and each method through a selector scoped to it (another's: 404).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import clock
from core.errors import ApplicationError
from payments import selectors, services
from payments.forms import MANDATE_TEXT, SepaMandateForm
from subscriptions.forms import add_refusal
from subscriptions.models import Customer
from subscriptions.views import customer_required, page, posted


@customer_required
def payment_methods(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = SepaMandateForm(posted(request), self_service=True)
    if request.method == "POST" and form.is_valid():
        try:
            method = services.sepa_mandate_add(
                customer=customer, today=clock.today(), **form.cleaned_data
            )
        except ApplicationError as error:
            add_refusal(form, error)
        else:
            messages.success(
                request,
                _(
                    "Your mandate %(reference)s is signed: your next invoices will be debited from %(iban)s."
                )
                % {"reference": method.mandate_reference, "iban": method.masked_iban},
            )
            return redirect("account:payment_methods")
    return page(
        request,
        customer,
        "account/payment_methods.html",
        {
            "methods": selectors.payment_methods_of(customer),
            "credits": selectors.credit_balances(customer),
            "form": form,
            "mandate_text": MANDATE_TEXT % {"creditor": settings.SELLER_NAME},
            "creditor": settings.SELLER_NAME,
        },
    )


@customer_required
@require_POST
def payment_method_default(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    method = selectors.get_payment_method_for_customer(customer, pk)
    try:
        services.payment_method_set_default(method=method)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(method)s pays your invoices from now on.") % {"method": method}
        )
    return redirect("account:payment_methods")


@customer_required
@require_POST
def payment_method_revoke(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    method = selectors.get_payment_method_for_customer(customer, pk)
    try:
        services.payment_method_revoke(method=method, today=clock.today())
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(method)s is revoked: nothing more will be debited from it.") % {"method": method},
        )
    return redirect("account:payment_methods")
