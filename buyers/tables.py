import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from config.listing import ListTable
from subscriptions.money import quantize

from .models import Access, Buyer, WalletEntry


class BuyerTable(ListTable):
    code = tables.Column(verbose_name="Code", linkify=("buyers:detail", {"code": tables.A("code")}))
    email = tables.Column(verbose_name="E-mail")
    phone = tables.Column(verbose_name="Phone")
    name = tables.Column(verbose_name="Name")
    live_access_count = tables.Column(verbose_name="Active accesses")
    wallet = tables.Column(verbose_name="E-wallet", accessor="pk", orderable=False, empty_values=())
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d")

    class Meta(ListTable.Meta):
        model = Buyer
        fields = ()
        order_by = ("-created_at",)

    def render_wallet(self, record):
        return (
            ", ".join(
                f"{quantize(b.balance, b.currency)} {b.currency}" for b in record.positive_balances
            )
            or "—"
        )

    value_wallet = render_wallet


def _access_status_badge(record):
    status = record.status
    style = {"active": "success", "expired": "secondary", "revoked": "danger"}[status]
    return format_html(
        '<span class="badge text-bg-{}">{}</span>', style, Access.Status(status).label
    )


class AccessTable(ListTable):
    code = tables.Column(
        verbose_name="Code", linkify=("accesses:detail", {"code": tables.A("code")})
    )
    buyer = tables.Column(
        verbose_name="Buyer",
        accessor="buyer__email",
        order_by=("buyer__email", "buyer__phone"),
        linkify=lambda record: reverse("buyers:detail", args=[record.buyer.code]),
    )
    subscription = tables.Column(
        verbose_name="Subscription",
        accessor="subscription__name",
        linkify=lambda record: reverse("accesses:subscription", args=[record.subscription.code]),
    )
    status = tables.Column(verbose_name="Status", accessor="pk", orderable=False, empty_values=())
    activations = tables.Column(
        verbose_name="Activations", accessor="activations_used", empty_values=()
    )
    access_start = tables.DateTimeColumn(verbose_name="Starts", format="Y-m-d H:i")
    access_expire = tables.DateTimeColumn(verbose_name="Expires", format="Y-m-d H:i")
    purchased_at = tables.DateTimeColumn(verbose_name="Purchase date", format="Y-m-d H:i")
    granted_by = tables.Column(verbose_name="Granted by", accessor="granted_by__username")

    class Meta(ListTable.Meta):
        model = Access
        fields = ()
        order_by = ("-purchased_at",)

    def render_buyer(self, record):
        return record.buyer.email or record.buyer.phone

    def value_buyer(self, record):
        return record.buyer.email or record.buyer.phone

    def render_status(self, record):
        return _access_status_badge(record)

    def value_status(self, record):
        return record.status

    def render_activations(self, record):
        limit = record.activation_limit if record.activation_limit is not None else "∞"
        return f"{record.activations_used} / {limit}"

    value_activations = render_activations


class WalletEntryTable(ListTable):
    created_at = tables.DateTimeColumn(verbose_name="Date", format="Y-m-d H:i")
    buyer = tables.Column(
        verbose_name="Buyer",
        accessor="buyer__code",
        linkify=lambda record: reverse("buyers:detail", args=[record.buyer.code]),
    )
    kind = tables.Column(verbose_name="Kind")
    amount = tables.Column(verbose_name="Amount", attrs={"td": {"class": "text-end"}})
    currency = tables.Column(verbose_name="Currency")
    balance_after = tables.Column(verbose_name="Balance after", attrs={"td": {"class": "text-end"}})
    reason = tables.Column(verbose_name="Reason")
    reference = tables.Column(verbose_name="Reference")
    created_by = tables.Column(verbose_name="By", accessor="created_by__username")

    class Meta(ListTable.Meta):
        model = WalletEntry
        fields = ()
        order_by = ("-created_at",)

    def render_amount(self, record):
        return quantize(record.amount, record.currency)

    def render_balance_after(self, record):
        return quantize(record.balance_after, record.currency)

    value_amount = render_amount
    value_balance_after = render_balance_after
