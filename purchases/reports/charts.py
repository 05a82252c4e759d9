"""Bar charts drawn as SVG on the server for the forecast and MRR pages, as the dashboard draws
its charts: no script and no inline style (the CSP is strict). Each chart carries a <title>
and an aria-label; each bar a <title> with its label and value; the page shows a table of the
same figures beside it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD, LEGEND = 640, 200, 28, 16


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name (in the legend and each bar's title), colour and values (one
    per category; a negative value is drawn below the axis)."""

    name: str
    colour: str
    values: Sequence[Decimal | int]


def bar_chart_svg(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[Decimal | int], str] = str,
    css_class: str = "report-chart",
) -> SafeString:
    """Grouped bars, one group per category, one bar per series; `value_text` writes a value
    for the bars' titles and the scale."""
    values = [value for one in series for value in one.values]
    top = max([value for value in values if value > 0], default=0)
    bottom = -min([value for value in values if value < 0], default=0)
    span = (top + bottom) or 1
    plot_top = PAD + LEGEND
    plot_height = HEIGHT - plot_top - PAD
    zero_y = plot_top + float(top / span) * plot_height
    slot = (WIDTH - 2 * PAD) / max(len(categories), 1)
    bar_width = max(slot * 0.8 / max(len(series), 1), 0.5)
    bars = []
    for index, category in enumerate(categories):
        for number, one in enumerate(series):
            value = one.values[index]
            height = float(abs(value) / span) * plot_height
            y = zero_y - height if value >= 0 else zero_y
            bars.append(
                (
                    f"{PAD + index * slot + slot * 0.1 + number * bar_width:.1f}",
                    f"{y:.1f}",
                    f"{bar_width:.1f}",
                    f"{height:.1f}",
                    one.colour,
                    f"{category}: {one.name} {value_text(value)}",
                )
            )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="{}" font-size="11" fill="#495057">{}</text>',
        (
            (PAD + number * 130, 4, one.colour, PAD + number * 130 + 14, 13, one.name)
            for number, one in enumerate(series)
        ),
    )
    return format_html(
        '<svg class="{css_class}" width="100%" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{legend}'
        '<line x1="{pad}" y1="{zero}" x2="{right}" y2="{zero}" stroke="#adb5bd"/>'
        '<text x="{right}" y="{label_y}" font-size="11" fill="#6c757d" '
        'text-anchor="end">{top}</text>'
        '<text x="{pad}" y="{date_y}" font-size="11" fill="#6c757d">{first}</text>'
        '<text x="{right}" y="{date_y}" font-size="11" fill="#6c757d" '
        'text-anchor="end">{last}</text>{bars}</svg>',
        css_class=css_class,
        w=WIDTH,
        h=HEIGHT,
        title=title,
        legend=legend,
        pad=PAD,
        right=WIDTH - PAD,
        zero=f"{zero_y:.1f}",
        label_y=plot_top - 4,
        date_y=HEIGHT - PAD + 16,
        top=value_text(top),
        first=categories[0] if categories else "",
        last=categories[-1] if categories else "",
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
    )
