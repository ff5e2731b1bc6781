"""The home page sends each person to their own place."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from partners.selectors import partner_for_user
from subscriptions.selectors import customer_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if partner_for_user(request.user) is not None:
        return redirect("partners:customers")
    if customer_for_user(request.user) is not None:
        return redirect("account:subscriptions")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("login")
