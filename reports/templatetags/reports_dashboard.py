"""`{% operator_dashboard %}`: the dashboard above the admin home's list of apps
(templates/admin/index.html). A tag rather than a custom AdminSite or a wrapped index view:
the stock admin site, its URLs and its tests stay as they are."""

from __future__ import annotations

from typing import Any

from django import template

from core import clock
from reports.dashboard import build_dashboard

register = template.Library()

MONTH_CHOICES = (12, 24)
# The figures are the business's: staff who may not read invoices get the plain admin home.
PERMISSION = "billing.view_invoice"


@register.inclusion_tag("reports/_dashboard.html", takes_context=True)
def operator_dashboard(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    if not request.user.has_perm(PERMISSION):
        return {"dashboard": None}
    try:
        months = int(request.GET.get("months", "12"))
    except ValueError:
        months = 12
    if months not in MONTH_CHOICES:
        months = 12
    return {
        "dashboard": build_dashboard(today=clock.today(), months=months),
        "months": months,
        "month_choices": MONTH_CHOICES,
    }
