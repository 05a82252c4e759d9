import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from core.listing import DateTimeColumn, ListTable
from core.money import quantize

from .models import Access, BulkOperation, Buyer, SentEmail, WalletEntry


class SelectColumn(tables.Column):
    """A checkbox per row for the bulk actions: named `selected`, valued the row's code, owned by
    the list's bulk form (`form="bulk-form"`). Left out of exports, and of the table for staff
    who may run no bulk action."""

    def __init__(self, **kwargs):
        header = mark_safe(  # noqa: S308 (constant markup)
            '<input class="form-check-input" type="checkbox" data-select-all="selected" '
            'form="bulk-form" aria-label="{}">'
        )
        kwargs.setdefault("accessor", "code")
        super().__init__(
            verbose_name=header,
            orderable=False,
            exclude_from_export=True,
            empty_values=(),
            **kwargs,
        )

    @property
    def header(self):
        return format_html(str(self.verbose_name), gettext("Choose every row on this page"))

    def render(self, value):
        return format_html(
            '<input class="form-check-input" type="checkbox" name="selected" value="{}" '
            'form="bulk-form" aria-label="{}">',
            value,
            gettext("Choose %(code)s") % {"code": value},
        )


class BuyerTable(ListTable):
    selected = SelectColumn()
    code = tables.Column(
        verbose_name=_("Code"), linkify=("buyers:detail", {"code": tables.A("code")})
    )
    email = tables.Column(verbose_name=_("E-mail"))
    phone = tables.Column(verbose_name=_("Phone"))
    name = tables.Column(verbose_name=_("Name"))
    # A count per shown row, not an index: sorting by it would count every buyer's accesses.
    live_access_count = tables.Column(verbose_name=_("Active accesses"), orderable=False)
    wallet = tables.Column(
        verbose_name=_("E-wallet"), accessor="pk", orderable=False, empty_values=()
    )
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")

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
    selected = SelectColumn()
    code = tables.Column(
        verbose_name=_("Code"), linkify=("accesses:detail", {"code": tables.A("code")})
    )
    # Sortable: code, expiry and purchase date, each read from an index. Buyer, subscription and
    # status are filters (or the search box); sorting ~1M accesses by a joined column or a
    # per-row count costs a second a page (tests/bench/bench_staff_lists.py).
    buyer = tables.Column(
        verbose_name=_("Buyer"),
        accessor="buyer__email",
        orderable=False,
        linkify=("buyers:detail", [tables.A("buyer__code")]),
    )
    subscription = tables.Column(
        verbose_name=_("Subscription"),
        accessor="subscription__name",
        orderable=False,
        linkify=("accesses:subscription", [tables.A("subscription__code")]),
    )
    status = tables.Column(
        verbose_name=_("Status"), accessor="pk", orderable=False, empty_values=()
    )
    activations = tables.Column(
        verbose_name=_("Activations"), accessor="activations_used", empty_values=(), orderable=False
    )
    access_start = DateTimeColumn(verbose_name=_("Starts"), format="Y-m-d H:i", orderable=False)
    access_expire = DateTimeColumn(verbose_name=_("Expires"), format="Y-m-d H:i")
    purchased_at = DateTimeColumn(verbose_name=_("Purchase date"), format="Y-m-d H:i")
    granted_by = tables.Column(
        verbose_name=_("Granted by"), accessor="granted_by__username", orderable=False
    )

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
    # Sorted by date only (indexed); buyer, kind and currency are searched or filtered.
    created_at = DateTimeColumn(verbose_name=_("Date"), format="Y-m-d H:i", orderable=True)
    buyer = tables.Column(
        verbose_name=_("Buyer"),
        accessor="buyer__code",
        linkify=("buyers:detail", [tables.A("buyer__code")]),
    )
    kind = tables.Column(verbose_name=_("Kind"))
    amount = tables.Column(verbose_name=_("Amount"), attrs={"td": {"class": "text-end"}})
    currency = tables.Column(verbose_name=_("Currency"))
    balance_after = tables.Column(
        verbose_name=_("Balance after"), attrs={"td": {"class": "text-end"}}
    )
    reason = tables.Column(verbose_name=_("Reason"))
    reference = tables.Column(verbose_name=_("Reference"))
    created_by = tables.Column(verbose_name=_("By"), accessor="created_by__username")

    class Meta(ListTable.Meta):
        model = WalletEntry
        fields = ()
        orderable = False
        order_by = ("-created_at",)

    def render_amount(self, record):
        return quantize(record.amount, record.currency)

    def render_balance_after(self, record):
        return quantize(record.balance_after, record.currency)

    value_amount = render_amount
    value_balance_after = render_balance_after


class SentEmailTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("emails:detail", {"code": tables.A("code")})
    )
    sent_at = DateTimeColumn(verbose_name=_("Sent"), format="Y-m-d H:i")
    kind = tables.Column(verbose_name=_("Kind"), orderable=False)
    subject = tables.Column(verbose_name=_("Subject"), orderable=False)
    to = tables.Column(verbose_name=_("To"), orderable=False)
    buyer = tables.Column(
        verbose_name=_("Buyer"),
        accessor="buyer__code",
        orderable=False,
        linkify=lambda record: (
            reverse("buyers:detail", args=[record.buyer.code]) if record.buyer_id else None
        ),
    )
    copy = tables.Column(
        verbose_name=_("Resent"), accessor="resent_from_id", orderable=False, empty_values=()
    )

    class Meta(ListTable.Meta):
        model = SentEmail
        fields = ()
        order_by = ("-sent_at",)

    def render_copy(self, record):
        return "Copy" if record.resent_from_id else "—"

    value_copy = render_copy


class BulkOperationTable(ListTable):
    """The bulk actions and imports staff ran, newest first: each links to its progress page
    (where it is undone)."""

    code = tables.Column(
        verbose_name=gettext_lazy("Code"),
        linkify=("accesses:bulk_detail", {"code": tables.A("code")}),
    )
    created_at = DateTimeColumn(verbose_name=gettext_lazy("Started"), format="Y-m-d H:i")
    action = tables.Column(verbose_name=gettext_lazy("Action"), orderable=False)
    days = tables.Column(verbose_name=gettext_lazy("Days"), orderable=False)
    state = tables.Column(verbose_name=gettext_lazy("State"), orderable=False)
    total = tables.Column(verbose_name=gettext_lazy("Rows"), orderable=False)
    done_count = tables.Column(verbose_name=gettext_lazy("Done"), orderable=False)
    failed_count = tables.Column(verbose_name=gettext_lazy("Failed"), orderable=False)
    filter_text = tables.Column(verbose_name=gettext_lazy("Rows chosen"), orderable=False)
    created_by = tables.Column(
        verbose_name=gettext_lazy("Started by"), accessor="created_by__username", orderable=False
    )

    class Meta(ListTable.Meta):
        model = BulkOperation
        fields = ()
        order_by = ("-created_at",)
