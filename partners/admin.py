"""Partners in the admin: the organisations, their portal logins and their customers."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from catalog.admin_base import CadenceAdmin
from partners.models import Partner, PartnerCustomer, PartnerUser


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    fields = ["user"]
    autocomplete_fields = ["user"]
    extra = 0


class PartnerCustomerInline(admin.TabularInline):
    model = PartnerCustomer
    fields = ["customer"]
    autocomplete_fields = ["customer"]
    extra = 0
    show_change_link = True


@admin.register(Partner)
class PartnerAdmin(CadenceAdmin):
    list_display = ["code", "name", "email", "discount_percent", "customer_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "email"]
    # The billing account: the customer record its invoices are addressed to (billing-rules §9); the
    # "+" beside the field creates one.
    autocomplete_fields = ["account"]
    inlines = [PartnerUserInline, PartnerCustomerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_customers=Count("customer_links"))

    @admin.display(description=_("customers"), ordering="_customers")
    def customer_count(self, obj: Partner) -> int:
        return obj._customers
