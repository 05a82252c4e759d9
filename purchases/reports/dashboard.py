"""The finance dashboard on the home page: today's and the last 30 days' money, and a chart.

Fast without a rollup table: the money figures and the chart come from one grouped query over
the paid purchases of the chart's span (30 or 90 local days), which the index on created_at
reads as a range, and one over the approved renewal charges (index on status, date); today's
and the 30 days' sums are added up from their ≤ 90 rows per currency. New buyers and live
accesses are one count each. See tests/bench/RESULTS.md for the time at a million purchases.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import TruncDay
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from buyers.models import Access, Buyer
from buyers.selectors import live_access_q
from core.csv_export import local_iso_date
from core.money import quantize

from ..models import ContractTransaction, Purchase, RecurringContract

CHART_SPANS = (30, 90)


@dataclass
class CurrencyFigures:
    currency: str
    today: Decimal = Decimal(0)
    today_count: int = 0
    last_30_days: Decimal = Decimal(0)
    last_30_days_count: int = 0
    daily: dict = field(default_factory=dict)  # local date -> amount, over the chart's span

    def money(self, amount):
        return f"{quantize(amount, self.currency):,}"

    @property
    def today_display(self):
        return self.money(self.today)

    @property
    def last_30_days_display(self):
        return self.money(self.last_30_days)


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

    rows = (
        Purchase.objects.filter(status__in=Purchase.PAID_STATUSES, created_at__gte=span_start)
        .annotate(day=TruncDay("created_at", tzinfo=tz))
        .order_by()
        .values("day", "currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        # No ORDER BY: the planner, expecting a group per row, would sort every row before
        # grouping; unordered it hashes them (see tests/bench/RESULTS.md).
    )
    renewal_rows = (
        ContractTransaction.objects.filter(
            status=ContractTransaction.Status.APPROVED, transaction_date__gte=span_start
        )
        .annotate(day=TruncDay("transaction_date", tzinfo=tz))
        .order_by()
        .values("day", "currency")
        .annotate(total=Sum("amount"), count=Value(0))
    )
    by_currency: dict[str, CurrencyFigures] = {}
    # Revenue is purchases paid plus renewals charged; the counts are purchases'.
    for row in [*rows, *renewal_rows]:
        figures = by_currency.setdefault(row["currency"], CurrencyFigures(row["currency"]))
        day = date.fromisoformat(local_iso_date(row["day"]))
        figures.daily[day] = figures.daily.get(day, Decimal(0)) + row["total"]
        if day == today:
            figures.today += row["total"]
            figures.today_count += row["count"]
        if day >= month_start_day:
            figures.last_30_days += row["total"]
            figures.last_30_days_count += row["count"]

    chart_days = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    renewals: dict[date, list[int]] = {}
    for row in (
        ContractTransaction.objects.filter(
            status__in=[ContractTransaction.Status.APPROVED, ContractTransaction.Status.DECLINED],
            transaction_date__gte=span_start,
        )
        .annotate(day=TruncDay("transaction_date", tzinfo=tz))
        .order_by()
        .values("day", "status")
        .annotate(count=Count("pk"))
    ):
        day = date.fromisoformat(local_iso_date(row["day"]))
        counts = renewals.setdefault(day, [0, 0])
        counts[0 if row["status"] == ContractTransaction.Status.APPROVED else 1] += row["count"]
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
    currencies = [by_currency[code] for code in sorted(by_currency)]
    days_set = set(chart_days)
    return {
        "today": today,
        "days": days,
        "spans": CHART_SPANS,
        "currencies": currencies,
        "purchases_today": sum(figures.today_count for figures in currencies),
        "purchases_30_days": sum(figures.last_30_days_count for figures in currencies),
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
        'aria-label="Daily revenue in {currency}, {first} to {last}" '
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
