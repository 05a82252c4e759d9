"""Finance's pages of the money journal: the journal (a list page with totals and its CSV export),
an entry with its corrections, booking a correction, closing a month, and reconciliation.
The journal itself (models, booking, closing, reading) is purchases/journal/."""

from datetime import date, timedelta

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Min
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, TemplateView

from core.csv_export import CsvReport, ExportColumn
from core.form_pages import ServiceFormView
from core.forms import DateRangeWidget, validate_date_in_range
from core.listing import DateTimeColumn, ListFilterSet, ListPageView, ListTable
from core.money import currency_choices
from core.roles import MONEY_REPORTS
from subscriptions.models import Subscription

from ..gateways import GATEWAYS, payment_type_choices
from ..journal import selectors, services
from ..journal.booking import shop_zone
from ..journal.models import REVENUE_KINDS, WALLET_KINDS, ClosedPeriod, JournalEntry, Kind
from ..journal.reconciliation import reconcile
from ..tables import MoneyColumn, PaymentTypeColumn

JOURNAL_PERMISSION = "purchases.view_journalentry"
MAX_RECONCILIATION_DAYS = 92

JOURNAL_REPORT = CsvReport(
    name="money-journal",
    date_filter="booked",
    columns=(
        ExportColumn(_("Code"), "code", "code"),
        ExportColumn(_("Booked"), "booked_at", "time"),
        ExportColumn(_("Kind"), "kind", "code"),
        ExportColumn(_("Amount"), "amount", "money"),
        ExportColumn(_("Currency"), "currency", "code"),
        ExportColumn(_("Payment type"), "payment_type", "code"),
        ExportColumn(_("Gateway reference"), "gateway_reference"),
        ExportColumn(_("Buyer"), "buyer__code", "code"),
        ExportColumn(_("Buyer e-mail"), "buyer__email"),
        ExportColumn(_("Subscription code"), "subscription__code", "code"),
        ExportColumn(_("Subscription"), "subscription__name"),
        ExportColumn(_("Pricing model"), "pricing_model__title"),
        ExportColumn(_("Purchase"), "purchase__code", "code"),
        ExportColumn(_("Contract"), "contract__code", "code"),
        ExportColumn(_("Renewal charge"), "renewal_charge__idempotency_key", "code"),
        ExportColumn(_("Refund"), "refund__code", "code"),
        ExportColumn(_("E-wallet entry"), "wallet_entry_id", "number"),
        ExportColumn(_("Corrects"), "corrects__code", "code"),
        ExportColumn(_("By"), "created_by__username"),
        ExportColumn(_("API key"), "api_key"),
        ExportColumn(_("Reason"), "reason"),
    ),
)


class KindColumn(tables.Column):
    def render(self, record):
        ledger = "revenue" if record.kind in REVENUE_KINDS else "e-wallet"
        return format_html(
            '{} <span class="small text-body-secondary">({})</span>',
            record.get_kind_display(),
            ledger,
        )

    def value(self, record):
        return record.kind


class JournalTable(ListTable):
    code = tables.Column(
        verbose_name=_("Entry"),
        linkify=lambda record: reverse("purchases:reports:journal_entry", args=[record.code]),
        attrs={"td": {"class": "code"}},
        orderable=False,
    )
    # Sortable: booked, read from its index; the rest are filters or search.
    booked_at = DateTimeColumn(verbose_name=_("Booked"), format="Y-m-d H:i:s")
    kind = KindColumn(verbose_name=_("Kind"), accessor="kind", orderable=False)
    amount = MoneyColumn(verbose_name=_("Amount"), orderable=False)
    payment_type = PaymentTypeColumn(verbose_name=_("Payment"), orderable=False)
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="buyer__email", orderable=False)
    subscription = tables.Column(
        verbose_name=_("Subscription"), accessor="subscription__name", orderable=False
    )
    purchase = tables.Column(
        verbose_name=_("Purchase"),
        accessor="purchase__code",
        linkify=lambda record: reverse("purchases:detail", args=[record.purchase.code]),
        orderable=False,
    )
    gateway_reference = tables.Column(verbose_name=_("Gateway reference"), orderable=False)
    by = tables.Column(verbose_name=_("By"), accessor="created_by__username", orderable=False)
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)

    class Meta(ListTable.Meta):
        model = JournalEntry
        fields = ()
        order_by = ("-booked_at",)

    def render_by(self, record):
        return record.created_by.username if record.created_by_id else ""

    def value_by(self, record):
        return self.render_by(record)


