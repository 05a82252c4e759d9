"""A small SVG line chart for benchmark results (log-log axes), so RESULTS.md can show how cost
grows with size without a plotting library."""

import math
from html import escape

COLOURS = ["#0d6efd", "#198754", "#6f42c1", "#fd7e14", "#dc3545", "#6c757d"]
DASHES = ["", "", "", "6 3", "", "6 3"]


def _decades(low, high):
    start, stop = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10**exponent for exponent in range(start, stop + 1)]


def line_chart_svg(*, title, x_label, y_label, series, width=840, height=440):
    """`series`: [(name, [(x, y), ...]), ...], x and y positive; both axes logarithmic."""
    points = [point for _, line in series for point in line]
    xs = [x for x, _ in points] or [1, 10]
    ys = [y for _, y in points] or [1, 10]
    x_ticks = sorted(set(xs))
    y_ticks = _decades(min(ys), max(ys))
    left, right, top, bottom = 70, 300, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    x_lo, x_hi = math.log10(min(x_ticks)), math.log10(max(x_ticks))
    y_lo, y_hi = math.log10(y_ticks[0]), math.log10(y_ticks[-1])

    def px(x):
        span = (x_hi - x_lo) or 1
        return left + (math.log10(x) - x_lo) / span * plot_w

    def py(y):
        span = (y_hi - y_lo) or 1
        return top + plot_h - (math.log10(y) - y_lo) / span * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in y_ticks:
        for minor in range(2, 10) if tick != y_ticks[-1] else ():
            y = py(tick * minor)
            out.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#f1f1f1"/>'
            )
        y = py(tick)
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for tick in x_ticks:
        x = px(tick)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{tick:,}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 15}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text x="18" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for index, (name, line) in enumerate(series):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(line))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if coords:
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash_attr}/>'
            )
        for x, y in line:
            out.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(name)}: {y:.1f} ms at {x:,}</title></circle>"
            )
        legend_y = top + 10 + index * 22
        legend_x = left + plot_w + 20
        out.append(
            f'<line x1="{legend_x}" x2="{legend_x + 24}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        out.append(f'<text x="{legend_x + 30}" y="{legend_y + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
