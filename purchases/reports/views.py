"""Finance report pages: the refunds and contract transactions lists, the revenue and renewal
summaries with their CSV downloads, and the home page with the finance dashboard.

Money reports need core.roles.MONEY_REPORTS (today `purchases.view_refund`), which Finance
holds and Shop staff do not.
"""

from datetime import timedelta

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from core.csv_export import download_rows, typed_rows
from core.forms import DateRangeWidget, validate_date_in_range
from core.listing import (
    DateTimeColumn,
    ListFilterSet,
    ListPageView,
    ListTable,
    days_in_shop_time_zone,
    redirect_to_xlsx,
)
from core.money import currency_choices
from core.roles import MONEY_REPORTS
from subscriptions.models import Subscription

from ..gateways import payment_type_choices
from ..models import ContractTransaction, Refund
from ..tables import MoneyColumn
from . import summaries
from .dashboard import dashboard_figures
from .exports import CONTRACT_TRANSACTIONS_REPORT, REFUNDS_REPORT, RENEWAL_COLUMNS, revenue_columns

REPORTS_PERMISSION = MONEY_REPORTS
MAX_SUMMARY_DAYS = 3 * 366


class RefundTable(ListTable):
    # Sorted by code or date (indexed); the rest are searched or filtered.
    code = tables.Column(verbose_name=_("Refund"), attrs={"td": {"class": "code"}}, orderable=True)
    created_at = DateTimeColumn(verbose_name=_("Date"), format="Y-m-d H:i", orderable=True)
    purchase = tables.Column(
        verbose_name=_("Purchase"),
        accessor="purchase__code",
        linkify=lambda record: reverse("purchases:detail", kwargs={"code": record.purchase.code}),
    )
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="purchase__buyer__email")
    amount = MoneyColumn(verbose_name=_("Amount"))
    method = tables.Column(verbose_name=_("Refunded to"))
    reason = tables.Column(verbose_name=_("Reason"))

    class Meta(ListTable.Meta):
        model = Refund
        fields = ()
        order_by = ("-created_at",)
        orderable = False


class RefundFilter(ListFilterSet):
    search_fields = (
        "=code",
        "=purchase__code",
        "purchase__buyer__email",
        "=gateway_reference",
    )

    created = django_filters.DateFromToRangeFilter(
        label=_("Date (from – to)"), field_name="created_at", widget=DateRangeWidget()
    )
    currency = django_filters.ChoiceFilter(choices=currency_choices)
    subscription = django_filters.ModelChoiceFilter(
        label=_("Subscription"),
        field_name="purchase__subscription",
        queryset=Subscription.objects.order_by("name"),
        to_field_name="code",
    )

    class Meta:
        model = Refund
        fields = ("q", "created", "currency", "subscription")


class RefundListView(ListPageView):
    """Every refund, for finance: filter by date, currency and subscription; export."""

    permission_required = REPORTS_PERMISSION
    model = Refund
    title = _("Refunds")
    table_class = RefundTable
    filterset_class = RefundFilter
    export_name = "refunds"
    csv_report = REFUNDS_REPORT

    def get_queryset(self):
        return Refund.objects.select_related("purchase__buyer", "created_by")


