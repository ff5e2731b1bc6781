"""/account/: the customer self-service pages.

Each view parses its input, calls one service (or selector) and renders; every page goes through
`customer_required`, which finds the customer of the logged-in user (404 for anyone else), and
every row is read through a selector scoped to that customer (another customer's row: 404).
A change is shown first — the service run with dry_run=True, which computes everything and rolls
back — and made on confirmation (POST, then redirect with a message). A refusal
(ApplicationError) is shown in the page and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import services as billing_services
from billing.documents import invoice_filename, invoice_pdf, seller
from billing.models import Invoice
from billing.selectors import customer_invoices, get_invoice_for_customer
from billing.services.einvoices import FORMATS as EINVOICE_FORMATS
from catalog.models import Plan, Term
from core import clock
from core.errors import ApplicationError
from core.periods import Period, Unit
from payments.selectors import with_card_status
from storefront.grants import HostedVisit, grant_for
from storefront.models import HostedPageLink
from storefront.services.links import hosted_link_check
from storefront.views.hosted import grant_expired, link_refused
from subscriptions import services
from subscriptions.entitlements import plan_change_features, subscription_features
from subscriptions.forms import ConfirmForm, CouponForm, CreditsTopupForm, add_refusal
from subscriptions.models import Customer, Subscription, SubscriptionContract, SubscriptionEvent
from subscriptions.selectors import (
    ChargeSummary,
    charge_summary,
    customer_of_user,
    get_subscription_for_customer_page,
    held_contracts,
    managed_elsewhere,
    subscription_overviews,
    subscriptions_for_pages,
    usage_blocks,
)

CHANNEL = "self-service"
HOSTED_CHANNEL = "hosted link"  # the same pages, reached through a temporary signed link
INVOICES_PER_PAGE = 50


# Shared with the partner portal ----------------------------------------------------------------


def posted(request: HttpRequest):
    """The form data of a POST (even an empty one, so that its form is bound and validated)."""
    return request.POST if request.method == "POST" else None


def pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_filename(invoice)}"'
    return response


def einvoice_response(invoice: Invoice, file_format: str) -> HttpResponse:
    """The e-invoice of an issued document (facturx, cii or ubl), made now if still missing;
    another format is not found."""
    if file_format not in EINVOICE_FORMATS:
        raise Http404
    file = billing_services.einvoice_file(invoice=invoice, file_format=file_format)
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


def paginate(request: HttpRequest, rows, per_page: int):
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def term_periods(term: Term | None) -> dict[str, Period | None]:
    """The term's notice period and seat-reduction freeze, for the pages to state the rules."""
    if term is None:
        return {"notice": None, "freeze": None}
    return {
        "notice": Period(term.notice_count, Unit(term.notice_unit)) if term.notice_count else None,
        "freeze": Period(term.freeze_count, Unit(term.freeze_unit)) if term.freeze_count else None,
    }


@dataclass(frozen=True)
class CancellationPreview:
    """What a cancellation asked today would do: its date, its charges (a penalty) and why."""

    effective_date: date | None
    rule: str
    message: str
    penalty: ChargeSummary


def cancellation_page(
    request: HttpRequest,
    subscription: Subscription,
    *,
    template: str,
    context: dict[str, Any],
    done_url: str,
    channel: str,
) -> HttpResponse:
    """Show the cancellation (effective date, penalty, rule) and cancel on confirmation."""
    today = clock.today()
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.subscription_cancel(
                subscription=subscription, today=today, actor=request.user, channel=channel
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, result.message)
            return redirect(done_url)
    preview, refusal = None, None
    try:
        result = services.subscription_cancel(subscription=subscription, today=today, dry_run=True)
    except ApplicationError as error:
        refusal = error.message
    else:
        preview = CancellationPreview(
            result.effective_date,
            result.rule,
            result.message,
            charge_summary(result.charges, subscription.currency),
        )
    return render(
        request,
        template,
        {
            **context,
            **term_periods(subscription.term),
            "subscription": subscription,
            "preview": preview,
            "refusal": refusal,
            "form": form,
            "today": today,
            "back_url": done_url,
        },
    )


