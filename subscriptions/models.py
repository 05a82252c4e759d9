"""The catalog: what a shop sells and how.

- Subscription: the pay-per-view product (reference 004 `create`): its kind, scope, access window
  or period, sale window, options and DRM options. It holds Media and offers PricingModels, one
  of them the default.
- Media: a video or audio file a subscription gives access to.
- PricingModel: a price in a currency, one-time (with rental hours) or recurring.
- Coupon: a discount code, percent or fixed amount, for some or all subscriptions.
- ShopContacts: the seller's contacts shown to buyers (reference 004 `contacts`), one row.

Rules that span rows or need a clear message live in `services.py`; the constraints below guard
what must never be stored even if some code forgets a rule.
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.codes import PublicCodeModel, new_public_code
from core.money import STORED_DECIMAL_PLACES, currency_choices, quantize

MONEY_DIGITS = 14


class Media(PublicCodeModel):
    """A video or audio file (reference 004 `listmedia` item)."""

    class Kind(models.TextChoices):
        VIDEO = "video", _("Video")
        AUDIO = "audio", _("Audio")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    title = models.CharField(_("title"), max_length=255)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VIDEO)
    width = models.PositiveIntegerField(_("width (px)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height (px)"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PROCESSING
    )
    poster_url = models.URLField(_("poster URL"), max_length=500, blank=True)
    hls_url = models.URLField(_("HLS URL"), max_length=500, blank=True)
    download_url = models.URLField(_("download link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("media")
        verbose_name_plural = _("media")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["video", "audio"]), name="media_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["processing", "done", "failed"]),
                name="media_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.code})"


class PricingModel(PublicCodeModel):
    """How a subscription is sold (reference 002 `PricingModel`): price, currency, recurrence."""

    class RecurrenceUnit(models.TextChoices):
        DAYS = "days", _("Days")
        WEEKS = "weeks", _("Weeks")
        MONTHS = "months", _("Months")
        YEARS = "years", _("Years")

    class Quality(models.TextChoices):
        SD = "SD", _("SD")
        HD = "HD", _("HD")
        UHD = "UHD", _("UHD")

    class DeviceType(models.TextChoices):
        WEB = "web", _("Web browser")
        MOBILE = "mobile", _("Phone")
        TABLET = "tablet", _("Tablet")
        SMART_TV = "smart_tv", _("Smart TV")
        SET_TOP_BOX = "set_top_box", _("Set-top box")
        CONSOLE = "console", _("Game console")

    title = models.CharField(_("title"), max_length=255)
    price = models.DecimalField(
        _("price"), max_digits=MONEY_DIGITS, decimal_places=STORED_DECIMAL_PLACES
    )
    currency = models.CharField(_("currency"), max_length=3, choices=currency_choices)
    is_recurring = models.BooleanField(_("recurring"), default=False)
    recurrence_unit = models.CharField(
        _("renews every (unit)"), max_length=6, choices=RecurrenceUnit.choices, blank=True
    )
    recurrence_count = models.PositiveSmallIntegerField(
        _("renews every (count)"), null=True, blank=True
    )
    rental_hours = models.PositiveIntegerField(
        _("rental hours"),
        null=True,
        blank=True,
        help_text=_("One-time access only; empty: no limit."),
    )
    quality = models.CharField(_("quality"), max_length=3, choices=Quality.choices, default="HD")
    grant_all_devices = models.BooleanField(_("grants all devices"), default=True)
    device_types = models.JSONField(_("device types"), default=list, blank=True)
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pricing model")
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0), name="pricing_model_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    is_recurring=True,
                    recurrence_unit__in=["days", "weeks", "months", "years"],
                    recurrence_count__gte=1,
                    rental_hours__isnull=True,
                )
                | Q(
                    is_recurring=False,
                    recurrence_unit="",
                    recurrence_count__isnull=True,
                    trial_days=0,
                ),
                name="pricing_model_recurrence_consistent",
            ),
            models.CheckConstraint(
                condition=Q(quality__in=["SD", "HD", "UHD"]), name="pricing_model_quality_valid"
            ),
        ]

    def __str__(self):
        return f"{self.title} · {self.price_display}"

    @property
    def price_display(self) -> str:
        return f"{quantize(self.price, self.currency)} {self.currency}"

    @property
    def recurrence_display(self) -> str:
        if not self.is_recurring:
            return gettext("one-time")
        count = self.recurrence_count
        if count == 1:
            return {
                "days": gettext("every day"),
                "weeks": gettext("every week"),
                "months": gettext("every month"),
                "years": gettext("every year"),
            }[self.recurrence_unit]
        # Russian says "every 21 days" with the singular's form: the count is in every form.
        return {
            "days": ngettext("every %(count)d day", "every %(count)d days", count),
            "weeks": ngettext("every %(count)d week", "every %(count)d weeks", count),
            "months": ngettext("every %(count)d month", "every %(count)d months", count),
            "years": ngettext("every %(count)d year", "every %(count)d years", count),
        }[self.recurrence_unit] % {"count": count}


class Subscription(PublicCodeModel):
    """The product a buyer gets access to (reference 004 `create`)."""

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Pay-per-view access")
        PASSWORD = "password", _("Password access")
        COLLECTION = "collection", _("Registration form")

    class CollectionType(models.TextChoices):
        COLLECT = "collect", _("Collect: access after filling in the form")
        PROTECT = "protect", _("Protect: access only for listed customers")

    class Scope(models.TextChoices):
        SINGLE = "single", _("Single media")
        GROUP = "group", _("Group of media")

    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(
        _("kind"), max_length=12, choices=Kind.choices, default=Kind.SUBSCRIPTION
    )
    collection_type = models.CharField(
        _("collection type"), max_length=7, choices=CollectionType.choices, blank=True
    )
    scope = models.CharField(_("scope"), max_length=6, choices=Scope.choices, default=Scope.SINGLE)
    description = models.TextField(_("description"), blank=True)
    materials = models.TextField(_("additional materials"), blank=True)

    period = models.PositiveIntegerField(_("period (days)"), null=True, blank=True)
    access_start = models.DateTimeField(_("access start"), null=True, blank=True)
    access_expire = models.DateTimeField(_("access expires"), null=True, blank=True)
    activation = models.PositiveIntegerField(_("activation limit"), null=True, blank=True)

    buy_redirect_url = models.URLField(_("redirect after purchase"), max_length=500, blank=True)
    custom_url = models.URLField(_("link for e-mails"), max_length=500, blank=True)
    ip_recovery = models.BooleanField(_("recover session by IP"), default=False)
    device_ban = models.BooleanField(_("ban concurrent devices"), default=False)
    buyer_commission = models.BooleanField(_("buyer pays gateway commission"), default=False)

    drm = models.BooleanField(_("DRM"), default=False)
    downloadable_origin = models.BooleanField(_("downloadable original"), default=False)
    preview = models.PositiveIntegerField(_("preview (seconds)"), null=True, blank=True)
    watermark = models.BooleanField(_("watermark"), default=False)
    watermark_email = models.BooleanField(_("watermark: e-mail"), default=False)
    watermark_name = models.BooleanField(_("watermark: name"), default=False)
    watermark_ip = models.BooleanField(_("watermark: IP address"), default=False)

    sale_start = models.DateTimeField(_("on sale from"), null=True, blank=True)
    sale_end = models.DateTimeField(_("on sale until"), null=True, blank=True)
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Most accesses to grant; empty: no limit.")
    )
    provisioning_only = models.BooleanField(
        _("provisioning only"), default=False, help_text=_("Granted by staff, never sold.")
    )
    mandatory = models.BooleanField(
        _("mandatory"), default=False, help_text=_("Buyers must hold it to buy anything else.")
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, editable=False)

    media = models.ManyToManyField(
        Media, through="SubscriptionMedia", related_name="subscriptions", blank=True
    )
    pricing_models = models.ManyToManyField(
        PricingModel, through="SubscriptionPricingModel", related_name="subscriptions", blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["subscription", "password", "collection"]),
                name="subscription_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["single", "group"]), name="subscription_scope_valid"
            ),
            models.CheckConstraint(
                condition=Q(period__isnull=False) | Q(access_expire__isnull=False),
                name="subscription_period_or_access_expire",
            ),
            models.CheckConstraint(
                condition=Q(period__isnull=True) | Q(period__gte=1),
                name="subscription_period_positive",
            ),
            models.CheckConstraint(
                condition=Q(access_start__isnull=True)
                | Q(access_expire__isnull=True)
                | Q(access_start__lt=models.F("access_expire")),
                name="subscription_access_start_before_expire",
            ),
            models.CheckConstraint(
                condition=Q(sale_start__isnull=True)
                | Q(sale_end__isnull=True)
                | Q(sale_start__lt=models.F("sale_end")),
                name="subscription_sale_start_before_end",
            ),
            models.CheckConstraint(
                condition=Q(collection_type="")
                | Q(kind="collection", collection_type__in=["collect", "protect"]),
                name="subscription_collection_type_only_for_collections",
            ),
            models.CheckConstraint(
                condition=Q(drm=True)
                | Q(
                    downloadable_origin=False,
                    preview__isnull=True,
                    watermark=False,
                    watermark_email=False,
                    watermark_name=False,
                    watermark_ip=False,
                ),
                name="subscription_drm_options_need_drm",
            ),
            models.UniqueConstraint(
                fields=["mandatory"],
                condition=Q(mandatory=True),
                name="subscription_at_most_one_mandatory",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def status_at(self, when) -> str:
        """archived, upcoming (sale not started), expired (sale or access over) or active."""
        if self.archived_at is not None:
            return "archived"
        if self.sale_start and when < self.sale_start:
            return "upcoming"
        if (self.sale_end and when >= self.sale_end) or (
            self.access_expire and when >= self.access_expire
        ):
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())


class SubscriptionMedia(models.Model):
    """A media held by a subscription; a media cannot be deleted while one holds it."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="media_links"
    )
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="subscription_links")
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    # Media attached and detached show in the subscription's history.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("media of a subscription")
        verbose_name_plural = _("media of subscriptions")
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "media"], name="subscription_media_once"
            ),
        ]

    def __str__(self):
        return f"{self.media} in {self.subscription}"


