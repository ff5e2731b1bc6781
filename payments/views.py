"""Payment methods and credit in the portals: /account/payment-methods/ for a customer, and
/partners/payment-methods/ for a partner, for the invoices addressed to its billing account.

Each view parses, calls one service and renders; the party comes from the portal's access
decorator (404 for anyone else) and each method through a selector scoped to it (another's:
404). The partner's and the customer's pages are one implementation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import clock
from core.errors import ApplicationError
from partners.models import Partner
from partners.views import partner_required
from payments import selectors, services
from payments.forms import MANDATE_TEXT, SepaMandateForm
from subscriptions.forms import add_refusal
from subscriptions.models import Customer
from subscriptions.views import customer_required, posted

ACCOUNT = "account"
PARTNERS = "partners"


def _methods_page(request: HttpRequest, customer: Customer, portal: str) -> HttpResponse:
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
                    "Your mandate %(reference)s is signed: your next invoices will be debited "
                    "from %(iban)s."
                )
                % {"reference": method.mandate_reference, "iban": method.masked_iban},
            )
            return redirect(f"{portal}:payment_methods")
    return render(
        request,
        "payments/payment_methods.html",
        {
            "portal": portal,
            "base_template": f"{portal}/base.html",
            "organisation": customer.name,
            "methods": selectors.payment_methods_of(customer),
            "credits": selectors.credit_balances(customer),
            "form": form,
            "mandate_text": MANDATE_TEXT % {"creditor": settings.SELLER_NAME},
            "creditor": settings.SELLER_NAME,
        },
    )


def _make_default(request: HttpRequest, customer: Customer, pk: int, portal: str) -> HttpResponse:
    method = selectors.get_payment_method_for_customer(customer, pk)
    try:
        services.payment_method_set_default(method=method)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(method)s pays your invoices from now on.") % {"method": method}
        )
    return redirect(f"{portal}:payment_methods")


def _revoke(request: HttpRequest, customer: Customer, pk: int, portal: str) -> HttpResponse:
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
    return redirect(f"{portal}:payment_methods")


# Self-service ------------------------------------------------------------------------------------


@customer_required
def payment_methods(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _methods_page(request, customer, ACCOUNT)


@customer_required
@require_POST
def payment_method_default(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _make_default(request, customer, pk, ACCOUNT)


@customer_required
@require_POST
def payment_method_revoke(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _revoke(request, customer, pk, ACCOUNT)


# Partner portal: the methods of the partner's billing account ------------------------------------


def _account_of(partner: Partner) -> Customer:
    if partner.account_id is None:
        raise Http404  # nothing is invoiced to a partner without a billing account
    return partner.account


@partner_required
def partner_payment_methods(request: HttpRequest, partner: Partner) -> HttpResponse:
    return _methods_page(request, _account_of(partner), PARTNERS)


@partner_required
@require_POST
def partner_payment_method_default(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    return _make_default(request, _account_of(partner), pk, PARTNERS)


@partner_required
@require_POST
def partner_payment_method_revoke(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    return _revoke(request, _account_of(partner), pk, PARTNERS)
