"""The hosted checkout: /offers/<grid>/<plan>/ (the order), …/review/ (the preview, the terms,
Confirm), /offers/welcome/ (check your inbox) and /offers/verify/<token>/ (asks to confirm the
address; confirmed, the subscription starts).

Each view parses, calls storefront.services.signup, and renders. The order is kept in the
session between the checkout and the review: plain values, a card's gateway token but never its
number, the password's hash but never the password. A logged-in customer subscribes as its
customer, without account or billing details and without verification.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.hashers import make_password
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing.models import Invoice
from catalog.models import Bundle, OffersGrid, Plan, Product
from catalog.selectors import plan_options
from core import clock
from core.errors import ApplicationError
from core.web.client_ip import client_ip
from partners.selectors import plan_seat_types
from payments.forms import MANDATE_TEXT
from storefront.forms import CheckoutForm, ReviewForm
from storefront.models import SignUp
from storefront.selectors import per_period
from storefront.services import signup as signups
from storefront.views.grid import visitor_country
from subscriptions.forms import add_refusal
from subscriptions.models import Customer, Subscription
from subscriptions.selectors import customer_of_user

LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _key(grid: OffersGrid, plan: Plan) -> str:
    return f"storefront:order:{grid.code}:{plan.code}"


def _grid_and_plan(grid_code: str, plan_code: str) -> tuple[OffersGrid, Plan]:
    grid = get_object_or_404(
        OffersGrid.objects.select_related("campaign"), code=grid_code, is_active=True
    )
    plan = signups.grid_plan(grid=grid, plan_code=plan_code)
    if plan is None:
        raise Http404
    return grid, plan


def _message(
    request: HttpRequest,
    title: str,
    text: str,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "storefront/message.html",
        {"title": title, "text": text, "link": link},
        status=status,
    )


def _who(
    request: HttpRequest, grid: OffersGrid, plan: Plan
) -> tuple[Customer | None, HttpResponse | None]:
    """The logged-in customer (None for a visitor), or the page refusing another login."""
    if grid.segment == OffersGrid.Segment.PARTNERS:
        return None, _message(
            request,
            _("Offers for partners"),
            _("Partners subscribe their customers in the partner portal, not here."),
            (reverse("partners:customers"), _("Go to the partner portal")),
        )
    if not request.user.is_authenticated:
        return None, None
    customer = customer_of_user(request.user)
    if customer is None:
        return None, _message(
            request,
            _("Log out to sign up"),
            _(
                "You are logged in with an account that is not a customer's (an operator's or "
                "a partner's): log out to sign up as a new customer."
            ),
        )
    return customer, None


def _options(plan: Plan) -> tuple[list[Product], list[Bundle]]:
    """The plan's options (catalog.selectors.plan_options) and its compatible add-on bundles."""
    prefetch_related_objects([plan], "bundles__items__product")
    return plan_options(plan), list(plan.addon_bundles.all())


def _login_url(request: HttpRequest) -> str:
    return f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"


def _context(grid: OffersGrid, plan: Plan, **extra: Any) -> dict[str, Any]:
    return {
        "grid": grid,
        "plan": plan,
        "mandate_text": MANDATE_TEXT % {"creditor": settings.SELLER_NAME},
        "billed": per_period(plan.billing_period),
        **extra,
    }


