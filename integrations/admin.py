"""Webhook endpoints (registered by operators) and the delivery log, in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.admin_filters import YearMonthFieldListFilter
from integrations import services
from integrations.models import (
    IdempotencyKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Receives a signed POST for each event (https)."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every event type."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "is_active", "event_types", "partner", "secret"]

    def clean_event_types(self) -> list[str]:
        return sorted(self.cleaned_data["event_types"])


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "is_active", "partner", "types", "created_at"]
    list_filter = ["is_active", "partner"]
    search_fields = ["name", "url"]
    readonly_fields = ["created_at"]

    @admin.display(description=_("event types"))
    def types(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types) or _("all")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "response_code",
        "succeeded",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, each attempt and its answer. Read-only; a failed
    delivery can be sent again."""

    list_display = [
        "created_at",
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "response_code",
        "last_attempt_at",
        "next_attempt_at",
    ]
    # By year and month from today (catalog.admin_filters): no MIN/MAX/DISTINCT over the rows.
    list_filter = ["status", "event_type", "endpoint", ("created_at", YearMonthFieldListFilter)]
    search_fields = ["event_id", "body"]
    list_select_related = ["endpoint"]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]
    fields = [
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send the failed deliveries again"))
    def send_again(self, request, queryset) -> None:
        failed = list(queryset.filter(status=WebhookDelivery.Status.FAILED))
        for delivery in failed:
            services.webhook_delivery_retry(delivery=delivery)
        self.message_user(
            request,
            ngettext(
                "%(count)s delivery queued again.",
                "%(count)s deliveries queued again.",
                len(failed),
            )
            % {"count": len(failed)},
            messages.SUCCESS,
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["created_at", "owner", "key", "method", "path", "response_status"]
    search_fields = ["key", "path", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = [
        "owner",
        "key",
        "method",
        "path",
        "fingerprint",
        "response_status",
        "response_body",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OperatorUserAdmin(UserAdmin):
    """Logins, which operators create and edit (partner and customer users, their API tokens).

    Powers are a superuser's to grant: an operator sees but cannot change who is staff (the
    API's operator role) or superuser, nor groups and permissions, and cannot edit a superuser
    (nor set its password)."""

    POWERS = ["is_staff", "is_superuser", "groups", "user_permissions"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self.POWERS
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), OperatorUserAdmin)
