"""The finance dashboard on the home page: today's and the last 30 days' money, and charts.

The money comes from the money journal's daily totals of the shop (one grouped query over a few
dozen rows a day, whatever the number of purchases), so it agrees with the revenue report, the
journal and its export: gross (sales and renewal charges), refunds (as they were given), net.
Declined renewals come from the contract transactions (one grouped query over the declines of
the chart's span); new buyers, live accesses and renewals due are one count each. See
tests/bench/RESULTS.md for the time at a million purchases.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncDay
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from buyers.models import Access, Buyer
from buyers.selectors import live_access_q
from core.csv_export import local_iso_date
from core.money import quantize

from ..journal import selectors
from ..journal.models import REVENUE_KINDS
from ..models import ContractTransaction, RecurringContract

CHART_SPANS = (30, 90)


@dataclass
class CurrencyFigures:
    """One currency's money today and over the last 30 days (selectors.MoneyRow each), and its
    daily gross over the chart's span."""

    currency: str
    today: selectors.MoneyRow = None
    last_30_days: selectors.MoneyRow = None
    daily: dict = field(default_factory=dict)  # local date -> gross, over the chart's span

    def __post_init__(self):
        self.today = self.today or selectors.MoneyRow(self.currency)
        self.last_30_days = self.last_30_days or selectors.MoneyRow(self.currency)

    def money(self, amount):
        return f"{quantize(amount, self.currency):,}"


def dashboard_figures(*, days: int = 30, now: datetime | None = None) -> dict:
    """What the dashboard shows, in seven queries whatever the number of rows."""
    days = days if days in CHART_SPANS else CHART_SPANS[0]
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now, tz)
    span_start_day = today - timedelta(days=max(days, 30) - 1)
    span_start = datetime.combine(span_start_day, datetime.min.time(), tz)
    month_start_day = today - timedelta(days=29)
    month_start = datetime.combine(month_start_day, datetime.min.time(), tz)

    by_currency: dict[str, CurrencyFigures] = {}
    renewals: dict[date, list[int]] = {}  # day -> [booked, declined]
    for row in selectors.money(
        span_start_day, today, grouping="period", period="day", kinds=REVENUE_KINDS
    ):
        day = row.key[0]
        figures = by_currency.setdefault(row.currency, CurrencyFigures(row.currency))
        figures.daily[day] = row.gross
        if day == today:
            figures.today.add(row)
        if day >= month_start_day:
            figures.last_30_days.add(row)
        renewals.setdefault(day, [0, 0])[0] += row.renewals_count
    for row in (
        ContractTransaction.objects.filter(
            status=ContractTransaction.Status.DECLINED, transaction_date__gte=span_start
        )
        .annotate(day=TruncDay("transaction_date", tzinfo=tz))
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
    ):
        day = date.fromisoformat(local_iso_date(row["day"]))
        renewals.setdefault(day, [0, 0])[1] += row["count"]

    chart_days = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
    currencies = [by_currency[code] for code in sorted(by_currency)]
    days_set = set(chart_days)
    return {
        "today": today,
        "days": days,
        "spans": CHART_SPANS,
        "currencies": currencies,
        "sales_today": sum(figures.today.sales_count for figures in currencies),
        "sales_30_days": sum(figures.last_30_days.sales_count for figures in currencies),
        **Buyer.objects.filter(created_at__gte=month_start).aggregate(
            new_buyers_today=Count(
                "pk", filter=Q(created_at__gte=datetime.combine(today, datetime.min.time(), tz))
            ),
            new_buyers_30_days=Count("pk"),
        ),
        "active_accesses": Access.objects.filter(live_access_q(now)).count(),
        "renewals_due_today": RecurringContract.objects.filter(
            status=RecurringContract.Status.ACTIVE, next_bill_date__lt=tomorrow
        ).count(),
        "renewals_past_due": RecurringContract.objects.filter(
            status=RecurringContract.Status.PAST_DUE
        ).count(),
        "renewals_succeeded": sum(counts[0] for day, counts in renewals.items() if day in days_set),
        "renewals_failed": sum(counts[1] for day, counts in renewals.items() if day in days_set),
        "renewals_chart": renewals_svg(renewals, chart_days),
        "charts": [
            (figures.currency, daily_revenue_svg(figures, chart_days)) for figures in currencies
        ],
    }


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 180, 28


