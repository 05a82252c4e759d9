"""The Django admin of buyers, accesses and e-wallets: for admins; every write goes through the
same services as the pages, and a refusal shows beside its field. The wallet ledger is read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminURLFieldWidget
from django.db import models, transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import show_on_form
from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin, currency_code

from . import services
from .errors import BuyerError
from .models import (
    Access,
    AccessActivation,
    Buyer,
    SentEmail,
    WalletBalance,
    WalletEntry,
)
from .selectors import access_status_q
from .views import granted_again_message


class _DryRun(Exception):
    pass


class ServiceCheckedAdminForm(forms.ModelForm):
    """Runs the service in a rolled-back transaction during validation, so a refusal is shown
    beside its field; `save_model` then runs it for real."""

    def run_service(self, request_user=None):
        raise NotImplementedError

    def _post_clean(self):
        # The service, not the model's constraint validation, decides and names the field.
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.run_service()
                raise _DryRun
        except _DryRun:
            pass
        except BuyerError as error:
            show_on_form(self, error)


def _copy_saved(target, saved):
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False


class BuyerAdminForm(ServiceCheckedAdminForm):
    class Meta:
        model = Buyer
        fields = ["email", "phone", "name", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].required = False  # left out: the shop's, or the buyer's own

    def run_service(self, request_user=None):
        data = {
            key: self.cleaned_data.get(key) or "" for key in ("email", "phone", "name", "language")
        }
        if self.instance.pk:
            return services.update_buyer(buyer=self.instance, **data)
        return services.create_buyer(**data)


class WalletBalanceInline(admin.TabularInline):
    model = WalletBalance
    extra = 0
    fields = ["currency", "balance", "updated_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Buyer)
class BuyerAdmin(LargeTableAdmin):
    form = BuyerAdminForm
    list_display = ["code", "email", "phone", "name", "created_at", "pin_state"]
    search_fields = ["=code", "email", "phone", "name"]
    list_filter = ["created_at"]
    sortable_by = ["code", "email", "phone", "name", "created_at"]
    readonly_fields = ["code", "created_at", "pin_state", "pin_failed_attempts", "pin_locked_at"]
    fields = ["code", "email", "phone", "name", "language", "created_at", "pin_state"]
    inlines = [WalletBalanceInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description="purchase PIN")
    def pin_state(self, buyer):
        if buyer.pin_is_locked:
            return f"locked after {buyer.pin_failed_attempts} wrong tries"
        return "set" if buyer.has_pin else "not set"

    def save_model(self, request, obj, form, change):
        _copy_saved(obj, form.run_service())


class AccessStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Access.Status.choices

    def queryset(self, request, queryset):
        if self.value() in Access.Status.values:
            return queryset.filter(access_status_q(self.value()))
        return queryset


def https_by_default(model_field, **kwargs):
    """A web address typed without a scheme is read as https (Django 6's default)."""
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


class AccessAdminForm(ServiceCheckedAdminForm):
    class Meta:
        model = Access
        formfield_callback = https_by_default
        fields = [
            "buyer",
            "subscription",
            "activation_limit",
            "access_start",
            "access_expire",
            "custom_url",
            "use_subscription_custom_url",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "activation_limit" in self.fields and not self.instance.pk:
            self.fields["activation_limit"].help_text = _("Empty: the subscription's limit.")

    def run_service(self, request_user=None):
        data = self.cleaned_data
        changes = {
            key: data.get(key)
            for key in ("access_start", "access_expire", "use_subscription_custom_url")
            if key in self.fields
        }
        changes["custom_url"] = data.get("custom_url") or ""
        if self.instance.pk:
            return services.update_access(
                access=self.instance, activation_limit=data.get("activation_limit"), **changes
            )
        if data.get("activation_limit") is not None:
            changes["activation_limit"] = data["activation_limit"]
        return services.grant_access(
            subscription=data["subscription"],
            buyer=data["buyer"],
            granted_by=request_user,
            **changes,
        )


@admin.register(Access)
class AccessAdmin(LargeTableAdmin):
    form = AccessAdminForm
    formfield_overrides = {
        models.URLField: {"widget": AdminURLFieldWidget, "assume_scheme": "https"},
    }
    list_display = [
        "code",
        "buyer",
        "subscription",
        "status_display",
        "activations_display",
        "access_start",
        "access_expire",
        "purchased_at",
        "granted_by",
    ]
    list_filter = [AccessStatusFilter, "purchased_at"]
    sortable_by = ["code", "access_expire", "purchased_at"]
    list_select_related = ["buyer", "subscription", "granted_by"]
    search_fields = [
        "=code",
        "=hash",
        "buyer__email",
        "buyer__phone",
        "=buyer__code",
        "subscription__name",
        "=subscription__code",
    ]
    autocomplete_fields = ["buyer", "subscription"]
    actions = ["revoke_selected"]
    readonly_fields = [
        "code",
        "hash",
        "activations_used",
        "purchased_at",
        "granted_by",
        "revoked_at",
        "revoked_by",
        "created_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields += ["buyer", "subscription"]
            if obj.revoked_at is not None:
                fields += [
                    "activation_limit",
                    "access_start",
                    "access_expire",
                    "custom_url",
                    "use_subscription_custom_url",
                ]
        return fields

    @admin.display(description="status")
    def status_display(self, access):
        return access.get_status_display()

    @admin.display(description="activations")
    def activations_display(self, access):
        limit = access.activation_limit if access.activation_limit is not None else "∞"
        return f"{access.activations_used} / {limit}"

    def save_model(self, request, obj, form, change):
        if form.has_changed() or not change:
            saved = form.run_service(request_user=request.user)
            _copy_saved(obj, saved)
            obj.grant_outcome = getattr(saved, "grant_outcome", None)

    def _granted_again(self, obj) -> bool:
        outcome = getattr(obj, "grant_outcome", services.GrantOutcome.CREATED)
        return outcome != services.GrantOutcome.CREATED

    def log_addition(self, request, obj, message):
        # A grant that met the buyer's live access added nothing: its history says changed.
        if self._granted_again(obj):
            return self.log_change(request, obj, message)
        return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if not self._granted_again(obj):
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, granted_again_message(obj), messages.WARNING)
        return redirect(reverse("admin:buyers_access_change", args=[obj.pk]))

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted

    @admin.action(description="Revoke the selected accesses", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        count = 0
        for access in queryset.filter(revoked_at__isnull=True):
            services.revoke_access(access=access, revoked_by=request.user)
            count += 1
        self.message_user(request, f"{count} access(es) revoked.", messages.SUCCESS)

    def has_revoke_permission(self, request):
        return request.user.has_perm("buyers.revoke_access")


@admin.register(WalletEntry)
class WalletEntryAdmin(ReadOnlyAdmin):
    """The ledger: read-only; top-ups and adjustments are made from the buyer's page."""

    list_display = [
        "created_at",
        "buyer",
        "kind",
        "amount",
        currency_code,
        "balance_after",
        "reason",
        "reference",
        "created_by",
    ]
    list_filter = ["kind", "currency", "created_at"]
    list_select_related = ["buyer", "created_by"]
    sortable_by = ["created_at"]
    search_fields = ["=buyer__code", "buyer__email", "buyer__phone", "reason", "reference"]


@admin.register(AccessActivation)
class AccessActivationAdmin(ReadOnlyAdmin):
    list_display = ["access", "device_id", "ip_address", "first_seen_at"]
    list_select_related = ["access__buyer", "access__subscription"]
    # Newest first by key: one device's first use writes a row here, so no index of its own.
    ordering = ["-id"]
    sortable_by = []
    search_fields = ["=access__code", "=device_id"]


@admin.register(SentEmail)
class SentEmailAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "kind", "to", "subject", "access"]
    list_filter = ["kind", "sent_at"]
    ordering = ["-id"]  # newest first by key: written by every e-mail, no index of its own
    sortable_by = []
    list_select_related = ["access"]
    search_fields = ["to", "=key", "=access__code"]
