"""What the storefront keeps, read-only for operators: sign-ups awaiting their email's
verification (and verified ones, with what they created) and the temporary links integrators
asked for. Both are written by the storefront's services only."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.admin_filters import YearMonthFieldListFilter
from storefront.models import HostedPageLink, SignUp


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SignUp)
class SignUpAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "email", "grid", "plan", "status", "verified_at", "customer"]
    # By year and month from today (catalog.admin_filters): no MIN/MAX/DISTINCT over the rows.
    list_filter = ["status", "grid", ("created_at", YearMonthFieldListFilter)]
    search_fields = ["email"]
    list_select_related = ["grid", "plan", "customer"]
    # The order is shown, never the password's hash.
    exclude = ["password"]
    readonly_fields = [
        "email",
        "status",
        "grid",
        "plan",
        "order",
        "ip_address",
        "created_at",
        "verified_at",
        "customer",
        "subscription",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A pending sign-up may be removed (the purge job does it after the delay anyway);
        # a verified one is the record of how a customer came.
        return obj is None or obj.status == SignUp.Status.PENDING


@admin.register(HostedPageLink)
class HostedPageLinkAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "customer",
        "page",
        "subscription",
        "expires_at",
        "expired",
        "opened_at",
    ]
    list_filter = ["page"]
    search_fields = ["customer__name"]
    list_select_related = ["customer", "subscription__plan", "subscription__customer"]
    readonly_fields = [
        "customer",
        "page",
        "subscription",
        "created_by",
        "created_at",
        "expires_at",
        "opened_at",
    ]

    @admin.display(description=_("expired"), boolean=True)
    def expired(self, link: HostedPageLink) -> bool:
        return link.expires_at <= timezone.now()
