"""The Django admin of the catalog: for admins; saving goes through the same services as the pages.

An admin save that breaks a rule shows the service's message beside the field, like the pages.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminURLFieldWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet, construct_instance
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

from core.errors import show_on_form
from core.readonly_admin import QuickCheckboxAdmin

from . import errors, services
from .errors import CatalogError
from .forms import https_by_default
from .models import (
    Coupon,
    Media,
    PricingModel,
    ShopContacts,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)


class ServiceCheckedAdminForm(forms.ModelForm):
    """Runs the service's rules on the edited row and shows a refusal beside its field."""

    check = None  # a function of the unsaved instance that raises CatalogError

    def _post_clean(self):
        # The rules run before the model's own validation, so a refusal shows the service's
        # message beside its field rather than the name of the database constraint it guards.
        if not self.errors and self.check is not None:
            construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
            try:
                type(self).check(self.instance)
            except CatalogError as error:
                show_on_form(self, error)
                return
        super()._post_clean()
        if not self.errors and self.check is not None:
            try:
                type(self).check(self.instance)  # again: it also normalises what is saved
            except CatalogError as error:
                show_on_form(self, error)


class CatalogAdmin(QuickCheckboxAdmin):
    # Web addresses typed without a scheme are read as https (Django 6's default).
    formfield_overrides = {
        models.URLField: {"widget": AdminURLFieldWidget, "assume_scheme": "https"},
    }


class CatalogHistoryAdmin(SimpleHistoryAdmin, CatalogAdmin):
    pass


def _checked_form(model, check):
    return type(
        f"{model.__name__}AdminForm",
        (ServiceCheckedAdminForm,),
        {
            "check": staticmethod(check),
            "Meta": type(
                "Meta",
                (),
                {"model": model, "fields": "__all__", "formfield_callback": https_by_default},
            ),
        },
    )


def _kept_forms(formset):
    return [
        form
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
    ]


class SubscriptionMediaFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if self.instance.scope == Subscription.Scope.SINGLE and len(_kept_forms(self)) > 1:
            raise ValidationError(errors.SingleSubscriptionHoldsOneMedia.message)


class SubscriptionPricingModelFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if sum(bool(form.cleaned_data.get("is_default")) for form in _kept_forms(self)) > 1:
            raise ValidationError(gettext("Only one pricing model can be the default."))


class SubscriptionMediaInline(admin.TabularInline):
    model = SubscriptionMedia
    formset = SubscriptionMediaFormSet
    extra = 0
    autocomplete_fields = ["media"]
    readonly_fields = ["added_at"]


class SubscriptionPricingModelInline(admin.TabularInline):
    model = SubscriptionPricingModel
    formset = SubscriptionPricingModelFormSet
    extra = 0
    autocomplete_fields = ["pricing_model"]


@admin.register(Subscription)
class SubscriptionAdmin(CatalogHistoryAdmin):
    form = _checked_form(Subscription, services.check_subscription)
    list_display = [
        "code",
        "name",
        "kind",
        "scope",
        "period",
        "access_expire",
        "drm",
        "mandatory",
        "archived_at",
        "created_at",
    ]
    list_filter = ["kind", "scope", "drm", "mandatory", "provisioning_only", "archived_at"]
    search_fields = ["code", "name"]
    readonly_fields = ["code", "archived_at", "created_at", "updated_at"]
    inlines = [SubscriptionPricingModelInline, SubscriptionMediaInline]
    date_hierarchy = "created_at"


@admin.register(Media)
class MediaAdmin(CatalogAdmin):
    form = _checked_form(Media, services.check_media)
    list_display = ["code", "title", "kind", "status", "width", "height", "duration", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["code", "title"]
    readonly_fields = ["code"]


@admin.register(SubscriptionMedia)
class SubscriptionMediaAdmin(CatalogAdmin):
    list_display = ["subscription", "media", "added_at"]
    search_fields = ["subscription__code", "subscription__name", "media__code", "media__title"]
    autocomplete_fields = ["subscription", "media"]
    list_select_related = ["subscription", "media"]


@admin.register(PricingModel)
class PricingModelAdmin(CatalogHistoryAdmin):
    form = _checked_form(PricingModel, services.check_pricing_model)
    list_display = [
        "code",
        "title",
        "price",
        "currency",
        "is_recurring",
        "recurrence_unit",
        "recurrence_count",
        "rental_hours",
        "quality",
        "trial_days",
    ]
    list_filter = ["currency", "is_recurring", "quality", "grant_all_devices"]
    search_fields = ["code", "title"]
    readonly_fields = ["code", "created_at", "updated_at"]


@admin.register(SubscriptionPricingModel)
class SubscriptionPricingModelAdmin(CatalogHistoryAdmin):
    list_display = ["subscription", "pricing_model", "is_default"]
    list_filter = ["is_default"]
    search_fields = [
        "subscription__code",
        "subscription__name",
        "pricing_model__code",
        "pricing_model__title",
    ]
    autocomplete_fields = ["subscription", "pricing_model"]
    list_select_related = ["subscription", "pricing_model"]


class CouponAdminForm(_checked_form(Coupon, services.check_coupon)):
    def clean(self):
        cleaned = super().clean()
        try:
            services.check_coupon_subscriptions(
                cleaned.get("applies_to_all", False), cleaned.get("subscriptions")
            )
        except CatalogError as error:
            show_on_form(self, error)
        return cleaned


@admin.register(Coupon)
class CouponAdmin(CatalogAdmin):
    form = CouponAdminForm
    list_display = [
        "code",
        "discount_type",
        "percent",
        "amount",
        "currency",
        "valid_from",
        "valid_until",
        "uses",
        "use_limit",
        "uses_per_buyer",
        "first_purchase_only",
        "applies_to_all",
    ]
    list_filter = ["discount_type", "applies_to_all", "currency"]
    search_fields = ["code", "description"]
    autocomplete_fields = ["subscriptions"]
    readonly_fields = ["uses", "created_at"]


@admin.register(ShopContacts)
class ShopContactsAdmin(CatalogAdmin):
    form = _checked_form(ShopContacts, services.check_shop_contacts)
    list_display = ["name", "phone", "email", "site", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ShopContacts.objects.exists()
