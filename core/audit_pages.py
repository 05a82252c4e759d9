"""The audit trail's pages: the whole trail for admins and finance (filter by actor, object kind
and date; keyset-paged; CSV and .xlsx), and the "History" panel on each object's page."""

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .forms import DateRangeWidget
from .listing import DateTimeColumn, ListFilterSet, ListPageView, ListTable
from .models import AuditEntry
from .roles import AUDIT_TRAIL

# Each kind of object the services write, by its model name, as staff call it.
OBJECT_KINDS = {
    "subscription": _("Subscription"),
    "media": _("Media"),
    "pricingmodel": _("Pricing model"),
    "coupon": _("Coupon"),
    "shopcontacts": _("Shop contacts"),
    "buyer": _("Buyer"),
    "access": _("Access"),
    "purchase": _("Purchase"),
    "recurringcontract": _("Contract"),
    "apikey": _("API key"),
    "user": _("User"),
    "group": _("Group"),
}

# The page of an object of each kind, by its code (kinds without a page of their own: none).
OBJECT_PAGES = {
    "subscription": "subscriptions:detail",
    "media": "media:detail",
    "pricingmodel": "pricing_models:detail",
    "coupon": "coupons:detail",
    "buyer": "buyers:detail",
    "access": "accesses:detail",
    "purchase": "purchases:detail",
    "recurringcontract": "contracts:detail",
}

PANEL_ROWS = 20


# Changes whose amounts only finance reads (refunds are money reports: core/roles.py).
FINANCE_ONLY_CHANGES = frozenset({"refund"})


def changes_text(changes: dict, *, sees_money: bool = True) -> str:
    """`price: 19.50 EUR → 21.00 EUR; title: A → B`: one line, as the list and exports show it.
    Without `sees_money` a refund's amount is left out (that there was one is not)."""
    parts = []
    for name, (before, after) in (changes or {}).items():
        if not sees_money and name in FINANCE_ONLY_CHANGES:
            parts.append(str(_("%(name)s: amount for finance") % {"name": name}))
            continue
        shown = ["—" if value in (None, "") else str(value) for value in (before, after)]
        parts.append(f"{name.replace('_', ' ')}: {shown[0]} → {shown[1]}")
    return "; ".join(parts)


def object_url(kind: str, code: str) -> str | None:
    name = OBJECT_PAGES.get(kind)
    if name is None:
        return None
    try:
        return reverse(name, args=[code])
    except Exception:  # a kind whose pages take another key: shown without a link
        return None


class AuditEntryTable(ListTable):
    created_at = DateTimeColumn(verbose_name=_("When"), format="Y-m-d H:i:s")
    actor_kind = tables.Column(verbose_name=_("Actor kind"), orderable=False)
    actor_label = tables.Column(verbose_name=_("Actor"), orderable=False)
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    object_kind = tables.Column(verbose_name=_("Object kind"), orderable=False)
    object_code = tables.Column(
        verbose_name=_("Object"),
        orderable=False,
        linkify=lambda record: object_url(record.object_kind, record.object_code),
    )
    changes = tables.Column(verbose_name=_("Changes"), orderable=False, empty_values=())
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)
    address = tables.Column(verbose_name=_("Address"), orderable=False)
    request_id = tables.Column(verbose_name=_("Request"), orderable=False, visible=False)
    batch = tables.Column(verbose_name=_("Batch"), orderable=False, visible=False)

    class Meta(ListTable.Meta):
        model = AuditEntry
        fields = ()
        order_by = ("-created_at",)

    def render_object_kind(self, value):
        return OBJECT_KINDS.get(value, value)

    def render_changes(self, record):
        return changes_text(record.changes) or "—"

    value_changes = render_changes

    def value_object_kind(self, value):
        return value

    def value_batch(self, value):
        return str(value) if value else ""


class AuditEntryFilter(ListFilterSet):
    search_fields = ("=object_code", "=actor_label", "=request_id")

    actor_kind = django_filters.ChoiceFilter(
        label=_("Actor kind"), choices=AuditEntry.ActorKind.choices
    )
    actor = django_filters.CharFilter(
        label=_("Actor"),
        field_name="actor_label",
        help_text=_("A user name, an API key's name, a buyer or a job, exactly."),
    )
    object_kind = django_filters.ChoiceFilter(
        label=_("Object kind"), choices=list(OBJECT_KINDS.items())
    )
    object = django_filters.CharFilter(label=_("Object code"), field_name="object_code")
    created = django_filters.DateFromToRangeFilter(
        label=_("When (from – to)"),
        field_name="created_at",
        widget=DateRangeWidget(suffixes=("after", "before")),
    )
    batch = django_filters.UUIDFilter(label=_("Batch"), field_name="batch")

    class Meta:
        model = AuditEntry
        fields = ("q", "actor_kind", "actor", "object_kind", "object", "created", "batch")


class AuditTrailView(ListPageView):
    """Every write through the services, newest first: who, what changed, from where, why."""

    permission_required = AUDIT_TRAIL
    model = AuditEntry
    title = _("Audit trail")
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilter
    export_name = "audit-trail"


def history_of(obj, *, kind: str | None = None, limit: int = PANEL_ROWS) -> list[AuditEntry]:
    """The latest entries of one object, newest first (the object's "History" panel)."""
    kind = kind or obj._meta.model_name
    code = str(getattr(obj, "code", "") or obj.pk)
    return list(
        AuditEntry.objects.filter(object_kind=kind, object_code=code).order_by(
            "-created_at", "-pk"
        )[:limit]
    )
