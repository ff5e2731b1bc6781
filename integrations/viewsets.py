"""The base of every API view: token-authenticated, role-resolved, tenant-scoped.

Views only parse input with serializers, call one service and render (DESIGN.md). Rows come from
`self.tenant` (integrations/access.py): another tenant's row is not found (404). A change takes
its subscription's row lock without waiting: when another change holds it, the answer is a 409
that says to retry, rather than a request queueing behind it.
"""

from __future__ import annotations

from django.db import OperationalError, transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework.permissions import IsAuthenticated

from catalog.core.errors import ConflictError
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