class SummaryForm(forms.Form):
    """The summary's filters: a date range (local days, both included), subscription, currency."""

    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_date_in_range],
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_date_in_range],
    )
    subscription = forms.ModelChoiceField(
        queryset=Subscription.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label=_("Any"),
    )
    currency = forms.ChoiceField(required=False)
    payment_type = forms.ChoiceField(label=_("Payment type"), required=False)
    grouping = forms.ChoiceField(
        label=_("Show"), choices=list(summaries.GROUPINGS.items()), required=False
    )
    period = forms.ChoiceField(
        label=_("Per"),
        choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", gettext("Any")), *currency_choices()]
        self.fields["end"].help_text = days_in_shop_time_zone()
        if "payment_type" in self.fields:
            self.fields["payment_type"].choices = [("", gettext("Any")), *payment_type_choices()]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        today = timezone.localdate()
        if not self.errors:
            end = end or today
            start = start or end - timedelta(days=29)
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > MAX_SUMMARY_DAYS:
                raise forms.ValidationError(_("Choose a range of at most three years."))

            data.update(start=start, end=end)
        data["grouping"] = data.get("grouping") or "period"
        data["period"] = data.get("period") or "day"
        return data


def summary_download(request) -> str | None:
    """What `?format=` asks of a summary: "csv", "xlsx", "redirect" for the old "CSV for
    Excel" link (`format=csv&excel=1`), or None for the page."""
    asked = request.GET.get("format")
    if asked == "csv" and request.GET.get("excel") == "1":
        return "redirect"
    return asked if asked in ("csv", "xlsx") else None


def download_summary(filename: str, columns, rows):
    """A summary's rows (already computed) as CSV or as a workbook, by the file's extension."""
    if filename.endswith(".xlsx"):
        from core.xlsx_export import xlsx_response  # XlsxWriter loads only for a workbook

        return xlsx_response(filename, columns, typed_rows(columns, rows))
    return download_rows(filename, columns, rows)


def download_queries(request) -> dict:
    """The query strings of a summary's two downloads (its filters, and `format`)."""
    queries = {}
    for extension in ("csv", "xlsx"):
        query = request.GET.copy()
        query.pop("excel", None)
        query["format"] = extension
        queries[f"{extension}_query"] = query.urlencode()
    return queries


class RevenueSummaryView(PermissionRequiredMixin, TemplateView):
    """Revenue per period, subscription or payment type and currency; `?format=csv` or
    `?format=xlsx` downloads."""

    permission_required = REPORTS_PERMISSION
    template_name = "purchases/reports/summary.html"

    def get(self, request, *args, **kwargs):
        self.form = SummaryForm(request.GET)
        self.rows, self.options = None, {}
        if self.form.is_valid():
            data = self.options = self.form.cleaned_data
            self.rows = summaries.revenue_summary(
                start=data["start"],
                end=data["end"],
                grouping=data["grouping"],
                period=data["period"],
                subscription=data.get("subscription"),
                currency=data.get("currency") or None,
                payment_type=data.get("payment_type") or None,
            )
            self.wallet = summaries.wallet_summary(
                start=data["start"], end=data["end"], currency=data.get("currency") or None
            )
            download = summary_download(request)
            if download == "redirect":
                return redirect_to_xlsx(request, "format")
            if download:
                return self.download(download)
        return super().get(request, *args, **kwargs)

    def columns(self):
        return summaries.GROUP_COLUMNS[self.options["grouping"]]

    def download(self, extension):
        grouping = self.options["grouping"]
        name = {"period": f"revenue-per-{self.options['period']}"}.get(
            grouping, f"revenue-by-{grouping.replace('_', '-')}"
        )
        return download_summary(
            f"{name}_{self.options['start']}_to_{self.options['end']}.{extension}",
            revenue_columns(grouping),
            self.rows,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=_("Revenue"),
            breadcrumbs=[(_("Revenue"), None)],
            form=self.form,
            rows=None
            if self.rows is None
            else [
                {**row, "key_values": [row[key] for _, key in self.columns()]} for row in self.rows
            ],
            key_columns=self.columns() if self.rows is not None else [],
            totals=summaries.summary_totals(self.rows) if self.rows else [],
            wallet=getattr(self, "wallet", None),
            options=self.options,
            **download_queries(self.request),
        )
        return context


class ContractTransactionTable(ListTable):
    # Sorted by date only (indexed); status and contract are filters and search.
    transaction_date = DateTimeColumn(verbose_name=_("Date"), format="Y-m-d H:i", orderable=True)
    contract = tables.Column(verbose_name=_("Contract"), accessor="contract__code")
    buyer = tables.Column(verbose_name=_("Buyer"), accessor="contract__buyer__email")
    period = tables.Column(verbose_name=_("Period"))
    attempt = tables.Column(verbose_name=_("Attempt"))
    amount = MoneyColumn(verbose_name=_("Amount"))
    status = tables.Column(verbose_name=_("Status"))
    result_code = tables.Column(verbose_name=_("Result"))
    pnref = tables.Column(verbose_name=_("PNRef"))

    class Meta(ListTable.Meta):
        model = ContractTransaction
        fields = ()
        order_by = ("-transaction_date",)
        orderable = False


class ContractTransactionFilter(ListFilterSet):
    search_fields = ("=contract__code", "contract__buyer__email", "=pnref")

    date = django_filters.DateFromToRangeFilter(
        label=_("Date (from – to)"), field_name="transaction_date", widget=DateRangeWidget()
    )
    status = django_filters.ChoiceFilter(choices=ContractTransaction.Status.choices)
    currency = django_filters.ChoiceFilter(choices=currency_choices)
    subscription = django_filters.ModelChoiceFilter(
        label=_("Subscription"),
        field_name="contract__subscription",
        queryset=Subscription.objects.order_by("name"),
        to_field_name="code",
    )

    class Meta:
        model = ContractTransaction
        fields = ("q", "date", "status", "currency", "subscription")


class ContractTransactionListView(ListPageView):
    """Every charge attempt of recurring contracts (reference 003 fields); export."""

    permission_required = REPORTS_PERMISSION
    model = ContractTransaction
    title = _("Contract transactions")
    table_class = ContractTransactionTable
    filterset_class = ContractTransactionFilter
    export_name = "contract-transactions"
    csv_report = CONTRACT_TRANSACTIONS_REPORT

    def get_queryset(self):
        return ContractTransaction.objects.select_related("contract__buyer")


class RenewalsForm(SummaryForm):
    grouping = None  # renewals are always per period
    payment_type = None


class RenewalsView(PermissionRequiredMixin, TemplateView):
    """Renewals per period and currency, and live contracts with their MRR; `?format=csv` or
    `?format=xlsx` downloads."""

    permission_required = REPORTS_PERMISSION
    template_name = "purchases/reports/renewals.html"

    def get(self, request, *args, **kwargs):
        self.form = RenewalsForm(request.GET)
        self.rows = self.contracts = None
        if self.form.is_valid():
            data = self.form.cleaned_data
            filters = {"subscription": data.get("subscription"), "currency": data.get("currency")}
            self.rows = summaries.renewal_summary(
                start=data["start"], end=data["end"], period=data["period"], **filters
            )
            self.contracts = summaries.active_contracts(**filters)
            download = summary_download(request)
            if download == "redirect":
                return redirect_to_xlsx(request, "format")
            if download:
                return download_summary(
                    f"renewals-per-{data['period']}_{data['start']}_to_{data['end']}.{download}",
                    RENEWAL_COLUMNS,
                    self.rows,
                )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=_("Renewals"),
            breadcrumbs=[(_("Renewals"), None)],
            form=self.form,
            rows=self.rows,
            contracts=self.contracts,
            options=self.form.cleaned_data if self.rows is not None else {},
            **download_queries(self.request),
        )
        return context


# Who sees the finance dashboard on the home page: the permission the money reports need.
DASHBOARD_PERMISSION = MONEY_REPORTS


class HomeView(TemplateView):
    """The landing page after sign-in: the finance dashboard for those who may see money, and
    the areas this user may open. Needs only a signed-in user."""

    template_name = "purchases/reports/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["roles"] = [group.name for group in self.request.user.groups.all()]
        if self.request.user.has_perm(DASHBOARD_PERMISSION):
            try:
                days = int(self.request.GET.get("days", 30))
            except ValueError:
                days = 30
            context["dashboard"] = dashboard_figures(days=days)
        return context
