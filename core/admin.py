"""The outbox in the Django admin: what waits, what was sent, what failed for good and why. Rows
are written by the services only; an admin may send waiting or dead ones again."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from .models import AuditEntry, Event, OutboxMessage
from .outbox import send_again
from .readonly_admin import ReadOnlyAdmin


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "kind",
        "key",
        "status",
        "attempts",
        "created_at",
        "available_at",
        "sent_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("=key",)
    sortable_by = ("pk", "created_at")
    readonly_fields = (
        "kind",
        "key",
        "payload",
        "status",
        "attempts",
        "created_at",
        "available_at",
        "sent_at",
        "last_error",
    )
    fields = readonly_fields
    actions = ["send_selected_again"]

    def has_change_permission(self, request, obj=None):
        # The action changes rows; the page itself stays read-only (readonly_fields, no save).
        return obj is None and request.user.is_superuser

    @admin.action(description="Send the selected messages again now", permissions=["change"])
    def send_selected_again(self, request, queryset):
        count = send_again(queryset.values_list("pk", flat=True))
        messages.success(
            request,
            ngettext(
                "%(count)d message will be sent again now.",
                "%(count)d messages will be sent again now.",
                count,
            )
            % {"count": count},
        )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """Events as services recorded them (core/events.py); never changed."""

    list_display = ("created_at", "type", "object_code", "uid")
    list_filter = ("type",)
    search_fields = ("=object_code",)
    sortable_by = ("created_at",)
    readonly_fields = ("uid", "type", "created_at", "api_version", "object_code", "key", "data")
    fields = readonly_fields


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail (core/audit.py): read-only, never deleted, not even by an admin."""

    list_display = (
        "created_at",
        "actor_kind",
        "actor_label",
        "action",
        "object_kind",
        "object_code",
    )
    list_filter = ("actor_kind", "object_kind")
    search_fields = ("=object_code", "=actor_label")
    sortable_by = ("created_at",)
    readonly_fields = (
        "created_at",
        "actor_kind",
        "actor_id",
        "actor_label",
        "object_kind",
        "object_code",
        "object_label",
        "action",
        "changes",
        "address",
        "reason",
        "request_id",
        "batch",
    )
    fields = readonly_fields
