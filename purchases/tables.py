import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.listing import DateTimeColumn, ListTable
from core.money import quantize

from .gateways import payment_type_label
from .models import Purchase, PurchaseSession, RecurringContract


class MoneyColumn(tables.Column):
    """An amount with its currency beside it; exported as the plain amount."""

    export_kind = "money"

    def __init__(self, *args, currency_accessor="currency", **kwargs):
        self.currency_accessor = currency_accessor
        kwargs.setdefault(
            "attrs", {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}
        )
        super().__init__(*args, **kwargs)

    def render(self, value, record):
        currency = getattr(record, self.currency_accessor)
        return f"{quantize(value, currency):f} {currency}"

    def value(self, value, record):
        return quantize(value, getattr(record, self.currency_accessor))


class PaymentTypeColumn(tables.Column):
    """The payment type by its name ("E-wallet", "Card (sandbox)"); exported as its code."""

    def render(self, value):
        return payment_type_label(value)

    def value(self, value):
        return value


class PurchaseTable(ListTable):
    code = tables.Column(
        verbose_name=_("Purchase"),
        linkify=("purchases:detail", {"code": tables.A("code")}),
        attrs={"td": {"class": "code"}},
    )
    created_at = DateTimeColumn(
        verbose_name=_("Created"), format="Y-m-d H:i", attrs={"td": {"class": "text-nowrap"}}
    )
    # Sortable: code, date and amount, each read from an index. Buyer, product, payment type and
    # status are narrowed by the filters instead: sorting a million rows by a joined or
    # few-valued column costs a second a page (tests/bench/bench_staff_lists.py).
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="buyer__email", orderable=False)
    subscription = tables.Column(
        verbose_name=_("Subscription"), accessor="subscription__name", orderable=False
    )
    pricing_model = tables.Column(
        verbose_name=_("Pricing model"), accessor="pricing_model__title", orderable=False
    )
    amount = MoneyColumn(verbose_name=_("Amount"))
    # The amount column shows the currency; the export keeps it in a column of its own.
    currency = tables.Column(verbose_name=_("Currency"), visible=False)
    payment_type = PaymentTypeColumn(verbose_name=_("Payment"), orderable=False)
    status = tables.Column(verbose_name=_("Status"), orderable=False)

    class Meta(ListTable.Meta):
        model = Purchase
        fields = ()
        order_by = ("-created_at",)

    def render_status(self, record):
        colour = {
            "completed": "success",
            "pending": "warning",
            "failed": "danger",
            "refunded": "secondary",
            "cancelled": "secondary",
            "cancelling": "info",
        }[record.status]
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', colour, record.get_status_display()
        )

    def value_status(self, record):
        return record.status


class PurchaseSessionTable(ListTable):
    # Sorted by number or opening time (indexed); the rest are searched or filtered.
    id = tables.Column(verbose_name=_("Session"), orderable=True)
    created_at = DateTimeColumn(verbose_name=_("Opened"), format="Y-m-d H:i:s", orderable=True)
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="buyer__email")
    subscription = tables.Column(verbose_name=_("Product"), accessor="subscription__name")
    transaction_type = tables.Column(verbose_name=_("Type"))
    price = MoneyColumn(verbose_name=_("Price"))
    # The price column shows the currency; the export keeps it in a column of its own.
    currency = tables.Column(verbose_name=_("Currency"), visible=False)
    user_ip = tables.Column(verbose_name=_("User IP"))
    udid = tables.Column(verbose_name=_("Device"))
    state = tables.Column(verbose_name=_("State"), accessor="pk", orderable=False)

    class Meta(ListTable.Meta):
        model = PurchaseSession
        fields = ()
        order_by = ("-created_at",)
        orderable = False

    def render_state(self, record):
        return record.status_at(timezone.now())

    value_state = render_state


class ContractTable(ListTable):
    code = tables.Column(
        verbose_name=_("Contract"),
        linkify=("contracts:detail", {"code": tables.A("code")}),
        attrs={"td": {"class": "code"}},
    )
    # Sortable: code, amount and next bill, each read from an index; the rest are filters
    # (status, subscription, currency) or search (buyer).
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="buyer__email", orderable=False)
    subscription = tables.Column(
        verbose_name=_("Subscription"), accessor="subscription__name", orderable=False
    )
    amount = MoneyColumn(verbose_name=_("Each period"))
    # The amount column shows the currency; the export keeps it in a column of its own.
    currency = tables.Column(verbose_name=_("Currency"), visible=False)
    payment_type = PaymentTypeColumn(verbose_name=_("Payment"), orderable=False)
    next_bill_date = DateTimeColumn(
        verbose_name=_("Next bill"), format="Y-m-d H:i", attrs={"td": {"class": "text-nowrap"}}
    )
    failed_attempts = tables.Column(verbose_name=_("Failed tries"), orderable=False)
    status = tables.Column(verbose_name=_("Status"), orderable=False)

    class Meta(ListTable.Meta):
        model = RecurringContract
        fields = ()
        order_by = ("next_bill_date",)

    def render_status(self, record):
        colour = {
            "active": "success",
            "past_due": "warning",
            "paused": "info",
            "cancelled": "secondary",
            "expired": "secondary",
        }[record.status]
        label = record.get_status_display()
        if record.cancel_at_period_end and record.status == "active":
            label += ", stops at period end"
        if record.status == "paused" and record.resume_at:
            label = _("Paused until %(date)s") % {
                "date": f"{timezone.localtime(record.resume_at):%Y-%m-%d}"
            }
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, label)

    def value_status(self, record):
        return record.status
