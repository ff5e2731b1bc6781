"""Payment methods, credit and paying an invoice by card in the portals: /account/payment-methods/
and /account/invoices/<id>/pay/ for a customer, /partners/payment-methods/ and
/partners/invoices/<id>/pay/ for a partner, for the invoices addressed to its billing account.
And the gateways' doors: their webhooks (/payments/webhooks/<gateway>/) and the test gateway's
3-D Secure page.

Each view parses, calls one service and renders; the party comes from the portal's access
decorator (404 for anyone else) and each method through a selector scoped to it (another's:
404). The partner's and the customer's pages are one implementation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.models import Invoice
from billing.selectors import get_invoice_for_customer
from core import clock
from core.errors import ApplicationError
from partners.models import Partner
from partners.views import partner_required
from payments import selectors, services
from payments.forms import MANDATE_TEXT, NEW_CARD, CardAddForm, PayByCardForm, SepaMandateForm
from payments.gateways import gateway_codes
from payments.gateways.base import WebhookSignatureError
from payments.gateways.test import TestGateway
from payments.models import SandboxPayment
from storefront.models import HostedPageLink
from subscriptions.forms import add_refusal
from subscriptions.models import Customer
from subscriptions.views import customer_or_hosted, customer_required, posted

ACCOUNT = "account"
PARTNERS = "partners"


def _methods_page(
    request: HttpRequest,
    customer: Customer,
    portal: str,
    *,
    card_form: CardAddForm | None = None,
) -> HttpResponse:
    form = SepaMandateForm(posted(request) if card_form is None else None, self_service=True)
    if request.method == "POST" and card_form is None and form.is_valid():
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
            "card_form": card_form or CardAddForm(),
            "test_gateway": TestGateway.code == settings.PAYMENT_GATEWAY,
            "mandate_text": MANDATE_TEXT % {"creditor": settings.SELLER_NAME},
            "creditor": settings.SELLER_NAME,
        },
    )


def _card_add(request: HttpRequest, customer: Customer, portal: str) -> HttpResponse:
    form = CardAddForm(request.POST)
    if form.is_valid():
        try:
            method = services.card_add(customer=customer, today=clock.today(), **form.cleaned_data)
        except ApplicationError as error:
            add_refusal(form, error)
        else:
            if method.is_default:
                text = _("%(card)s is saved: it pays your next invoices.")
            else:
                text = _("%(card)s is saved.")
            messages.success(request, text % {"card": method})
            return redirect(f"{portal}:payment_methods")
    return _methods_page(request, customer, portal, card_form=form)


def _pay_page(request: HttpRequest, customer: Customer, invoice: Invoice, portal: str):
    """Pay an open invoice by card: a saved card or one typed in; then the attempt's status
    (being confirmed, paid, declined and why), the page refreshing itself while the bank
    confirms."""
    cards = selectors.cards_of(customer)
    form = PayByCardForm(posted(request), cards=cards)
    url = reverse(f"{portal}:invoice_pay", args=[invoice.pk])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["method"] == NEW_CARD:
                card = services.card_details(
                    number=data["number"],
                    expiry=data["expiry"],
                    holder=data["holder"],
                    today=clock.today(),
                )
                attempt = services.card_payment_create(
                    invoice=invoice, card=card, day=clock.today(), return_url=url
                )
            else:
                method = selectors.get_payment_method_for_customer(customer, int(data["method"]))
                attempt = services.card_payment_create(
                    invoice=invoice, method=method, day=clock.today(), return_url=url
                )
        except ApplicationError as error:
            add_refusal(form, error)
        else:
            if attempt.status == attempt.Status.REQUIRES_ACTION:
                return redirect(attempt.action_url)
            return redirect(url)
    invoice.refresh_from_db()
    attempt = selectors.latest_card_payment(invoice)
    return render(
        request,
        "payments/pay.html",
        {
            "portal": portal,
            "base_template": f"{portal}/base.html",
            "organisation": customer.name,
            "invoice": invoice,
            "left": invoice.total.amount - invoice.amount_paid.amount,
            "payable": invoice.kind == Invoice.Kind.INVOICE
            and invoice.status in Invoice.PAYABLE_STATUSES,
            "attempt": attempt,
            "waiting": attempt is not None and attempt.status == attempt.Status.PROCESSING,
            "form": form,
            "test_gateway": TestGateway.code == settings.PAYMENT_GATEWAY,
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


@customer_or_hosted(HostedPageLink.Page.PAYMENT_METHODS)
def payment_methods(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _methods_page(request, customer, ACCOUNT)


@customer_or_hosted(HostedPageLink.Page.PAYMENT_METHODS)
@require_POST
def card_add(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _card_add(request, customer, ACCOUNT)


@customer_required
def invoice_pay(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _pay_page(request, customer, get_invoice_for_customer(customer, pk), ACCOUNT)


@customer_or_hosted(HostedPageLink.Page.PAYMENT_METHODS)
@require_POST
def payment_method_default(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _make_default(request, customer, pk, ACCOUNT)


@customer_or_hosted(HostedPageLink.Page.PAYMENT_METHODS)
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
def partner_card_add(request: HttpRequest, partner: Partner) -> HttpResponse:
    return _card_add(request, _account_of(partner), PARTNERS)


@partner_required
def partner_invoice_pay(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    """The partner pays, by its billing account's cards, what is invoiced to that account (its
    customers' own invoices are theirs to pay: 404)."""
    account = _account_of(partner)
    return _pay_page(request, account, get_invoice_for_customer(account, pk), PARTNERS)


@partner_required
@require_POST
def partner_payment_method_default(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    return _make_default(request, _account_of(partner), pk, PARTNERS)


@partner_required
@require_POST
def partner_payment_method_revoke(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    return _revoke(request, _account_of(partner), pk, PARTNERS)


# The gateways' doors ---------------------------------------------------------------------------------


@csrf_exempt  # a provider signs its webhooks: no session, no CSRF cookie
@require_POST
def gateway_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """`POST /payments/webhooks/<gateway>/`: a provider's event. 400 when the signature (or the
    body) is wrong, nothing recorded; 200 once recorded, and again for a replay, so that the
    provider stops retrying."""
    if gateway not in gateway_codes():
        raise Http404
    try:
        event = services.gateway_webhook_receive(
            gateway_code=gateway, body=request.body, headers=dict(request.headers)
        )
    except WebhookSignatureError as error:
        return JsonResponse({"detail": str(error)}, status=400)
    return JsonResponse({"received": event.provider_event_id})


def test_gateway_authenticate(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The test gateway's 3-D Secure page: the payer approves or refuses the payment, then goes
    back to the page that asked. A provider's page, not Cadence's: no login, the payment's
    random id is the key (as a bank's challenge page)."""
    if TestGateway.code != settings.PAYMENT_GATEWAY:
        raise Http404
    payment = SandboxPayment.objects.filter(provider_id=payment_id).first()
    if payment is None:
        raise Http404
    if request.method == "POST":
        TestGateway().authenticate(
            provider_payment_id=payment_id, approve=request.POST.get("decision") == "approve"
        )
        back = payment.return_url
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect(request.path)
    return render(
        request,
        "payments/test_gateway_3ds.html",
        {"payment": payment, "pending": payment.status == payment.Status.REQUIRES_ACTION},
    )
