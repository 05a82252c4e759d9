import django_filters
from django.utils.translation import gettext_lazy as _

from core.forms import DateRangeWidget
from core.listing import ListFilterSet
from core.money import currency_choices
from subscriptions.models import Subscription

from .gateways import payment_type_choices
from .models import Purchase, PurchaseSession, RecurringContract


class PurchaseFilter(ListFilterSet):
    search_fields = ("=code", "buyer__email", "=gateway_reference")

    created = django_filters.DateFromToRangeFilter(
        label=_("Created (from – to)"), field_name="created_at", widget=DateRangeWidget()
    )
    status = django_filters.ChoiceFilter(choices=Purchase.Status.choices)
    payment_type = django_filters.ChoiceFilter(
        label=_("Payment type"), choices=payment_type_choices
    )
    subscription = django_filters.ModelChoiceFilter(
        label=_("Subscription"),
        queryset=Subscription.objects.order_by("name").only("code", "name"),
        to_field_name="code",
    )
    currency = django_filters.ChoiceFilter(choices=currency_choices)
    coupon = django_filters.CharFilter(
        label=_("Coupon"), field_name="coupon_code", lookup_expr="iexact"
    )

    class Meta:
        model = Purchase
        fields = ("q", "created", "status", "payment_type", "subscription", "currency", "coupon")


class PurchaseSessionFilter(ListFilterSet):
    search_fields = ("buyer__email", "udid", "user_ip")

    opened = django_filters.DateFromToRangeFilter(
        label=_("Opened (from – to)"), field_name="created_at", widget=DateRangeWidget()
    )
    transaction_type = django_filters.ChoiceFilter(
        label=_("Transaction type"), choices=PurchaseSession.TransactionType.choices
    )
    used = django_filters.BooleanFilter(
        label=_("Used"), field_name="consumed_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = PurchaseSession
        fields = ("q", "opened", "transaction_type", "used")


class ContractFilter(ListFilterSet):
    search_fields = ("=code", "buyer__email", "buyer__name")

    status = django_filters.ChoiceFilter(choices=RecurringContract.Status.choices)
    next_bill = django_filters.DateFromToRangeFilter(
        label=_("Next bill (from – to)"), field_name="next_bill_date", widget=DateRangeWidget()
    )
    subscription = django_filters.ModelChoiceFilter(
        label=_("Subscription"),
        queryset=Subscription.objects.order_by("name").only("code", "name"),
        to_field_name="code",
    )
    currency = django_filters.ChoiceFilter(choices=currency_choices)

    class Meta:
        model = RecurringContract
        fields = ("q", "status", "next_bill", "subscription", "currency")
