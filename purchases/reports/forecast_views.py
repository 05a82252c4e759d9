"""Finance pages: the renewal forecast (calendar, chart, table) and MRR movements with churn
(charts, table), each with its .xlsx and CSV download. Both need the money reports permission
(core.roles.MONEY_REPORTS: Finance and admins; shop staff get 403)."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from core.money import currency_choices, quantize
from core.roles import MONEY_REPORTS

from . import forecast as forecast_figures
from . import mrr
from .charts import Series, bar_chart_svg
from .exports import forecast_columns, mrr_columns
from .views import download_queries, download_summary, summary_download


class CurrencyForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", _("Any")), *currency_choices()]


class MrrForm(CurrencyForm):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Months"),
        coerce=int,
        required=False,
        empty_value=12,
        choices=[(months, str(months)) for months in mrr.MONTH_CHOICES],
        help_text=gettext_lazy(
            "Calendar months in the shop's time zone, this one so far included."
        ),
    )

    def __init__(self, data=None, *args, **kwargs):
        # The page opens on 12 months, and the menu shows it.
        if data is not None and not data.get("months"):
            data = data.copy()
            data["months"] = "12"
        super().__init__(data, *args, **kwargs)


class ReportPage(PermissionRequiredMixin, TemplateView):
    """A report with a filter form and downloads; `figures(data)` computes its rows."""

    permission_required = MONEY_REPORTS
    form_class = CurrencyForm

    def get(self, request, *args, **kwargs):
        self.form = self.form_class(request.GET)
        self.rows = None
        if self.form.is_valid():
            self.figures(self.form.cleaned_data)
            download = summary_download(request)
            if download in ("csv", "xlsx"):
                return download_summary(
                    f"{self.download_name()}.{download}", self.columns(), self.rows
                )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title(),
            breadcrumbs=[(self.title(), None)],
            form=self.form,
            rows=self.rows,
            **download_queries(self.request),
        )
        return context


class RenewalForecastView(ReportPage):
    """The renewal charges due in the next 90 days of the shop, per day and currency."""

    template_name = "purchases/reports/forecast.html"

    def title(self):
        return _("Renewal forecast")

    def figures(self, data):
        self.forecast = forecast_figures.renewal_forecast(currency=data.get("currency") or None)
        self.rows = self.forecast.rows()

    def columns(self):
        return forecast_columns()

    def download_name(self):
        return f"renewal-forecast_{self.forecast.first}_to_{self.forecast.last}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.rows is None:
            return context
        forecast = self.forecast
        days = [
            forecast.first + timedelta(days=offset)
            for offset in range((forecast.last - forecast.first).days + 1)
        ]
        charts = []
        for code in forecast.currencies:
            amounts = {row.day: row for row in forecast.days if row.currency == code}
            charts.append(
                (
                    code,
                    bar_chart_svg(
                        title=_("Renewals due per day in %(currency)s, %(first)s to %(last)s")
                        % {"currency": code, "first": forecast.first, "last": forecast.last},
                        categories=[day.isoformat() for day in days],
                        series=[
                            Series(
                                _("amount due"),
                                "#0d6efd",
                                [amounts[d].amount if d in amounts else 0 for d in days],
                            ),
                            Series(
                                _("expected revenue"),
                                "#198754",
                                [amounts[d].expected_revenue if d in amounts else 0 for d in days],
                            ),
                        ],
                        value_text=lambda value, code=code: f"{quantize(value, code):,} {code}",
                    ),
                )
            )
        context.update(
            forecast=forecast,
            months=forecast_figures.calendar_months(forecast),
            totals=forecast.totals(),
            rates=[forecast.rates[code] for code in sorted(forecast.rates)],
            charts=charts,
            weekdays=[WEEKDAYS_ABBR[number] for number in range(7)],
        )
        return context


class MrrMovementsView(ReportPage):
    """MRR movements (new, reactivated, expansion, contraction, churned) and churn per month."""

    template_name = "purchases/reports/mrr.html"
    form_class = MrrForm

    def title(self):
        return _("MRR movements and churn")

    def figures(self, data):
        self.months = data.get("months") or 12
        self.movements = mrr.mrr_movements(
            months=self.months, currency=data.get("currency") or None
        )
        self.rows = [row.as_row() for row in self.movements]

    def columns(self):
        return mrr_columns()

    def download_name(self):
        first = mrr.month_starts(timezone.localdate(), self.months)[0]
        return f"mrr-movements_{first}_to_{timezone.localdate()}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.rows is None:
            return context
        charts = []
        for code in sorted({row.currency for row in self.movements}):
            rows = [row for row in self.movements if row.currency == code]
            months = [row.month.strftime("%Y-%m") for row in rows]
            charts.append(
                (
                    code,
                    bar_chart_svg(
                        title=_("MRR movements per month in %(currency)s") % {"currency": code},
                        categories=months,
                        series=[
                            Series(_("new"), "#0d6efd", [row.new for row in rows]),
                            Series(_("reactivated"), "#6f42c1", [row.reactivated for row in rows]),
                            Series(_("expansion"), "#198754", [row.expansion for row in rows]),
                            Series(_("contraction"), "#fd7e14", [-row.contraction for row in rows]),
                            Series(_("churned"), "#dc3545", [-row.churned for row in rows]),
                        ],
                        value_text=lambda value, code=code: f"{quantize(value, code):,} {code}",
                    ),
                    bar_chart_svg(
                        title=_("Churn rate per month in %(currency)s (%%)") % {"currency": code},
                        categories=months,
                        series=[
                            Series(
                                _("churn rate"),
                                "#dc3545",
                                [row.churn_rate or Decimal(0) for row in rows],
                            )
                        ],
                        value_text=lambda value: f"{value}%",
                    ),
                )
            )
        context.update(
            movements=self.rows,
            totals=mrr.movement_totals(self.movements),
            charts=charts,
            months=self.months,
        )
        return context
