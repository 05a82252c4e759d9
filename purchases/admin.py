"""The Django admin of purchases: for looking, not for writing. Purchases, refunds and
cancellations are money: they are made only by the services (the staff pages and the API), and
are never edited or deleted here."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.readonly_admin import ReadOnlyAdmin, currency_code
from subscriptions.admin import PricingModelAdmin

from .gateways import GATEWAYS, known_payment_types
from .models import (
    Cancellation,
    ContractChange,
    ContractPause,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)
from .services.contracts import apply_new_price_to_contracts


class KnownValuesFilter(admin.SimpleListFilter):
    """A filter whose choices are known in code: Django's default for a field without choices
    reads them with a DISTINCT over every row (130 ms a page on a million purchases)."""

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class PaymentTypeFilter(KnownValuesFilter):
    title = _("payment type")
    parameter_name = "payment_type"

    def lookups(self, request, model_admin):
        return known_payment_types()


class GatewayFilter(KnownValuesFilter):
    title = _("gateway")
    parameter_name = "gateway"

    def lookups(self, request, model_admin):
        return [(name, gateway.label) for name, gateway in GATEWAYS.items()]


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
        currency_code,
        "payment_type",
        "status",
    )
    list_filter = ("status", PaymentTypeFilter, "currency", "is_recurring", "created_at")
    sortable_by = ("code", "created_at", "amount")
    search_fields = ("=code", "buyer__email", "=gateway_reference")
    list_select_related = ("buyer", "subscription")
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
        currency_code,
        "consumed_at",
    )
    list_filter = ("transaction_type", "created_at")
    sortable_by = ("id", "created_at")
    search_fields = ("buyer__email", "=udid")
    list_select_related = ("buyer", "subscription")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "created_at",
        "purchase",
        "amount",
        currency_code,
        "method",
        "created_by",
    )
    list_filter = ("currency", "created_at")
    sortable_by = ("code", "created_at")
    search_fields = ("=code", "=purchase__code", "=gateway_reference")
    list_select_related = ("purchase__subscription", "created_by")


@admin.register(Cancellation)
class CancellationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "purchase", "mode", "by_buyer", "created_by")
    list_filter = ("mode", "by_buyer")
    sortable_by = ("created_at",)
    list_select_related = ("purchase__subscription", "created_by")


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "gateway",
        "kind",
        "pnref",
        "amount",
        currency_code,
        "status",
        "result_code",
    )
    list_filter = (GatewayFilter, "kind", "status", "created_at")
    ordering = ("-id",)  # written by every sandbox charge: newest first by key, no index of its own
    sortable_by = ()
    search_fields = ("=pnref", "=idempotency_key")


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


class ContractPauseInline(admin.TabularInline):
    model = ContractPause
    fields = (
        "starts_at",
        "ends_at",
        "open_ended",
        "periods",
        "created_by",
        "by_buyer",
        "resumed_at",
        "resumed_automatically",
        "next_bill_before",
        "next_bill_after",
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
        currency_code,
        "status",
        "next_bill_date",
        "failed_attempts",
    )
    list_filter = ("status", "currency", PaymentTypeFilter, "cancel_at_period_end")
    ordering = ("next_bill_date",)  # the renewals list's order, read from an index
    sortable_by = ("code", "amount", "next_bill_date")
    search_fields = ("=code", "buyer__email", "=purchase__code")
    list_select_related = ("buyer", "subscription")
    inlines = [ContractTransactionInline, ContractPauseInline]


@admin.register(ContractTransaction)
class ContractTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "transaction_date",
        "contract",
        "period",
        "attempt",
        "amount",
        currency_code,
        "status",
        "result_code",
    )
    list_filter = ("status", "currency", "transaction_date")
    sortable_by = ("transaction_date",)
    search_fields = ("=contract__code", "=pnref", "=idempotency_key")
    list_select_related = ("contract",)


@admin.register(ContractChange)
class ContractChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "requested_at",
        "contract",
        "from_pricing_model",
        "to_pricing_model",
        "timing",
        "status",
        "charged_now",
        currency_code,
    )
    list_filter = ("status", "timing")
    sortable_by = ("requested_at",)
    search_fields = ("=code", "=contract__code", "=pnref")
    list_select_related = ("contract", "from_pricing_model", "to_pricing_model")


@admin.action(
    description="Charge running contracts the current price from their next period",
    permissions=["change"],
)
def charge_running_contracts_the_current_price(modeladmin, request, queryset):
    """A price change reaches running contracts only when the shop says so, here."""
    changed = sum(apply_new_price_to_contracts(pricing_model=pm) for pm in queryset)
    modeladmin.message_user(
        request,
        f"{changed} running contract(s) will be charged the current price from their next period.",
    )


# The catalog's admin cannot know about contracts (layers): purchases adds its action there.
PricingModelAdmin.actions = [*PricingModelAdmin.actions, charge_running_contracts_the_current_price]
