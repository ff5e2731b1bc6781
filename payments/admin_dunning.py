"""The operators' dunning pages: the policies (edited here, checked by the model's rules) and
the steps taken on each invoice (read-only: the job writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from catalog.admin_base import CadenceAdmin
from catalog.admin_filters import YearMonthFieldListFilter
from payments.models import DunningPolicy, DunningStep


@admin.register(DunningPolicy)
class DunningPolicyAdmin(CadenceAdmin):
    list_display = [
        "name",
        "plan",
        "retry_days",
        "suspend_after_days",
        "hold_invoicing",
        "final_after_days",
        "final_action",
    ]
    list_select_related = ["plan"]
    autocomplete_fields = ["plan"]
    fieldsets = [
        (None, {"fields": ["name", "plan"]}),
        (_("Failed payments"), {"fields": ["retry_days"]}),
        (_("Unpaid after the due date"), {"fields": ["suspend_after_days", "hold_invoicing"]}),
        (_("Final step"), {"fields": ["final_after_days", "final_action"]}),
    ]


@admin.register(DunningStep)
class DunningStepAdmin(CadenceAdmin):
    list_display = ["day", "invoice", "customer", "step_label", "detail", "emailed_at"]
    # By year and month from today (catalog.admin_filters): no MIN/MAX/DISTINCT over the rows.
    list_filter = [
        "step",
        ("day", YearMonthFieldListFilter),
        ("day", admin.DateFieldListFilter),
    ]
    list_select_related = ["invoice__customer"]
    search_fields = ["invoice__number", "invoice__customer__name"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("customer"), ordering="invoice__customer__name")
    def customer(self, step: DunningStep) -> str:
        return step.invoice.customer_name or str(step.invoice.customer)

    @admin.display(description=_("step"), ordering="step")
    def step_label(self, step: DunningStep) -> str:
        return str(step)
