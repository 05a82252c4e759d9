"""API keys in the Django admin: listed, searched and revoked; created on the staff page only,
since a key is readable only on the page that creates it."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from .keys import revoke_api_key, update_api_key
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "scopes",
        "rate_limit_per_minute",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = (
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    fields = ("name", "scopes", "rate_limit_per_minute", *readonly_fields)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        """Through the service, so this process reads the key afresh at once."""
        update_api_key(
            api_key=obj,
            name=obj.name,
            scopes=obj.scopes,
            rate_limit_per_minute=obj.rate_limit_per_minute,
        )

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            revoke_api_key(api_key=api_key, revoked_by=request.user)
        count = queryset.count()
        messages.success(
            request,
            ngettext("%(count)d API key revoked.", "%(count)d API keys revoked.", count)
            % {"count": count},
        )
