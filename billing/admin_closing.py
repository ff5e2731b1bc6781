"""The monthly close in the admin: the closes (read-only history), "Close the books" (the add
page, a month to close through) and "Reopen from this month" (an action, with a reason)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import ClosedMonth
from billing.services.closing import closed_through
from catalog.admin_base import CadenceAdmin, application_error_to_form
from core import clock
from core.errors import ApplicationError


class MonthField(forms.DateField):
    """A month typed as 2026-03 (the browser's month picker) or any day of it."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d"]


class CloseForm(forms.Form):
    month = MonthField(
        label=_("close the books through the end of"),
        help_text=_("Every month up to this one is closed with it."),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("why reopen"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


def _last_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


@admin.register(ClosedMonth)
class ClosedMonthAdmin(CadenceAdmin):
    list_display = ["__str__", "closed_at", "closed_by", "reopened_at", "reopened_by"]
    list_select_related = ["closed_by", "reopened_by"]
    actions = ["reopen"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ClosedMonth._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # closed and reopened through the services, kept as history

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        through = closed_through()
        subtitle = (
            _("The books are closed through %(day)s.")
            % {"day": formats.date_format(through, "DATE_FORMAT")}
            if through
            else _("No month is closed.")
        )
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = CloseForm(request.POST or None, initial={"month": _last_month(clock.today())})
        if request.method == "POST" and form.is_valid():
            try:
                close = services.month_close(month=form.cleaned_data["month"], user=request.user)
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("The books are closed through %(month)s.")
                    % {"month": formats.date_format(close.month, "F Y")},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_closedmonth_changelist"))
        return self._form_page(request, form, _("Close the books"), _("Close"), action="")

    @admin.action(description=_("Reopen the books from the selected month"))
    def reopen(self, request: HttpRequest, queryset):
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        months = sorted({close.month for close in queryset})
        if len(months) != 1:
            self.message_user(request, _("Select one month to reopen from."), messages.ERROR)
            return None
        form = ReopenForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            try:
                services.month_reopen(
                    month=months[0], user=request.user, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("The books are open again from %(month)s.")
                    % {"month": formats.date_format(months[0], "F Y")},
                    messages.SUCCESS,
                )
                return None
        return self._form_page(
            request,
            form,
            _("Reopen the books from %(month)s") % {"month": formats.date_format(months[0], "F Y")},
            _("Reopen"),
            action="reopen",
            selected=[close.pk for close in queryset],
        )

    def _form_page(self, request, form, title, button, *, action: str, selected=()):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "button": button,
            "action": action,
            "selected": selected,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/closed_month_form.html", context)
