import django_tables2 as tables
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.listing import DateTimeColumn, ListTable
from core.money import quantize

from .models import Coupon, Media, PricingModel, Subscription
from .selectors import SUBSCRIPTION_STATUSES


class SubscriptionTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("subscriptions:detail", {"code": tables.A("code")})
    )
    name = tables.Column(verbose_name=_("Name"))
    kind = tables.Column(verbose_name=_("Kind"))
    scope = tables.Column(verbose_name=_("Scope"))
    status = tables.Column(verbose_name=_("Status"), accessor="status", orderable=False)
    price = tables.Column(
        verbose_name=_("Default price"), accessor="pk", orderable=False, empty_values=()
    )
    media_count = tables.Column(verbose_name=_("Media"))
    period = tables.Column(verbose_name=_("Period (days)"))
    access_expire = DateTimeColumn(verbose_name=_("Access expires"), format="Y-m-d H:i")
    drm = tables.BooleanColumn(verbose_name=_("DRM"))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")

    class Meta(ListTable.Meta):
        model = Subscription
        fields = ()
        order_by = ("-created_at",)

    def render_status(self, value):
        return dict(SUBSCRIPTION_STATUSES).get(value, value)

    def value_status(self, value):
        return value

    def render_price(self, record):
        offers = record.default_offer_list
        return offers[0].pricing_model.price_display if offers else "—"

    def value_price(self, record):
        offers = record.default_offer_list
        return offers[0].pricing_model.price_display if offers else ""


class MediaTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("media:detail", {"code": tables.A("code")})
    )
    title = tables.Column(verbose_name=_("Title"))
    kind = tables.Column(verbose_name=_("Kind"))
    status = tables.Column(verbose_name=_("Status"))
    width = tables.Column(verbose_name=_("Width"))
    height = tables.Column(verbose_name=_("Height"))
    duration = tables.Column(verbose_name=_("Duration (s)"))
    subscription_count = tables.Column(verbose_name=_("Subscriptions"))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d H:i")

    class Meta(ListTable.Meta):
        model = Media
        fields = ()
        order_by = ("-created_at",)


class PricingModelTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("pricing_models:detail", {"code": tables.A("code")})
    )
    title = tables.Column(verbose_name=_("Title"))
    price = tables.Column(verbose_name=_("Price"), attrs={"td": {"class": "text-end"}})
    currency = tables.Column(verbose_name=_("Currency"))
    recurrence = tables.Column(
        verbose_name=_("Renewal"), accessor="recurrence_display", order_by=("is_recurring",)
    )
    rental_hours = tables.Column(verbose_name=_("Rental hours"))
    quality = tables.Column(verbose_name=_("Quality"))
    trial_days = tables.Column(verbose_name=_("Trial days"))
    subscription_count = tables.Column(verbose_name=_("Subscriptions"))

    class Meta(ListTable.Meta):
        model = PricingModel
        fields = ()
        order_by = ("title",)

    def render_price(self, record):
        return quantize(record.price, record.currency)

    value_price = render_price


class CouponTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("coupons:detail", {"code": tables.A("code")})
    )
    description = tables.Column(verbose_name=_("Description"))
    discount = tables.Column(
        verbose_name=_("Discount"), accessor="discount_display", order_by=("discount_type",)
    )
    valid_from = DateTimeColumn(verbose_name=_("Valid from"), format="Y-m-d H:i")
    valid_until = DateTimeColumn(verbose_name=_("Valid until"), format="Y-m-d H:i")
    uses = tables.Column(verbose_name=_("Uses"))
    use_limit = tables.Column(verbose_name=_("Use limit"))
    applies_to = tables.Column(
        verbose_name=_("Applies to"), accessor="subscription_count", order_by=("applies_to_all",)
    )

    class Meta(ListTable.Meta):
        model = Coupon
        fields = ()
        order_by = ("-created_at",)

    def render_applies_to(self, record):
        if record.applies_to_all:
            return gettext("Every subscription")
        count = record.subscription_count
        return ngettext("%(count)d subscription", "%(count)d subscriptions", count) % {
            "count": count
        }

    value_applies_to = render_applies_to
