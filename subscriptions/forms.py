"""Forms check the shape of input (types, required, ranges); the rules are the services'.

A service's CatalogError is shown beside the field it names (`core.errors.show_on_form`).
"""

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.forms import DateOrDateTimeField, ModelMultipleChoiceField, stored_integer_range
from core.money import currency_choices

from .models import Coupon, Media, PricingModel, ShopContacts, Subscription


def https_by_default(model_field, **kwargs):
    """Form fields from model fields; a web address typed without a scheme is read as https."""
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


class ServiceModelForm(forms.ModelForm):
    """Fields typed from the model; the service, not the model, decides what may be saved."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model's own validators are not run (_post_clean), so a number too big for its
        # column is refused here, beside its field, rather than by the database.
        for name, field in self.fields.items():
            if not isinstance(field, forms.IntegerField) or field.max_value is not None:
                continue
            try:
                bounds = stored_integer_range(self._meta.model._meta.get_field(name))
            except FieldDoesNotExist:
                continue
            if bounds is not None:
                field.max_value = bounds[1]
                field.validators.append(MaxValueValidator(bounds[1]))
                field.widget.attrs.setdefault("max", bounds[1])

    def _post_clean(self):
        # ModelForm would validate the model's constraints here with generic messages; the
        # service checks the same rules and names the field, so nothing is done twice.
        pass

    def fieldsets(self):
        """[(legend, [bound fields])] from `fieldset_layout`, else all fields in one group."""
        layout = getattr(self, "fieldset_layout", None) or [("", list(self.fields))]
        return [(legend, [self[name] for name in names]) for legend, names in layout]


class SubscriptionForm(ServiceModelForm):
    access_start = DateOrDateTimeField(
        label=_("Access start"),
        help_text=_("A date alone means 00:00:01 in the shop's time zone."),
    )
    access_expire = DateOrDateTimeField(
        label=_("Access expires"),
        help_text=_("A date alone means 23:59:59 in the shop's time zone."),
    )
    sale_start = DateOrDateTimeField(label=_("On sale from"))
    sale_end = DateOrDateTimeField(label=_("On sale until"))
    pricing_models = ModelMultipleChoiceField(
        label=_("Pricing models offered"),
        queryset=PricingModel.objects.order_by("title", "pk"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    default_pricing_model = forms.ModelChoiceField(
        label=_("Default pricing model"),
        queryset=PricingModel.objects.order_by("title", "pk"),
        required=False,
        help_text=_("Empty: the first one offered."),
    )

    fieldset_layout = [
        (_("What it is"), ["name", "kind", "collection_type", "scope", "description", "materials"]),
        (_("Price"), ["pricing_models", "default_pricing_model"]),
        (
            _("Access"),
            ["period", "access_start", "access_expire", "activation"],
        ),
        (_("Sale"), ["sale_start", "sale_end", "stock", "provisioning_only", "mandatory"]),
        (
            _("Options"),
            ["buy_redirect_url", "custom_url", "ip_recovery", "device_ban", "buyer_commission"],
        ),
        (
            _("DRM"),
            [
                "drm",
                "downloadable_origin",
                "preview",
                "watermark",
                "watermark_email",
                "watermark_name",
                "watermark_ip",
            ],
        ),
    ]

    class Meta:
        model = Subscription
        formfield_callback = https_by_default
        fields = [
            "name",
            "kind",
            "collection_type",
            "scope",
            "description",
            "materials",
            "period",
            "activation",
            "buy_redirect_url",
            "custom_url",
            "ip_recovery",
            "device_ban",
            "buyer_commission",
            "drm",
            "downloadable_origin",
            "preview",
            "watermark",
            "watermark_email",
            "watermark_name",
            "watermark_ip",
            "stock",
            "provisioning_only",
            "mandatory",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "materials": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            for field in ("access_start", "access_expire", "sale_start", "sale_end"):
                self.initial.setdefault(field, getattr(instance, field))
            offers = list(instance.offers.all())
            self.initial.setdefault("pricing_models", [offer.pricing_model_id for offer in offers])
            default = next((offer for offer in offers if offer.is_default), None)
            if default:
                self.initial.setdefault("default_pricing_model", default.pricing_model_id)


class MediaForm(ServiceModelForm):
    class Meta:
        model = Media
        formfield_callback = https_by_default
        fields = [
            "title",
            "kind",
            "status",
            "width",
            "height",
            "duration",
            "poster_url",
            "hls_url",
            "download_url",
        ]


class PricingModelForm(ServiceModelForm):
    device_types = forms.MultipleChoiceField(
        label=_("Device types"),
        choices=PricingModel.DeviceType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only when it does not grant all devices."),
    )

    fieldset_layout = [
        (_("Price"), ["title", "price", "currency", "quality"]),
        (
            "One-time or recurring",
            ["is_recurring", "recurrence_unit", "recurrence_count", "trial_days", "rental_hours"],
        ),
        ("Devices", ["grant_all_devices", "device_types"]),
    ]

    class Meta:
        model = PricingModel
        fields = [
            "title",
            "price",
            "currency",
            "is_recurring",
            "recurrence_unit",
            "recurrence_count",
            "rental_hours",
            "quality",
            "grant_all_devices",
            "device_types",
            "trial_days",
        ]
        help_texts = {"price": "In the currency's units, like 9.99 EUR or 1000 JPY."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "---------"), *currency_choices()]


class CouponForm(ServiceModelForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        required=False,
        help_text=_(
            "What buyers type, like SUMMER25; letter case does not matter. "
            "Empty: a code is generated."
        ),
    )
    valid_from = DateOrDateTimeField(label=_("Valid from"))
    valid_until = DateOrDateTimeField(
        label=_("Valid until"), help_text=_("A date alone means until 23:59:59 that day.")
    )
    subscriptions = ModelMultipleChoiceField(
        label=_("Subscriptions"),
        queryset=Subscription.objects.filter(archived_at__isnull=True).order_by("name", "pk"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Only when it does not apply to every subscription."),
    )

    fieldset_layout = [
        (_("Coupon"), ["code", "description"]),
        (_("Discount"), ["discount_type", "percent", "amount", "currency"]),
        (_("Validity"), ["valid_from", "valid_until", "use_limit"]),
        (_("Who may use it"), ["uses_per_buyer", "first_purchase_only"]),
        (_("Applies to"), ["applies_to_all", "subscriptions"]),
    ]

    class Meta:
        model = Coupon
        fields = [
            "code",
            "description",
            "discount_type",
            "percent",
            "amount",
            "currency",
            "use_limit",
            "uses_per_buyer",
            "first_purchase_only",
            "applies_to_all",
            "subscriptions",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "---------"), *currency_choices()]
        if self.instance.pk:
            self.initial.setdefault("valid_from", self.instance.valid_from)
            self.initial.setdefault("valid_until", self.instance.valid_until)


class ShopContactsForm(ServiceModelForm):
    class Meta:
        model = ShopContacts
        formfield_callback = https_by_default
        fields = ["name", "phone", "email", "site", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"phone": _("A phone number or an e-mail address is required.")}


class AttachMediaForm(forms.Form):
    media = forms.CharField(label=_("Media code"), max_length=32)

    def clean_media(self):
        code = self.cleaned_data["media"].strip()
        media = Media.objects.filter(code=code).first()
        if media is None:
            raise forms.ValidationError(_("No media has this code."))

        return media
