"""The Django admin of purchases: for looking, not for writing. Purchases, refunds and
cancellations are money: they are made only by the services (the staff pages and the API), and
are never edited or deleted here."""

from django.contrib import admin

from config.readonly_admin import ReadOnlyAdmin

from .models import (
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ("code", "amount", "currency", "method", "gateway_reference", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "created_at",
        "buyer",
        "subscription",
        "amount",
        "currency",
        "payment_type",
        "status",
    )
    list_filter = ("status", "payment_type", "currency", "is_recurring")
    search_fields = ("code", "buyer__email", "gateway_reference", "coupon_code")
    list_select_related = ("buyer", "subscription")
    date_hierarchy = "created_at"
    inlines = [RefundInline]


@admin.register(PurchaseSession)
class PurchaseSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "buyer",
        "subscription",
        "transaction_type",
        "price",
        "currency",
        "consumed_at",
    )
    list_filter = ("transaction_type",)
    search_fields = ("buyer__email", "udid", "user_ip")
    list_select_related = ("buyer", "subscription")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("code", "created_at", "purchase", "amount", "currency", "method", "created_by")
    search_fields = ("code", "purchase__code", "gateway_reference")
    list_select_related = ("purchase__subscription", "created_by")


@admin.register(Cancellation)
class CancellationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "purchase", "mode", "by_buyer", "created_by")
    list_filter = ("mode", "by_buyer")
    list_select_related = ("purchase__subscription", "created_by")


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "gateway",
        "kind",
        "pnref",
        "amount",
        "currency",
        "status",
        "result_code",
    )
    list_filter = ("gateway", "kind", "status")
    search_fields = ("pnref", "idempotency_key")


class ContractTransactionInline(admin.TabularInline):
    model = ContractTransaction
    fields = (
        "transaction_date",
        "period",
        "attempt",
        "amount",
        "currency",
        "status",
        "pnref",
        "result_code",
        "response_message",
        "auth_code",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RecurringContract)
class RecurringContractAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "buyer",
        "subscription",
        "amount",
        "currency",
        "status",
        "next_bill_date",
        "failed_attempts",
    )
    list_filter = ("status", "currency", "payment_type", "cancel_at_period_end")
    search_fields = ("code", "buyer__email", "purchase__code")
    list_select_related = ("buyer", "subscription")
    inlines = [ContractTransactionInline]


@admin.register(ContractTransaction)
class ContractTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "transaction_date",
        "contract",
        "period",
        "attempt",
        "amount",
        "currency",
        "status",
        "result_code",
    )
    list_filter = ("status", "currency")
    search_fields = ("contract__code", "pnref", "idempotency_key")
    list_select_related = ("contract",)