def checkout(request: HttpRequest, grid: str, plan: str) -> HttpResponse:
    grid_row, plan_row = _grid_and_plan(grid, plan)
    customer, refused = _who(request, grid_row, plan_row)
    if refused is not None:
        return refused
    today = clock.today()
    options, addons = _options(plan_row)
    payment_types = signups.payment_types_of(plan=plan_row, currency=grid_row.currency)
    form_args = {
        "plan": plan_row,
        "seat_types": plan_seat_types(plan_row),
        "options": options,
        "addons": addons,
        "payment_types": payment_types,
        "account": customer is None,
    }
    account_exists = False
    if request.method == "POST":
        form = CheckoutForm(request.POST, **form_args)
        if form.is_valid():
            order = form.order()
            data = form.cleaned_data
            email = data.get("email", "") if customer is None else customer.email
            keys = [email, client_ip(request)]
            try:
                if customer is None:
                    signups.email_check(email=email)
                signups.coupon_check(
                    grid=grid_row,
                    plan=plan_row,
                    order=order,
                    today=today,
                    keys=keys,
                    customer=customer,
                )
                signups.signup_preview(
                    grid=grid_row,
                    plan=plan_row,
                    order=order,
                    today=today,
                    email=email,
                    customer=customer,
                )
                if customer is None:
                    order["payment"] = signups.payment_details(
                        plan=plan_row,
                        currency=grid_row.currency,
                        payment_type=data["payment_type"],
                        today=today,
                        card={
                            "number": data.get("card_number", ""),
                            "expiry": data.get("card_expiry", ""),
                            "holder": data.get("card_holder", ""),
                        },
                        sepa={
                            "holder": data.get("sepa_holder", ""),
                            "iban": data.get("iban", ""),
                            "bic": data.get("bic", ""),
                            "accepted": data.get("sepa_accept", False),
                        },
                    )
            except ApplicationError as refusal:
                account_exists = refusal.code == "account_exists"
                add_refusal(form, refusal)
            else:
                request.session[_key(grid_row, plan_row)] = {
                    "order": order,
                    "email": email,
                    "password": make_password(data["password"]) if customer is None else "",
                }
                return redirect("storefront:review", grid=grid_row.code, plan=plan_row.code)
        # A card number is never sent back in a page: typed again after a refusal.
        form.data = form.data.copy()
        form.data["card_number"] = ""
    else:
        kept = request.session.get(_key(grid_row, plan_row))
        initial: dict[str, Any] = {}
        if kept:
            order = kept["order"]
            initial = {
                **(order.get("billing") or {}),
                "email": kept.get("email", ""),
                "coupon": order.get("coupon", ""),
                "payment_type": (order.get("payment") or {}).get("type"),
                **{f"seats_{k}": v for k, v in order.get("seats", {}).items()},
                **{f"option_{k}": v for k, v in order.get("options", {}).items()},
                **{f"addon_{k}": v for k, v in order.get("addons", {}).items()},
            }
        # The country the visitor chose on the grid (its link carries it), else the seller's.
        initial.setdefault("country", visitor_country(request))
        form = CheckoutForm(initial=initial, **form_args)
    return render(
        request,
        "storefront/checkout.html",
        _context(
            grid_row,
            plan_row,
            form=form,
            customer=customer,
            account_exists=account_exists,
            login_url=_login_url(request),
        ),
    )


def review(request: HttpRequest, grid: str, plan: str) -> HttpResponse:
    grid_row, plan_row = _grid_and_plan(grid, plan)
    customer, refused = _who(request, grid_row, plan_row)
    if refused is not None:
        return refused
    kept = request.session.get(_key(grid_row, plan_row))
    if not kept or (customer is None) != bool(kept.get("password")):
        messages.info(request, _("Fill in your order first."))
        return redirect("storefront:checkout", grid=grid_row.code, plan=plan_row.code)
    today = clock.today()
    order = kept["order"]
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            if customer is not None:
                subscription, invoices = signups.signup_subscribe(
                    grid=grid_row,
                    plan=plan_row,
                    order=order,
                    customer=customer,
                    user=request.user,
                    ip_address=client_ip(request) or None,
                    today=today,
                )
            else:
                signup = signups.signup_confirm(
                    grid=grid_row,
                    plan=plan_row,
                    order=order,
                    email=kept["email"],
                    password_hash=kept["password"],
                    ip_address=client_ip(request) or None,
                    today=today,
                )
        except ApplicationError as refusal:
            add_refusal(form, refusal)
        else:
            del request.session[_key(grid_row, plan_row)]
            if customer is not None:
                messages.success(request, _subscribed_text(subscription, invoices))
                return redirect("account:subscription", pk=subscription.pk)
            try:
                signups.signup_email_send(signup=signup, base_url=request.build_absolute_uri("/"))
            except (smtplib.SMTPException, OSError):
                messages.error(
                    request,
                    _(
                        "Your order is recorded but the email could not be sent: sign up again "
                        "in a few minutes."
                    ),
                )
                return redirect("storefront:checkout", grid=grid_row.code, plan=plan_row.code)
            request.session["storefront:welcome"] = signup.email
            return redirect("storefront:welcome")
    preview, refusal = None, None
    try:
        preview = signups.signup_preview(
            grid=grid_row,
            plan=plan_row,
            order=order,
            today=today,
            email=kept["email"],
            customer=customer,
        )
    except ApplicationError as error:
        refusal = error.message
    billing = order.get("billing") or {}
    return render(
        request,
        "storefront/review.html",
        _context(
            grid_row,
            plan_row,
            form=form,
            preview=preview,
            refusal=refusal,
            order=order,
            email=kept["email"],
            billing=billing,
            payment=order.get("payment") or {},
            customer=customer,
            term=plan_row.term,
            chosen=_chosen(plan_row, order),
        ),
    )