def daily_revenue_svg(figures: CurrencyFigures, days: list[date]) -> SafeString:
    """A bar chart of one currency's daily revenue, drawn as SVG on the server (no script,
    no inline style: it passes a strict CSP). Each bar's <title> says the day and amount."""
    values = [figures.daily.get(day, Decimal(0)) for day in days]
    top = max(values) or Decimal(1)
    plot_width = CHART_WIDTH - 2 * CHART_PAD
    plot_height = CHART_HEIGHT - 2 * CHART_PAD
    slot = plot_width / len(days)
    bar_width = max(slot * 0.8, 1)
    bars = []
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        height = float(value / top) * plot_height
        bars.append(
            (
                f"{CHART_PAD + index * slot + (slot - bar_width) / 2:.1f}",
                f"{CHART_PAD + plot_height - height:.1f}",
                f"{bar_width:.1f}",
                f"{height:.1f}",
                f"{day.isoformat()}: {figures.money(value)} {figures.currency}",
            )
        )
    bottom = CHART_PAD + plot_height
    return format_html(
        '<svg class="revenue-chart" width="100%" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="Daily gross revenue in {currency}, {first} to {last}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<line x1="{pad}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#adb5bd"/>'
        '<text x="{pad}" y="{label_y}" font-size="11" fill="#6c757d">{top}</text>'
        '<text x="{pad}" y="{date_y}" font-size="11" fill="#6c757d">{first}</text>'
        '<text x="{right}" y="{date_y}" font-size="11" fill="#6c757d" '
        'text-anchor="end">{last}</text>{bars}</svg>',
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        currency=figures.currency,
        first=days[0].isoformat(),
        last=days[-1].isoformat(),
        pad=CHART_PAD,
        right=CHART_WIDTH - CHART_PAD,
        bottom=bottom,
        label_y=CHART_PAD - 8,
        date_y=bottom + 16,
        top=f"{figures.money(top)} {figures.currency}",
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="#0d6efd"><title>{}</title></rect>',
            bars,
        ),
    )


def renewals_svg(counts: dict[date, list[int]], days: list[date]) -> SafeString:
    """Renewal charges per day, succeeded (green) beside failed (red), drawn as SVG."""
    top = max((max(counts.get(day, [0, 0])) for day in days), default=0) or 1
    plot_width = CHART_WIDTH - 2 * CHART_PAD
    plot_height = CHART_HEIGHT - 2 * CHART_PAD
    slot = plot_width / len(days)
    bar_width = max(slot * 0.4, 0.5)
    bars = []
    for index, day in enumerate(days):
        for series, (colour, label) in enumerate((("#198754", "succeeded"), ("#dc3545", "failed"))):
            value = counts.get(day, [0, 0])[series]
            height = value / top * plot_height
            bars.append(
                (
                    f"{CHART_PAD + index * slot + slot * 0.1 + series * bar_width:.1f}",
                    f"{CHART_PAD + plot_height - height:.1f}",
                    f"{bar_width:.1f}",
                    f"{height:.1f}",
                    colour,
                    f"{day.isoformat()}: {value} {label}",
                )
            )
    bottom = CHART_PAD + plot_height
    return format_html(
        '<svg class="renewals-chart" width="100%" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="Renewals succeeded and failed per day, {first} to {last}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<line x1="{pad}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#adb5bd"/>'
        '<text x="{pad}" y="{label_y}" font-size="11" fill="#6c757d">{top} a day</text>'
        '<text x="{pad}" y="{date_y}" font-size="11" fill="#6c757d">{first}</text>'
        '<text x="{right}" y="{date_y}" font-size="11" fill="#6c757d" '
        'text-anchor="end">{last}</text>{bars}</svg>',
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        first=days[0].isoformat(),
        last=days[-1].isoformat(),
        pad=CHART_PAD,
        right=CHART_WIDTH - CHART_PAD,
        bottom=bottom,
        label_y=CHART_PAD - 8,
        date_y=bottom + 16,
        top=top,
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
    )
