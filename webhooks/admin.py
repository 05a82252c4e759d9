"""Webhooks in the Django admin: endpoints listed (never their secret), deliveries and their log
read-only. Endpoints are added on the Webhooks page, which shows the secret once."""

from django.contrib import admin

from core.readonly_admin import ReadOnlyAdmin

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("code", "url", "enabled", "failing_since", "created_at")
    list_filter = ("enabled",)
    search_fields = ("code", "url", "description")
    readonly_fields = (
        "code",
        "url",
        "event_types",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "created_at",
        "created_by",
    )
    fields = ("description", *readonly_fields)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status",)
    list_select_related = ("event", "endpoint")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("attempted_at", "endpoint", "status_code", "latency_ms", "error")
    list_filter = ("succeeded",)
    list_select_related = ("endpoint",)
