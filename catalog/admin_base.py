"""What every Cadence admin shares: service validation, money inputs, audit history.

- A refusal from a service validator (ApplicationError) becomes a form error on the field it
  names, so the operator sees why, next to what to change; nothing is saved.
- Amounts are typed as plain decimals: the row has one `currency` column, chosen once.
- Every admin keeps the append-only history of simple-history, with who changed what and when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection, models
from django.forms.models import BaseInlineFormSet, _get_foreign_key
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from djmoney.models.fields import MoneyField
from simple_history.admin import SimpleHistoryAdmin

from core.errors import ApplicationError


def application_error_to_form(form: forms.BaseForm, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class MoneyAmountForm(forms.ModelForm):
    """Money amounts are edited as decimals (in the row's currency): show the Money's amount."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            value = self.initial.get(name)
            if isinstance(field, forms.DecimalField) and hasattr(value, "amount"):
                self.initial[name] = value.amount


class ServiceValidatedForm(MoneyAmountForm):
    """A model form that, once the fields are valid, asks a service whether the object may be
    saved. `service_validator(instance)` raises ApplicationError to refuse."""

    service_validator: Callable[[Any], None] | None = None

    def _post_clean(self) -> None:
        super()._post_clean()  # builds the instance and checks the database constraints
        validator = type(self).service_validator
        if validator is None or self.errors:
            return
        try:
            validator(self.instance)
        except ApplicationError as error:
            application_error_to_form(self, error)


class ValidatedInlineFormSet(BaseInlineFormSet):
    """An inline formset whose rows, taken together, are checked by `validate(parent, rows)`."""

    def validate(self, parent: models.Model, rows: list[models.Model]) -> None:
        return None

    def kept_instances(self) -> list[models.Model]:
        rows = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or (
                not form.has_changed() and form.instance.pk is None
            ):
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            rows.append(form.instance)
        return rows

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        try:
            self.validate(self.instance, self.kept_instances())
        except ApplicationError as error:
            raise ValidationError(error.message) from None


def money_as_decimal(db_field: models.Field, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=str(db_field.verbose_name).capitalize(),
        required=not db_field.blank,
        max_digits=db_field.max_digits,
        decimal_places=db_field.decimal_places,
        min_value=0,
        help_text=db_field.help_text,
        **kwargs,
    )


class MoneyAsDecimalMixin:
    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any):
        if isinstance(db_field, MoneyField):
            return money_as_decimal(db_field)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class EstimatedCountPaginator(Paginator):
    """An unfiltered list of a big table shows PostgreSQL's estimate of its size instead of
    counting every row (count(*) of 100,000 subscriptions on every page view is wasted work);
    a filtered or searched list, or a small table, is counted exactly."""

    ESTIMATE_ABOVE = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if (
            connection.vendor == "postgresql"
            and hasattr(queryset, "query")
            and not queryset.query.where
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return row[0]
        return super().count


class CadenceAdmin(MoneyAsDecimalMixin, SimpleHistoryAdmin):
    """Base admin: service validation of the form, money as decimals, audit history."""

    form = ServiceValidatedForm
    validator: Callable[[Any], None] | None = None
    list_per_page = 50
    audit_history_template = "admin/cadence_object_history.html"
    related_history_limit = 200

    @property
    def object_history_template(self) -> str | None:
        # A model without an audit table gets the admin's own history page and template.
        return self.audit_history_template if self.has_audit_history() else None

    def has_audit_history(self) -> bool:
        """Whether the model keeps a simple-history audit table (the catalog, subscriptions,
        partners do; invoices, lines and payments do not: issued documents are immutable and
        their life is in their events)."""
        return hasattr(self.model._meta, "simple_history_manager_attribute")

    def history_view_title(self, request: HttpRequest, obj: Any) -> str:
        # simple-history's own title reads "Historique de vue" in French.
        return _("History: %(object)s") % {"object": obj}

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None):
        if not self.has_audit_history():
            # simple-history's view needs the audit table: the admin's log of changes instead.
            return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
        # The rows edited inline (tiers, bundle items, plan features…) are part of the object
        # as the operator sees it: their changes are shown on its history page too.
        context = {"related_histories": self.related_histories(object_id), **(extra_context or {})}
        return super().history_view(request, object_id, extra_context=context)

    def related_histories(self, object_id: str) -> list[dict[str, Any]]:
        sections = []
        for inline in self.inlines:
            model = inline.model
            history = getattr(model, "history", None)
            if history is None:
                continue
            fk = _get_foreign_key(self.model, model, fk_name=getattr(inline, "fk_name", None))
            records = list(
                history.filter(**{fk.attname: unquote(object_id)})
                .select_related("history_user")
                .order_by("id", "history_date", "history_id")[: self.related_history_limit]
            )
            entries = []
            previous_by_row: dict[Any, Any] = {}
            for record in records:
                previous = previous_by_row.get(record.id)
                changes = []
                if previous is not None:
                    for change in record.diff_against(previous).changes:
                        field = model._meta.get_field(change.field)
                        label = capfirst(getattr(field, "verbose_name", change.field))
                        changes.append({"field": label, "old": change.old, "new": change.new})
                entries.append((record, changes))
                previous_by_row[record.id] = record
            if entries:
                entries.sort(key=lambda entry: entry[0].history_date, reverse=True)
                sections.append(
                    {"title": capfirst(model._meta.verbose_name_plural), "entries": entries}
                )
        return sections

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change=change, **kwargs)
        if self.validator is not None:
            form.service_validator = staticmethod(type(self).validator)
        return form

    def run_service(
        self, request: HttpRequest, objects: Iterable[Any], service: Callable[[Any], Any], done: str
    ) -> None:
        """Run `service` on each selected object; report each refusal by its message."""
        succeeded = 0
        for obj in objects:
            try:
                service(obj)
            except ApplicationError as error:
                self.message_user(request, f"{obj}: {error.message}", level=messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done % {"count": succeeded}, level=messages.SUCCESS)


class CadenceInline(MoneyAsDecimalMixin, admin.TabularInline):
    form = MoneyAmountForm
    extra = 0
    show_change_link = False


class CadenceStackedInline(MoneyAsDecimalMixin, admin.StackedInline):
    form = MoneyAmountForm
    extra = 0
