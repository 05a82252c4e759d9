import django_tables2 as tables

from core.listing import DateTimeColumn, ListTable
from core.money import quantize

from .models import Coupon, Media, PricingModel, Subscription


class SubscriptionTable(ListTable):
    code = tables.Column(
        verbose_name="Code", linkify=("subscriptions:detail", {"code": tables.A("code")})
    )
    name = tables.Column(verbose_name="Name")
    kind = tables.Column(verbose_name="Kind")
    scope = tables.Column(verbose_name="Scope")
    status = tables.Column(verbose_name="Status", accessor="status", orderable=False)
    price = tables.Column(
        verbose_name="Default price", accessor="pk", orderable=False, empty_values=()
    )
    media_count = tables.Column(verbose_name="Media")
    period = tables.Column(verbose_name="Period (days)")
    access_expire = DateTimeColumn(verbose_name="Access expires", format="Y-m-d H:i")
    drm = tables.BooleanColumn(verbose_name="DRM")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d")

    class Meta(ListTable.Meta):
        model = Subscription
        fields = ()
        order_by = ("-created_at",)

    def render_status(self, value):
        return value.capitalize()

    def value_status(self, value):
        return value

    def render_price(self, record):
        offers = record.default_offer_list
        return offers[0].pricing_model.price_display if offers else "—"

    def value_price(self, record):
        offers = record.default_offer_list
        return offers[0].pricing_model.price_display if offers else ""


class MediaTable(ListTable):
    code = tables.Column(verbose_name="Code", linkify=("media:detail", {"code": tables.A("code")}))
    title = tables.Column(verbose_name="Title")
    kind = tables.Column(verbose_name="Kind")
    status = tables.Column(verbose_name="Status")
    width = tables.Column(verbose_name="Width")
    height = tables.Column(verbose_name="Height")
    duration = tables.Column(verbose_name="Duration (s)")
    subscription_count = tables.Column(verbose_name="Subscriptions")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")

    class Meta(ListTable.Meta):
        model = Media
        fields = ()
        order_by = ("-created_at",)


class PricingModelTable(ListTable):
    code = tables.Column(
        verbose_name="Code", linkify=("pricing_models:detail", {"code": tables.A("code")})
    )
    title = tables.Column(verbose_name="Title")
    price = tables.Column(verbose_name="Price", attrs={"td": {"class": "text-end"}})
    currency = tables.Column(verbose_name="Currency")
    recurrence = tables.Column(
        verbose_name="Renewal", accessor="recurrence_display", order_by=("is_recurring",)
    )
    rental_hours = tables.Column(verbose_name="Rental hours")
    quality = tables.Column(verbose_name="Quality")
    trial_days = tables.Column(verbose_name="Trial days")
    subscription_count = tables.Column(verbose_name="Subscriptions")

    class Meta(ListTable.Meta):
        model = PricingModel
        fields = ()
        order_by = ("title",)

    def render_price(self, record):
        return quantize(record.price, record.currency)

    value_price = render_price


class CouponTable(ListTable):
    code = tables.Column(
        verbose_name="Code", linkify=("coupons:detail", {"code": tables.A("code")})
    )
    description = tables.Column(verbose_name="Description")
    discount = tables.Column(
        verbose_name="Discount", accessor="discount_display", order_by=("discount_type",)
    )
    valid_from = DateTimeColumn(verbose_name="Valid from", format="Y-m-d H:i")
    valid_until = DateTimeColumn(verbose_name="Valid until", format="Y-m-d H:i")
    uses = tables.Column(verbose_name="Uses")
    use_limit = tables.Column(verbose_name="Use limit")
    applies_to = tables.Column(
        verbose_name="Applies to", accessor="subscription_count", order_by=("applies_to_all",)
    )

    class Meta(ListTable.Meta):
        model = Coupon
        fields = ()
        order_by = ("-created_at",)

    def render_applies_to(self, record):
        if record.applies_to_all:
            return "Every subscription"
        count = record.subscription_count
        return f"{count} subscription{'s' if count != 1 else ''}"

    value_applies_to = render_applies_to