LEDGERS = {"revenue": REVENUE_KINDS, "wallet": WALLET_KINDS}


class JournalFilter(ListFilterSet):
    search_fields = ("=code", "=purchase__code", "buyer__email", "=gateway_reference")

    booked = django_filters.DateFromToRangeFilter(
        label=_("Booked (from – to)"), field_name="booked_at", widget=DateRangeWidget()
    )
    ledger = django_filters.ChoiceFilter(
        label=_("Ledger"),
        choices=[("revenue", _("Revenue")), ("wallet", _("E-wallets (prepaid, not revenue)"))],
        method="filter_ledger",
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    currency = django_filters.ChoiceFilter(choices=currency_choices)
    subscription = django_filters.ModelChoiceFilter(
        label=_("Subscription"),
        queryset=Subscription.objects.order_by("name"),
        to_field_name="code",
    )
    payment_type = django_filters.ChoiceFilter(
        label=_("Payment type"), choices=payment_type_choices
    )

    class Meta:
        model = JournalEntry
        fields = ("q", "booked", "ledger", "kind", "currency", "subscription", "payment_type")

    def filter_ledger(self, queryset, name, value):
        return queryset.filter(kind__in=LEDGERS[value]) if value in LEDGERS else queryset


class JournalListView(ListPageView):
    """Every movement of money, for finance: filters, totals of exactly the filtered rows,
    and their CSV export."""

    permission_required = JOURNAL_PERMISSION
    model = JournalEntry
    title = _("Money journal")
    table_class = JournalTable
    filterset_class = JournalFilter
    template_name = "purchases/journal/journal_list.html"
    export_name = "money-journal"
    export_permission = MONEY_REPORTS
    csv_report = JOURNAL_REPORT

    def get_queryset(self):
        return JournalEntry.objects.select_related(
            "buyer", "subscription", "purchase", "created_by"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["totals"] = self.totals(context["filter"], context["table"])
        return context

    def totals(self, filterset, table):
        """The filtered rows' money per currency: read from the daily totals when the filters
        are ones the days keep (dates, currency, subscription, payment type, kind, ledger), so
        any range is quick; else summed over the rows when they were counted."""
        if not filterset.is_valid():
            return None
        data = filterset.form.cleaned_data
        if not (data.get("q") or "").strip():
            booked = data.get("booked")
            start = booked.start if booked is not None and booked.start else None
            end = booked.stop if booked is not None and booked.stop else None
            kinds = [data["kind"]] if data.get("kind") else LEDGERS.get(data.get("ledger"))
            first = start or _first_booked_day()
            if first is None:
                return []
            return selectors.money(
                timezone.localdate(first, shop_zone()) if start else first,
                timezone.localdate(end, shop_zone()) if end else _today(),
                grouping=None,
                subscription=data.get("subscription"),
                currency=data.get("currency") or None,
                payment_type=data.get("payment_type") or None,
                kinds=kinds,
            )
        if getattr(table.paginator, "count_is_exact", True):
            return selectors.money_of_entries(self.object_list)
        return None


def _today() -> date:
    return timezone.localdate(timezone.now(), shop_zone())


def _first_booked_day() -> date | None:
    first = JournalEntry.objects.aggregate(first=Min("booked_at"))["first"]
    return timezone.localdate(first, shop_zone()) if first else None


class JournalEntryView(PermissionRequiredMixin, DetailView):
    permission_required = JOURNAL_PERMISSION
    template_name = "purchases/journal/entry_detail.html"
    context_object_name = "entry"
    slug_field = slug_url_kwarg = "code"

    def get_queryset(self):
        return JournalEntry.objects.select_related(
            "buyer",
            "subscription",
            "pricing_model",
            "purchase",
            "contract",
            "renewal_charge",
            "refund",
            "wallet_entry",
            "corrects",
            "created_by",
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entry = self.object
        context.update(
            title=gettext("Journal entry {code}").format(code=entry.code),
            breadcrumbs=[
                (_("Money journal"), reverse("purchases:reports:journal")),
                (entry.code, None),
            ],
            corrections=entry.corrections.select_related("created_by").order_by("booked_at"),
            can_correct=entry.is_revenue
            and self.request.user.has_perm("purchases.book_correction"),
        )
        return context


class CorrectionForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        help_text=_("What the correction adds to the revenue; negative to take off (-0.50)."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255)


class CorrectionView(ServiceFormView):
    """Book a correction of a revenue row, now (in the open period), naming that row."""

    permission_required = "purchases.book_correction"
    form_class = CorrectionForm
    title = _("Book a correction")
    submit_label = _("Book the correction")
    success_message = _("Correction {result.code} booked: {result.amount_display}.")

    def load(self):
        self.entry = get_object_or_404(JournalEntry, code=self.kwargs["code"])

    def perform(self, data):
        return services.book_correction(
            original=self.entry,
            amount=data["amount"],
            reason=data["reason"],
            staff_user=self.request.user,
        )

    def get_heading(self):
        return gettext("Correct entry {code} ({entry})").format(
            code=self.entry.code, entry=self.entry
        )

    def get_breadcrumbs(self):
        return [
            (_("Money journal"), reverse("purchases:reports:journal")),
            (self.entry.code, self.get_cancel_url()),
            (self.title, None),
        ]

    def get_cancel_url(self):
        return reverse("purchases:reports:journal_entry", args=[self.entry.code])

    def get_success_url(self):
        return reverse("purchases:reports:journal_entry", args=[self.result.code])


def closable_months(today: date, count: int = 36) -> list[tuple[str, str]]:
    """The last `count` months that have ended, newest first, as (YYYY-MM, "November 2026")."""
    months, month = [], today.replace(day=1)
    for _step in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
        # Django's month names: in the reader's language ("ноябрь 2026").
        months.append((month.strftime("%Y-%m"), date_format(month, "F Y")))
    return months


class CloseMonthForm(forms.Form):
    month = forms.ChoiceField(label=_("Month"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = closable_months(_today())

    def clean_month(self):
        year, month = self.cleaned_data["month"].split("-")
        return date(int(year), int(month), 1)


class ClosedPeriodsView(ServiceFormView):
    """The closed months with the totals stored when they were closed, and closing the next."""

    permission_required = "purchases.view_closedperiod"
    form_class = CloseMonthForm
    template_name = "purchases/journal/closed_periods.html"
    title = _("Closed months")
    submit_label = _("Close the month")
    success_message = _("Closed: {result.first_day} to {result.last_day}.")

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("purchases.close_period"):
            return self.handle_no_permission()
        return super().post(request, *args, **kwargs)

    def perform(self, data):
        return services.close_month(month=data["month"], closed_by=self.request.user)

    def get_cancel_url(self):
        return reverse("purchases:reports:journal")

    def get_success_url(self):
        return reverse("purchases:reports:closed_periods")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            periods=ClosedPeriod.objects.select_related("closed_by").prefetch_related("totals"),
            can_close=self.request.user.has_perm("purchases.close_period"),
        )
        return context


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=_("From"),
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_date_in_range],
    )
    end = forms.DateField(
        label=_("To"),
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_date_in_range],
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days >= MAX_RECONCILIATION_DAYS:
                raise forms.ValidationError(
                    gettext("Choose at most {days} days: reconcile month by month.").format(
                        days=MAX_RECONCILIATION_DAYS
                    )
                )
        return data


class ReconciliationView(PermissionRequiredMixin, TemplateView):
    """The journal's gateway money of a period against each gateway's own transactions."""

    permission_required = MONEY_REPORTS
    template_name = "purchases/journal/reconciliation.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        if "start" not in query and "end" not in query:
            last = _today().replace(day=1) - timedelta(days=1)
            form = PeriodForm(initial={"start": last.replace(day=1), "end": last})
            results = None
        else:
            form = PeriodForm(query)
            results = (
                reconcile(form.cleaned_data["start"], form.cleaned_data["end"], gateways=GATEWAYS)
                if form.is_valid()
                else None
            )
        context.update(
            title=_("Reconciliation"),
            breadcrumbs=[(_("Reconciliation"), None)],
            form=form,
            results=results,
        )
        return context
