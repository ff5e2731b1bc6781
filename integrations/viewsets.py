"""The base of every API view: token-authenticated, role-resolved, tenant-scoped.

Views only parse input with serializers, call one service and render (DESIGN.md). Rows come from
`self.tenant` (integrations/access.py): another tenant's row is not found (404). A change takes
its subscription's row lock without waiting: when another change holds it, the answer is a 409
that says to retry, rather than a request queueing behind it.

A query parameter the operation does not take is a 400 naming it (as Stripe does): a mistyped
filter (`?custmer=3`) used to answer every row, as if no filter had been asked for. So is a
parameter given no value (`?issue_date_before=`), rather than being read as not given.
"""

from __future__ import annotations

from django.db import OperationalError, transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.settings import api_settings

from core.errors import ConflictError
from integrations.access import HasTenant, Tenant, request_tenant


class TenantMixin:
    """For API views: the caller's tenant, and a queryset that is empty while the OpenAPI
    schema is generated (no caller then)."""

    permission_classes = [IsAuthenticated, HasTenant]

    @property
    def tenant(self) -> Tenant:
        return request_tenant(self.request)

    def scoped(self, queryset: QuerySet) -> QuerySet:
        """Override: narrow `queryset` to the caller's rows."""
        raise NotImplementedError

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        errors = {
            name: [_("This operation takes no parameter of this name.")]
            for name in sorted(set(request.query_params) - query_parameters(self))
        }
        for name, values in request.query_params.lists():
            if name not in errors and "" in values:
                errors[name] = [_("Give this parameter a value, or leave it out.")]
        if errors:
            raise ValidationError(errors)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return self.scoped(queryset)


def lock_nowait(model: type[Model], pk: int, message: str | None = None) -> None:
    """Lock the row for the rest of the transaction, or refuse at once with a 409 when another
    transaction holds it (a concurrent change is being saved: retrying will see its result).

    PostgreSQL only: SQLite serialises writers on its own and ignores row locks.
    """
    try:
        with transaction.atomic():
            list(model.objects.select_for_update(nowait=True).filter(pk=pk).values_list("pk"))
    except OperationalError as error:
        raise ConflictError(
            message
            or _(
                "Another change to this %(object)s is being saved at this moment: retry in a few "
                "seconds."
            )
            % {"object": model._meta.verbose_name}
        ) from error


def query_parameters(view) -> set[str]:
    """The query parameters `view` takes, as its OpenAPI operation lists them: a list's filters
    and page; `format` where more than one renderer can answer."""
    names: set[str] = set()
    if getattr(view, "action", None) == "list":
        filterset_class = getattr(view, "filterset_class", None)
        for name, filter_ in (filterset_class.base_filters if filterset_class else {}).items():
            # A range filter (`renewal_date`) is asked as `renewal_date_after` / `_before`.
            suffixes = getattr(filter_.field_class.widget, "suffixes", None) or [None]
            names.update(f"{name}_{suffix}" if suffix else name for suffix in suffixes)
        paginator = view.paginator
        if paginator is not None:
            # A cursor pagination (the e-invoices' `after`) takes no parameter of its own.
            names.update(
                name
                for name in (
                    getattr(paginator, "page_query_param", None),
                    getattr(paginator, "page_size_query_param", None),
                )
                if name
            )
    if len(view.renderer_classes) > 1:
        names.add(api_settings.URL_FORMAT_OVERRIDE)
    # Parameters of the operation itself, beside the filters (an export's CSV delimiter).
    names.update(getattr(view, "extra_query_parameters", ()))
    return names