# Access ------------------------------------------------------------------------------------------


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; then only a self-service user of a customer gets in (404 for others)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = customer_of_user(request.user)
        if customer is None:
            raise Http404
        return view(request, customer, *args, **kwargs)

    return wrapper


def customer_or_hosted(
    page: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """`customer_required`, or a hosted session for `page` (storefront/grants.py: a temporary
    signed link was opened): the link's customer, on that page only — for a plan change, its one
    subscription (the view's `pk`) — until the link expires; `request.hosted` says so to the
    pages. A visitor without a login whose grant is for this page but another subscription gets
    a 404; once the grant has expired, a page saying so. A logged-in customer goes on as usual."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        logged_in = customer_required(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            subscription_id = kwargs.get("pk") if page == HostedPageLink.Page.CHANGE_PLAN else None
            live, expired, page_granted = grant_for(request, page, subscription_id)
            if live is not None:
                try:  # still there (not withdrawn) and not expired
                    link = hosted_link_check(link_id=live.link_id)
                except ApplicationError as refusal:
                    return link_refused(request, refusal)
                request.hosted = HostedVisit(link.customer, link.expires_at)  # type: ignore[attr-defined]
                return view(request, link.customer, *args, **kwargs)
            if (page_granted or expired is not None) and customer_of_user(request.user) is None:
                if page_granted:
                    raise Http404
                assert expired is not None
                return grant_expired(request, expired)
            return logged_in(request, *args, **kwargs)

        return wrapper

    return decorator


def hosted(request: HttpRequest) -> bool:
    """Reached through a temporary signed link, not a login."""
    return getattr(request, "hosted", None) is not None


def _actor(request: HttpRequest):
    """Who made a change: the logged-in user, or nobody known (a signed link's visitor)."""
    return None if hosted(request) else request.user


def _channel(request: HttpRequest) -> str:
    return HOSTED_CHANNEL if hosted(request) else CHANNEL


def page(request: HttpRequest, customer: Customer, template: str, context: dict) -> HttpResponse:
    return render(
        request, template, {"customer": customer, "organisation": customer.name, **context}
    )


def _subscription_url(subscription: Subscription) -> str:
    return reverse("account:subscription", args=[subscription.pk])


def _managed_elsewhere(request: HttpRequest, subscription: Subscription) -> HttpResponse | None:
    """A change asked here of a partner's sale goes back to the subscription's page, saying
    whom to ask."""
    reason = managed_elsewhere(subscription)
    if reason is None:
        return None
    messages.error(request, reason)
    return redirect(_subscription_url(subscription))


# Pages -------------------------------------------------------------------------------------------


@customer_required
def subscription_list(request: HttpRequest, customer: Customer) -> HttpResponse:
    overviews = subscription_overviews(subscriptions_for_pages(customer), clock.today())
    return page(request, customer, "account/subscriptions.html", {"overviews": overviews})


def _subscription_page(
    request: HttpRequest,
    customer: Customer,
    subscription: Subscription,
    coupon_form: CouponForm | None = None,
    topup_form: CreditsTopupForm | None = None,
    topup_for: int | None = None,
) -> HttpResponse:
    today = clock.today()
    [overview] = subscription_overviews([subscription], today)
    features = subscription_features(subscriptions=[subscription], day=today)
    return page(
        request,
        customer,
        "account/subscription.html",
        {
            "overview": overview,
            "subscription": subscription,
            "features": features.get(subscription.pk, []),
            "coupon_form": coupon_form or CouponForm(),
            "contracts": held_contracts([subscription.pk], today).get(subscription.pk, []),
            # A subscription its partner manages is read here, not bought on.
            "topup_url_name": "" if subscription.is_managed else "account:contract_topup",
            "topup_form": topup_form,
            "topup_for": topup_for,
            "usage": usage_blocks([subscription], day=clock.today()),
            "show_usage_amounts": not subscription.is_managed,
            "can_redeem": not subscription.is_managed
            and subscription.status in Subscription.LIVE_STATUSES
            and subscription.status != Subscription.Status.PENDING_CANCELLATION,
        },
    )


@customer_required
def subscription_detail(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription = get_subscription_for_customer_page(customer, pk)
    return _subscription_page(request, customer, subscription)


def _coupon(request: HttpRequest, customer: Customer, pk: int, *, confirm: bool) -> HttpResponse:
    """The code typed, through the service: first its dry run, shown with a Confirm button
    (its discounts, the amount off and the invoice); confirmed, redeemed. A refusal (unknown,
    used up meanwhile…) shows in the subscription page's form."""
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    if request.method != "POST":
        return redirect(_subscription_url(subscription))
    form = CouponForm(request.POST)
    if form.is_valid():
        try:
            result = services.coupon_redeem(
                subscription=subscription,
                code=form.cleaned_data["code"],
                today=clock.today(),
                actor=request.user,
                channel=CHANNEL,
                dry_run=not confirm,
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            if confirm:
                messages.success(request, result.message)
                return redirect(_subscription_url(subscription))
            return page(
                request,
                customer,
                "account/coupon_confirm.html",
                {
                    "subscription": subscription,
                    "preview": result,
                    "code": result.event.data["code"],  # as generated, whatever the case typed
                    "voucher": result.event.kind == SubscriptionEvent.Kind.VOUCHER_REDEEMED,
                    "invoice": charge_summary(result.next_charges, subscription.currency),
                },
            )
    return _subscription_page(request, customer, subscription, coupon_form=form)


@customer_required
def coupon_redeem(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _coupon(request, customer, pk, confirm=False)


@customer_required
def coupon_redeem_confirm(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return _coupon(request, customer, pk, confirm=True)


@customer_required
def contract_topup(
    request: HttpRequest, customer: Customer, pk: int, contract_pk: int
) -> HttpResponse:
    """Credits bought on a credit-based contract: invoiced at once; a refusal shows in the
    subscription page's form."""
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    held = SubscriptionContract.objects.filter(pk=contract_pk, subscription=subscription).first()
    if held is None:
        raise Http404
    if request.method != "POST":
        return redirect(_subscription_url(subscription))
    form = CreditsTopupForm(request.POST)
    if form.is_valid():
        try:
            entry = services.credits_topup(
                subscription_contract=held,
                credits=form.cleaned_data["credits"],
                day=clock.today(),
                actor=request.user,
                channel=CHANNEL,
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request,
                _("%(credits)s credits bought: they are invoiced at once.")
                % {"credits": f"{entry.amount:.2f}"},
            )
            return redirect(f"{_subscription_url(subscription)}#contract-{held.pk}")
    return _subscription_page(request, customer, subscription, topup_form=form, topup_for=held.pk)


@dataclass(frozen=True)
class PlanOption:
    """A plan the subscription can move to, with what the move costs now and from when."""

    plan: Plan
    now: ChargeSummary | None = None
    after: ChargeSummary | None = None
    effective_date: date | None = None
    pending_fulfilment: bool = False
    message: str = ""
    refusal: str = ""


def _plan_option(subscription: Subscription, plan: Plan, today: date) -> PlanOption:
    try:
        result = services.subscription_change_plan(
            subscription=subscription, plan=plan, today=today, dry_run=True
        )
    except ApplicationError as refusal:
        return PlanOption(plan, refusal=refusal.message)
    return PlanOption(
        plan,
        now=charge_summary(result.charges, subscription.currency),
        after=charge_summary(result.next_charges, subscription.currency),
        effective_date=result.effective_date,
        pending_fulfilment=result.event is not None
        and result.event.kind == SubscriptionEvent.Kind.PLAN_CHANGE_REQUESTED,
        message=result.message,
    )


@customer_or_hosted(HostedPageLink.Page.CHANGE_PLAN)
def change_plan(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    today = clock.today()
    options = [
        _plan_option(subscription, plan, today)
        for plan in services.plan_change_options(subscription=subscription)
    ]
    return page(
        request,
        customer,
        "account/change_plan.html",
        {"subscription": subscription, "options": options, "today": today},
    )


@customer_or_hosted(HostedPageLink.Page.CHANGE_PLAN)
def change_plan_confirm(
    request: HttpRequest, customer: Customer, pk: int, plan_pk: int
) -> HttpResponse:
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    plan = next(
        (p for p in services.plan_change_options(subscription=subscription) if p.pk == plan_pk),
        None,
    )
    if plan is None:
        raise Http404
    today = clock.today()
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.subscription_change_plan(
                subscription=subscription,
                plan=plan,
                today=today,
                actor=_actor(request),
                channel=_channel(request),
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, result.message)
            if hosted(request):  # the link opens this subscription's plans, nothing else
                return redirect("account:change_plan", subscription.pk)
            return redirect("account:subscriptions")
    return page(
        request,
        customer,
        "account/change_plan_confirm.html",
        {
            "subscription": subscription,
            "feature_changes": plan_change_features(
                subscription=subscription, plan_id=plan.pk, day=today
            ),
            "option": _plan_option(subscription, plan, today),
            "form": form,
            "today": today,
        },
    )


@customer_required
def withdraw_plan_change(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    """Show what withdrawing the scheduled plan change does, and withdraw it on confirmation."""
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    today = clock.today()
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.subscription_withdraw_plan_change(
                subscription=subscription, today=today, actor=request.user, channel=CHANNEL
            )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, result.message)
            return redirect("account:subscriptions")
    [overview] = subscription_overviews([subscription], today)
    preview, refusal = None, None
    try:
        preview = services.subscription_withdraw_plan_change(
            subscription=subscription, today=today, dry_run=True
        )
    except ApplicationError as error:
        refusal = error.message
    return page(
        request,
        customer,
        "account/withdraw_plan_change.html",
        {
            "subscription": subscription,
            "change": overview.plan_change,
            "preview": preview,
            "after": charge_summary(preview.next_charges, subscription.currency)
            if preview
            else None,
            "refusal": refusal,
            "form": form,
        },
    )


@customer_required
def cancel(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    return cancellation_page(
        request,
        subscription,
        template="account/cancel.html",
        context={"customer": customer, "organisation": customer.name},
        done_url=reverse("account:subscriptions"),
        channel=CHANNEL,
    )


@customer_required
@require_POST
def undo_cancellation(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription = get_subscription_for_customer_page(customer, pk)
    if refused := _managed_elsewhere(request, subscription):
        return refused
    try:
        result = services.subscription_undo_cancellation(
            subscription=subscription, today=clock.today(), actor=request.user, channel=CHANNEL
        )
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, result.message)
    return redirect("account:subscriptions")


@customer_required
def invoice_list(request: HttpRequest, customer: Customer) -> HttpResponse:
    invoices = paginate(request, with_card_status(customer_invoices(customer)), INVOICES_PER_PAGE)
    return page(
        request,
        customer,
        "account/invoices.html",
        {
            "page_obj": invoices,
            "payment_details": seller()["payment_details"],
            "payer_id": customer.pk,
        },
    )


@customer_required
def invoice_document(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    return pdf_response(get_invoice_for_customer(customer, pk))


@customer_required
def invoice_einvoice(
    request: HttpRequest, customer: Customer, pk: int, file_format: str
) -> HttpResponse:
    return einvoice_response(get_invoice_for_customer(customer, pk), file_format)