class SubscriptionPricingModel(models.Model):
    """A pricing model a subscription offers; exactly one offer of a subscription is its default."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="offers")
    pricing_model = models.ForeignKey(PricingModel, on_delete=models.PROTECT, related_name="offers")
    is_default = models.BooleanField(_("default"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pricing model offered")
        verbose_name_plural = _("pricing models offered")
        ordering = ["-is_default", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "pricing_model"], name="subscription_pricing_model_once"
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(is_default=True),
                name="subscription_one_default_pricing_model",
            ),
        ]

    def __str__(self):
        return f"{self.pricing_model} for {self.subscription}"


class Coupon(PublicCodeModel):
    """A discount code a buyer types; unique whatever its letter case."""

    class DiscountType(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Fixed amount off")

    # The coupon's code is its public code: staff choose it (SUMMER25) or leave it generated.
    code = models.CharField(_("code"), max_length=32, default=new_public_code)
    description = models.CharField(_("description"), max_length=255, blank=True)
    discount_type = models.CharField(
        _("discount"), max_length=7, choices=DiscountType.choices, default=DiscountType.PERCENT
    )
    percent = models.DecimalField(
        _("percent off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(
        _("amount off"),
        max_digits=MONEY_DIGITS,
        decimal_places=STORED_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    currency = models.CharField(
        _("currency of the amount"), max_length=3, choices=currency_choices, blank=True
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    use_limit = models.PositiveIntegerField(
        _("use limit"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    uses = models.PositiveIntegerField(_("uses so far"), default=0)
    uses_per_buyer = models.PositiveIntegerField(
        _("uses per buyer"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    first_purchase_only = models.BooleanField(
        _("first purchase only"),
        default=False,
        help_text=_("Only for a buyer who has never paid for a purchase."),
    )
    applies_to_all = models.BooleanField(_("applies to every subscription"), default=True)
    subscriptions = models.ManyToManyField(
        Subscription, related_name="coupons", blank=True, verbose_name=_("subscriptions")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="coupon_code_unique_any_case"),
            models.CheckConstraint(
                condition=Q(
                    discount_type="percent",
                    percent__gt=0,
                    percent__lte=100,
                    amount__isnull=True,
                    currency="",
                )
                | Q(discount_type="fixed", amount__gt=0, percent__isnull=True) & ~Q(currency=""),
                name="coupon_discount_consistent",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lt=models.F("valid_until")),
                name="coupon_valid_from_before_until",
            ),
            models.CheckConstraint(
                condition=Q(use_limit__isnull=True) | Q(uses__lte=models.F("use_limit")),
                name="coupon_uses_within_limit",
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def discount_display(self) -> str:
        if self.discount_type == self.DiscountType.PERCENT:
            return gettext("{percent} off").format(percent=f"{self.percent.normalize():f}%")

        return gettext("{amount} {currency} off").format(
            amount=quantize(self.amount, self.currency), currency=self.currency
        )

    def is_valid_at(self, when) -> bool:
        if self.valid_from and when < self.valid_from:
            return False
        if self.valid_until and when >= self.valid_until:
            return False
        return self.use_limit is None or self.uses < self.use_limit


class ShopContacts(models.Model):
    """The seller's contacts (reference 004 `contacts`): one row per shop, id 1."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    name = models.CharField(_("seller's name"), max_length=255)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    site = models.URLField(_("site"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop contacts")
        verbose_name_plural = _("shop contacts")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="shop_contacts_single_row"),
            models.CheckConstraint(
                condition=~Q(name="") & (~Q(phone="") | ~Q(email="")),
                name="shop_contacts_name_and_phone_or_email",
            ),
        ]

    def __str__(self):
        return self.name or "Shop contacts"
