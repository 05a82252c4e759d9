"""The Django admin for records that are never written by hand (money, ledgers, sent e-mails)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never add, change or delete: those rows are written only by the services."""

    show_full_result_count = False  # no second COUNT over the whole table on every page

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
