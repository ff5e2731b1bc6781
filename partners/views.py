"""/partners/: the partner portal.

A partner user sees only its own partner's customers. Every view goes through
`partner_required` (the partner of the logged-in user, 404 for anyone else) and reads its rows
through the access helpers of partners/selectors.py, which answer 404 for another partner's
customer, subscription or invoice.

Each view parses its input, calls one service and renders. Purchases run in steps: the form
(with the estimated cost, from the service run with dry_run=True), the review (the dry run again,
so the figures are current, and the terms to accept), then the confirmation, the only step that
writes. The validated input is kept in the session between the steps. Subscriptions are always
sold through partners.services.subscription_sell, which applies the partner discount.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from billing.documents import seller
from catalog.models import Plan, SeatType
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from partners.forms import (
    AddSeatsForm,
    CustomerSearchForm,
    POReferenceForm,
    PurchaseForm,
    SeatReductionForm,
    sell_arguments,
    service_period_label,
)
from partners.models import Partner
from partners.selectors import (
    customer_devices,
    get_customer_for_partner,
    get_invoice_for_partner,
    get_subscription_for_partner,
    partner_customers,
    partner_invoices,
    partner_of_user,
    partner_sellable_plans,
    partner_subscriptions_of,
    plan_seat_types,
    seat_counts,
    seat_subscriptions,
)
from partners.services import subscription_sell
from payments.selectors import with_card_status
from reports.partner_figures import partner_figures
from subscriptions import services
from subscriptions.entitlements import subscription_features
from subscriptions.forms import AcceptTermsForm, CreditsTopupForm, add_refusal
from subscriptions.models import Customer, Subscription, SubscriptionContract
from subscriptions.selectors import (
    charge_summary,
    held_contracts,
    subscription_overviews,
    summaries_by_period,
    usage_blocks,
    with_usage_flag,
)
from subscriptions.views import (
    cancellation_page,
    einvoice_response,
    paginate,
    pdf_response,
    posted,
    term_periods,
)

CHANNEL = "partner portal"
CUSTOMERS_PER_PAGE = 25
INVOICES_PER_PAGE = 50


def partner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; then only a user of an active partner gets in (404 for anyone else)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        partner = partner_of_user(request.user)
        if partner is None:
            raise Http404
        return view(request, partner, *args, **kwargs)

    return wrapper


def page(request: HttpRequest, partner: Partner, template: str, context: dict) -> HttpResponse:
    return render(request, template, {"partner": partner, "organisation": partner.name, **context})


def _customer_url(customer: Customer, anchor: str = "") -> str:
    url = reverse("partners:customer", args=[customer.pk])
    return f"{url}#{anchor}" if anchor else url


def _purchase_key(customer: Customer) -> str:
    return f"partners:purchase:{customer.pk}"


def _seats_key(customer: Customer) -> str:
    return f"partners:add-seats:{customer.pk}"


# Customers ---------------------------------------------------------------------------------------


@partner_required
def customer_list(request: HttpRequest, partner: Partner) -> HttpResponse:
    form = CustomerSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    customers = paginate(request, partner_customers(partner, search), CUSTOMERS_PER_PAGE)
    return page(
        request,
        partner,
        "partners/customers.html",
        {"form": form, "search": search, "page_obj": customers},
    )


@partner_required
def customer_detail(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    customer = get_customer_for_partner(partner, pk)
    today = clock.today()
    subscriptions = with_usage_flag(partner_subscriptions_of(partner, customer))
    overviews = subscription_overviews(subscriptions, today)
    devices = customer_devices(customer)
    live = [o for o in overviews if o.subscription.status in Subscription.LIVE_STATUSES]
    features = subscription_features(subscriptions=[o.subscription for o in overviews], day=today)
    contracts = held_contracts([o.pk for o in overviews], today)
    return page(
        request,
        partner,
        "partners/customer.html",
        {
            "customer": customer,
            "overview_rows": [(o, contracts.get(o.pk, [])) for o in overviews],
            "devices": devices,
            "seat_counts": seat_counts(devices, overviews),
            "overviews": overviews,
            "can_add_seats": any(o.seats for o in live),
            "features": features,
            "usage": usage_blocks([o.subscription for o in live], day=today),
            "today": today,
        },
    )


# Creating a subscription -------------------------------------------------------------------------


def _chosen_plan(request: HttpRequest, plans: list[Plan]) -> Plan:
    wanted = request.POST.get("plan") or request.GET.get("plan")
    return next((p for p in plans if str(p.pk) == wanted), plans[0])


@partner_required
def subscription_new(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    customer = get_customer_for_partner(partner, pk)
    today = clock.today()
    plans = partner_sellable_plans(customer, today)
    if not plans:
        messages.error(
            request,
            _("No plan in %(currency)s can be sold to %(customer)s today.")
            % {"currency": customer.currency, "customer": customer.name},
        )
        return redirect(_customer_url(customer))
    plan = _chosen_plan(request, plans)
    seat_types = plan_seat_types(plan)
    devices = {d.seat_type_id: d.count for d in customer_devices(customer)}
    form_args = {"plan": plan, "plans": plans, "seat_types": seat_types, "devices": devices}
    estimate = None
    if request.method == "POST":
        form = PurchaseForm(request.POST, **form_args)
        if form.is_valid():
            purchase = form.purchase()
            try:
                result = subscription_sell(
                    customer=customer,
                    plan=plan,
                    today=today,
                    dry_run=True,
                    **sell_arguments(purchase),
                )
            except ApplicationError as refusal:
                add_refusal(form, refusal)
            else:
                if request.POST.get("action") == "review":
                    request.session[_purchase_key(customer)] = purchase
                    return redirect("partners:subscription_review", pk=customer.pk)
                estimate = charge_summary(result.next_charges, customer.currency)
    else:
        kept = request.session.get(_purchase_key(customer))
        if kept and kept["plan"] == plan.pk:
            initial = PurchaseForm.initial_from(kept, seat_types)
        else:
            initial = {"start_date": today}
        form = PurchaseForm(initial=initial, **form_args)
    return page(
        request,
        partner,
        "partners/subscription_form.html",
        {
            "customer": customer,
            "plan": plan,
            "plans": plans,
            "form": form,
            "estimate": estimate,
            "today": today,
        },
    )


@partner_required
def subscription_review(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    customer = get_customer_for_partner(partner, pk)
    today = clock.today()
    purchase = request.session.get(_purchase_key(customer))
    plan = next(
        (
            p
            for p in partner_sellable_plans(customer, today)
            if purchase and p.pk == purchase["plan"]
        ),
        None,
    )
    if plan is None:
        request.session.pop(_purchase_key(customer), None)
        messages.info(request, _("Fill in the purchase first."))
        return redirect("partners:subscription_new", pk=customer.pk)
    arguments = sell_arguments(purchase)
    form = AcceptTermsForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = subscription_sell(
                customer=customer,
                plan=plan,
                today=today,
                actor=request.user,
                channel=CHANNEL,
                **arguments,
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            del request.session[_purchase_key(customer)]
            messages.success(
                request,
                format_html(
                    "{} {}{}",
                    _("The subscription is confirmed."),
                    result.message,
                    _issued_links(result.invoices),
                ),
            )
            return redirect(_customer_url(customer, f"subscription-{result.subscription.pk}"))
    preview, refusal = None, None
    try:
        preview = subscription_sell(
            customer=customer, plan=plan, today=today, dry_run=True, **arguments
        )
    except ApplicationError as error:
        refusal = error.message
    seat_types = {s.pk: s for s in plan_seat_types(plan)}
    service_period = next(
        (
            service_period_label(o.years, o.discount_percent)
            for o in plan.service_periods.all()
            if o.years == arguments["service_period_years"]
        ),
        "",
    )
    return page(
        request,
        partner,
        "partners/subscription_review.html",
        {
            "customer": customer,
            "plan": plan,
            "purchase": arguments,
            "seats": [
                (seat_types[k], v) for k, v in arguments["seats"].items() if v and k in seat_types
            ],
            "service_period": service_period,
            "preview": preview,
            "estimate": charge_summary(preview.next_charges, customer.currency)
            if preview
            else None,
            # A past start: each period begun since then, on its own invoice.
            "catch_up": summaries_by_period(preview.charges, customer.currency) if preview else [],
            "refusal": refusal,
            "form": form,
        },
    )


def _issued_links(invoices) -> str:
    """ " Issued: F2026-000001 (129.60 EUR), …", each number a link to its PDF."""
    if not invoices:
        return ""
    links = format_html_join(
        ", ",
        '<a href="{}">{}</a> ({})',
        (
            (
                reverse("partners:invoice_pdf", args=[invoice.pk]),
                invoice.number,
                money_text(invoice.total, invoice.currency),
            )
            for invoice in invoices
        ),
    )
    return format_html(" {} {}.", _("Issued:"), links)


# Adding seats ------------------------------------------------------------------------------------


@partner_required
def seats_add(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    customer = get_customer_for_partner(partner, pk)
    subscriptions, seat_types = seat_subscriptions(partner, customer)
    if not subscriptions:
        messages.error(
            request,
            _("%(customer)s has no subscription to add seats to.") % {"customer": customer.name},
        )
        return redirect(_customer_url(customer))
    form_args = {"subscriptions": subscriptions, "seat_types": seat_types}
    if request.method == "POST":
        form = AddSeatsForm(request.POST, **form_args)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.seats_add(
                    subscription=data["subscription"],
                    seat_type=data["seat_type"],
                    quantity=data["quantity"],
                    today=clock.today(),
                    dry_run=True,
                )
            except ApplicationError as refusal:
                add_refusal(form, refusal)
            else:
                request.session[_seats_key(customer)] = {
                    "subscription": data["subscription"].pk,
                    "seat_type": data["seat_type"].pk,
                    "quantity": data["quantity"],
                }
                return redirect("partners:seats_add_review", pk=customer.pk)
    else:
        initial = request.session.get(_seats_key(customer)) or {}
        requested = request.GET.get("subscription")
        if requested and requested.isdigit():
            initial = {**initial, "subscription": int(requested)}
        form = AddSeatsForm(initial=initial, **form_args)
    return page(
        request,
        partner,
        "partners/seats_add.html",
        {"customer": customer, "form": form, "subscriptions": subscriptions},
    )


@partner_required
def seats_add_review(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    customer = get_customer_for_partner(partner, pk)
    kept = request.session.get(_seats_key(customer))
    if not kept:
        messages.info(request, _("Choose the seats to add first."))
        return redirect("partners:seats_add", pk=customer.pk)
    subscription = get_subscription_for_partner(partner, kept["subscription"])
    seat_type = SeatType.objects.filter(pk=kept["seat_type"]).first()
    if subscription.customer_id != customer.pk or seat_type is None:
        raise Http404
    today = clock.today()
    arguments = {
        "subscription": subscription,
        "seat_type": seat_type,
        "quantity": kept["quantity"],
        "today": today,
    }
    form = AcceptTermsForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.seats_add(**arguments, actor=request.user, channel=CHANNEL)
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            del request.session[_seats_key(customer)]
            messages.success(request, result.message)
            return redirect(_customer_url(customer, f"subscription-{subscription.pk}"))
    preview, refusal = None, None
    try:
        preview = services.seats_add(**arguments, dry_run=True)
    except ApplicationError as error:
        refusal = error.message
    return page(
        request,
        partner,
        "partners/seats_add_review.html",
        {
            "customer": customer,
            "subscription": subscription,
            "seat_type": seat_type,
            "quantity": kept["quantity"],
            "preview": preview,
            "now": charge_summary(preview.charges, subscription.currency) if preview else None,
            "after": charge_summary(preview.next_charges, subscription.currency)
            if preview
            else None,
            "refusal": refusal,
            "form": form,
            "today": today,
        },
    )


# Changes to one subscription ---------------------------------------------------------------------


@partner_required
def contract_topup(
    request: HttpRequest, partner: Partner, pk: int, contract_pk: int
) -> HttpResponse:
    """Credits bought for the customer on a credit-based contract: invoiced to the partner at
    once. A refusal is shown on the customer's page and changes nothing."""
    subscription = get_subscription_for_partner(partner, pk)
    held = SubscriptionContract.objects.filter(pk=contract_pk, subscription=subscription).first()
    if held is None:
        raise Http404
    target = _customer_url(subscription.customer, f"contract-{held.pk}")
    if request.method != "POST":
        return redirect(target)
    form = CreditsTopupForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(target)
    try:
        entry = services.credits_topup(
            subscription_contract=held,
            credits=form.cleaned_data["credits"],
            day=clock.today(),
            actor=request.user,
            channel=CHANNEL,
        )
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("%(credits)s credits bought: they are invoiced at once.")
            % {"credits": f"{entry.amount:.2f}"},
        )
    return redirect(target)


