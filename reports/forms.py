"""The filters of every report: parsed and bounded here, so that a report only ever runs on
sensible months (2000 to 2100, at most ten years at once) and on rows that exist."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice
from catalog.models import Plan
from partners.models import Partner
from reports.months import months_back, months_between
from reports.specs import ReportFilters
from subscriptions.models import Subscription

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_MONTHS = 120  # ten years: 120 bars are already thinner than a pixel on a phone
MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-\d{1,2})?\s*$")


class MonthInput(forms.DateInput):
    input_type = "month"
    format = "%Y-%m"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m", attrs={"placeholder": "YYYY-MM"})


class MonthField(forms.Field):
    """A month typed "2026-07" (the browser's month picker; "2026-07-15" is taken too), as the
    first day of that month."""

    widget = MonthInput
    default_error_messages = {
        "invalid": _("Enter a month as YYYY-MM, for example 2026-07."),
        "bounds": _("Enter a month between %(first)s and %(last)s."),
    }

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value.replace(day=1)
        match = MONTH.match(str(value))
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValidationError(
                self.error_messages["bounds"],
                code="bounds",
                params={"first": f"{FIRST_YEAR}-01", "last": f"{LAST_YEAR}-12"},
            )
        return date(year, int(match[2]), 1)


def currencies_in_use() -> list[str]:
    """The currencies something was sold or invoiced in, else the default one."""
    used = set(Invoice.objects.values_list("currency", flat=True).distinct().order_by())
    used |= set(Subscription.objects.values_list("currency", flat=True).distinct().order_by())
    return sorted(used) or [settings.DEFAULT_CURRENCY]


def offer_every_choice(form: forms.Form) -> None:
    """The currency, plan and partner filters: the currencies in use, and "all" first."""
    currency_field = form.fields["currency"]
    assert isinstance(currency_field, forms.ChoiceField)
    currency_field.choices = [("", _("All currencies")), *((c, c) for c in currencies_in_use())]
    plan_field = form.fields["plan"]
    assert isinstance(plan_field, forms.ModelChoiceField)
    plan_field.empty_label = _("All plans")
    partner_field = form.fields["partner"]
    assert isinstance(partner_field, forms.ModelChoiceField)
    partner_field.empty_label = _("All partners")


class ReportFiltersForm(forms.Form):
    start = MonthField(label=_("From"))
    end = MonthField(label=_("To"))
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=Plan.objects.order_by("code"), required=False
    )
    partner = forms.ModelChoiceField(
        label=_("Partner"), queryset=Partner.objects.order_by("name"), required=False
    )

    FIELDS = ("start", "end", "currency", "plan", "partner")

    def __init__(self, data: Any = None, *, today: date, **kwargs: Any) -> None:
        # Unfiltered, a report shows the twelve months ending with the current one; a filter
        # left out of the query keeps its default.
        shown = months_back(today, 12)
        defaults = {"start": f"{shown[0]:%Y-%m}", "end": f"{shown[-1]:%Y-%m}"}
        bound = {**defaults, **{k: data[k] for k in self.FIELDS if data and k in data}}
        super().__init__(bound, **kwargs)
        offer_every_choice(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                self.add_error("end", _("The last month comes after the first."))
            elif len(months_between(start, end)) > MAX_MONTHS:
                self.add_error(
                    "end", _("Ask for at most %(count)s months at once.") % {"count": MAX_MONTHS}
                )
        return cleaned

    def filters(self) -> ReportFilters:
        """The validated filters (call after is_valid())."""
        data = self.cleaned_data
        return ReportFilters(
            start=data["start"],
            end=data["end"],
            currency=data.get("currency") or "",
            plan=data.get("plan"),
            partner=data.get("partner"),
        )


class MovementFiltersForm(forms.Form):
    """What the drill-down of a month's MRR movements is asked for."""

    month = MonthField(label=_("Month"))
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    kind = forms.ChoiceField(label=_("Movement"), required=False)
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=Plan.objects.order_by("code"), required=False
    )
    partner = forms.ModelChoiceField(
        label=_("Partner"), queryset=Partner.objects.order_by("name"), required=False
    )

    def __init__(self, data: Any = None, *, today: date, kinds: dict[str, str], **kwargs) -> None:
        defaults = {"month": f"{today:%Y-%m}"}
        bound = {**defaults, **{k: data[k] for k in self.base_fields if data and k in data}}
        super().__init__(bound, **kwargs)
        offer_every_choice(self)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", _("All movements")), *kinds.items()]
