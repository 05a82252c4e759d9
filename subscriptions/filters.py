import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.listing import ListFilterSet
from core.money import currency_choices

from .models import Coupon, Media, PricingModel, Subscription
from .selectors import SUBSCRIPTION_STATUSES, subscription_status_condition


class SubscriptionFilter(ListFilterSet):
    search_fields = ("name", "code")

    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Subscription.Kind.choices)
    scope = django_filters.ChoiceFilter(label=_("Scope"), choices=Subscription.Scope.choices)
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=SUBSCRIPTION_STATUSES, method="filter_status"
    )
    drm = django_filters.BooleanFilter(label=_("DRM"))

    class Meta:
        model = Subscription
        fields = ("q", "kind", "scope", "status", "drm")

    def filter_status(self, queryset, name, value):
        return queryset.filter(subscription_status_condition(value, timezone.now()))


class MediaFilter(ListFilterSet):
    search_fields = ("title", "code")

    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Media.Kind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Media.Status.choices)

    class Meta:
        model = Media
        fields = ("q", "kind", "status")


class PricingModelFilter(ListFilterSet):
    search_fields = ("title", "code")

    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=currency_choices)
    is_recurring = django_filters.BooleanFilter(label=_("Recurring"))
    quality = django_filters.ChoiceFilter(label=_("Quality"), choices=PricingModel.Quality.choices)

    class Meta:
        model = PricingModel
        fields = ("q", "currency", "is_recurring", "quality")


class CouponFilter(ListFilterSet):
    search_fields = ("code", "description")

    discount_type = django_filters.ChoiceFilter(
        label=_("Discount"), choices=Coupon.DiscountType.choices
    )
    applies_to_all = django_filters.BooleanFilter(label=_("For every subscription"))

    class Meta:
        model = Coupon
        fields = ("q", "discount_type", "applies_to_all")