@partner_required
def po_reference(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    subscription = get_subscription_for_partner(partner, pk)
    form = POReferenceForm(posted(request), initial={"po_reference": subscription.po_reference})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.subscription_set_po_reference(
                subscription=subscription,
                po_reference=form.cleaned_data["po_reference"],
                today=clock.today(),
                actor=request.user,
                channel=CHANNEL,
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, result.message)
            return redirect(_customer_url(subscription.customer, f"subscription-{subscription.pk}"))
    return page(
        request,
        partner,
        "partners/po_reference.html",
        {"subscription": subscription, "customer": subscription.customer, "form": form},
    )


@partner_required
def seats_reduce(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    subscription = get_subscription_for_partner(partner, pk)
    held = list(subscription.seats.select_related("seat_type").filter(quantity__gt=0))
    form = SeatReductionForm(posted(request), seat_types=[s.seat_type for s in held])
    today = clock.today()
    preview = None
    # Inside the freeze, said up front: no form to fill in only to be refused.
    frozen = services.seat_reduction_freeze(subscription=subscription, today=today)
    if frozen is None and request.method == "POST" and form.is_valid():
        arguments = {
            "subscription": subscription,
            "seat_type": form.cleaned_data["seat_type"],
            "quantity": form.cleaned_data["quantity"],
            "today": today,
        }
        try:
            if request.POST.get("action") == "confirm":
                result = services.seats_reduce(**arguments, actor=request.user, channel=CHANNEL)
                messages.success(request, result.message)
                return redirect(
                    _customer_url(subscription.customer, f"subscription-{subscription.pk}")
                )
            preview = services.seats_reduce(**arguments, dry_run=True)
        except ApplicationError as refusal:
            add_refusal(form, refusal)
    return page(
        request,
        partner,
        "partners/seats_reduce.html",
        {
            "subscription": subscription,
            "customer": subscription.customer,
            "term": subscription.term,
            **term_periods(subscription.term),
            "held": held,
            "form": form,
            "frozen": frozen,
            "preview": preview,
            "today": today,
        },
    )


@partner_required
def cancel(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    subscription = get_subscription_for_partner(partner, pk)
    return cancellation_page(
        request,
        subscription,
        template="partners/cancel.html",
        context={
            "partner": partner,
            "organisation": partner.name,
            "customer": subscription.customer,
            "term": subscription.term,
        },
        done_url=_customer_url(subscription.customer, f"subscription-{subscription.pk}"),
        channel=CHANNEL,
    )


# Invoices ----------------------------------------------------------------------------------------


@partner_required
def invoice_list(request: HttpRequest, partner: Partner) -> HttpResponse:
    invoices = paginate(request, with_card_status(partner_invoices(partner)), INVOICES_PER_PAGE)
    return page(
        request,
        partner,
        "partners/invoices.html",
        {
            "page_obj": invoices,
            "payment_details": seller()["payment_details"],
            # It pays by card what is invoiced to its billing account.
            "payer_id": partner.account_id,
        },
    )


@partner_required
def figures(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The partner's own figures (reports.partner_figures): nothing of another partner's."""
    figures = partner_figures(partner=partner, today=clock.today())
    return page(
        request,
        partner,
        "partners/figures.html",
        {
            "figures": figures,
            # "MRR at the price you pay": shown only once it is computed (None until then).
            "mrr": figures.mrr,
        },
    )


@partner_required
def invoice_document(request: HttpRequest, partner: Partner, pk: int) -> HttpResponse:
    return pdf_response(get_invoice_for_partner(partner, pk))


@partner_required
def invoice_einvoice(
    request: HttpRequest, partner: Partner, pk: int, file_format: str
) -> HttpResponse:
    return einvoice_response(get_invoice_for_partner(partner, pk), file_format)