def _chosen(plan: Plan, order: dict[str, Any]) -> list[tuple[str, int]]:
    options, addons = _options(plan)
    names = {f"o{p.pk}": p.display_name for p in options} | {
        f"a{b.pk}": b.display_name for b in addons
    }
    seat_names = {str(t.pk): t.display_name for t in plan_seat_types(plan)}
    chosen = [
        (seat_names.get(str(k), "?"), int(v)) for k, v in order.get("seats", {}).items() if int(v)
    ]
    chosen += [
        (names.get(f"o{k}", "?"), int(v)) for k, v in order.get("options", {}).items() if int(v)
    ]
    chosen += [
        (names.get(f"a{k}", "?"), int(v)) for k, v in order.get("addons", {}).items() if int(v)
    ]
    return chosen


def _subscribed_text(subscription: Subscription, invoices: list[Invoice]) -> str:
    if invoices:
        return _(
            "Your subscription has started. Your first invoice, %(number)s, is in your invoices."
        ) % {"number": invoices[0].number}
    if subscription.trial_end:
        return _(
            "Your subscription has started: your free trial ends on %(date)s, when your first "
            "invoice is issued."
        ) % {"date": subscription.trial_end.isoformat()}
    return _("Your subscription has started.")


def welcome(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "storefront/welcome.html",
        {
            "email": request.session.get("storefront:welcome", ""),
            "hours": settings.STOREFRONT_SIGNUP_TTL_HOURS,
        },
    )


def _already_confirmed(request: HttpRequest) -> HttpResponse:
    return _message(
        request,
        _("Already confirmed"),
        _("This address is already confirmed and your subscription has started."),
        (reverse("account:subscriptions"), _("Go to your account")),
    )


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm, POST confirms: a link opened by a mail scanner or a link preview
    (a GET) neither starts the subscription nor uses the link up before its owner does."""
    if request.method == "GET":
        try:
            signup = signups.signup_of_link(token=token)
        except signups.SignUpLinkInvalid as refusal:
            return _message(request, _("This link cannot be used"), refusal.message, status=400)
        if signup.status == SignUp.Status.VERIFIED:
            return _already_confirmed(request)
        return render(request, "storefront/verify.html", {"signup": signup})
    try:
        result = signups.signup_verify(token=token, today=clock.today())
    except signups.SignUpLinkInvalid as refusal:
        return _message(request, _("This link cannot be used"), refusal.message, status=400)
    except ApplicationError as refusal:
        return _message(
            request,
            _("Your subscription could not start"),
            refusal.message,
            (reverse("storefront:index"), _("See the offers")),
        )
    if not result.created:
        return _already_confirmed(request)
    login(request, result.user, backend=LOGIN_BACKEND)
    text = (
        _("Your email address is confirmed: welcome!")
        + " "
        + _subscribed_text(result.subscription, result.invoices)
    )
    messages.success(request, text)
    return redirect("account:subscription", pk=result.subscription.pk)
