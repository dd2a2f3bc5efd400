"""A tiny inline-SVG chart kit: line chart, grouped bar chart, heat map.

The bureau's network is closed, so the reports cannot load a charting library; these functions
return ``<svg>`` markup that the HTML embeds as it is. Every text is XML-escaped; sizes are in a
``viewBox`` so the charts scale with the page and print sharply. Fonts come from the page's CSS
(the Chinese system font stack).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#db2777")


def _fmt(value: float) -> str:
    """Axis label: 1234567 -> 1.2M, 12000 -> 12k, 0.5 -> 0.5."""
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:.1f}G"
    if a >= 1e6:
        return f"{value / 1e6:.1f}M"
    if a >= 1e4:
        return f"{value / 1e3:.0f}k"
    if a >= 1e3:
        return f"{value / 1e3:.1f}k"
    if a == int(a):
        return str(int(value))
    return f"{value:.2g}"


def nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above ``value`` (the top of the y axis)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _frame(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def _ticks(ymax: float) -> int:
    """Gridlines that land on round numbers: 5 for 1/2.5/5 x 10^n tops, 4 for 2 x 10^n."""
    mantissa = ymax / 10 ** math.floor(math.log10(ymax)) if ymax > 0 else 1
    return 4 if abs(mantissa - 2) < 1e-9 else 5


def _y_axis(parts: list[str], left: int, top: int, plot_w: int, plot_h: int, ymax: float) -> None:
    ticks = _ticks(ymax)
    for i in range(ticks + 1):
        v = ymax * i / ticks
        y = top + plot_h - plot_h * i / ticks
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(v)}</text>')


def _x_labels(parts: list[str], labels: Sequence[str], xs: Sequence[float], y: float, max_labels: int = 12) -> None:
    if not labels:
        return
    step = max(1, math.ceil(len(labels) / max_labels))
    for i in range(0, len(labels), step):
        parts.append(f'<text x="{xs[i]:.1f}" y="{y:.1f}" text-anchor="middle" class="tick">{escape(labels[i])}</text>')


def _legend(parts: list[str], names: Sequence[str], left: int, y: int) -> None:
    x = left
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 1}" class="legend">{escape(name)}</text>')
        x += 28 + 8 * len(name) + 6 * sum(1 for c in name if ord(c) > 0x2E80)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str = "",
    width: int = 760,
    height: int = 240,
    dashed: Sequence[int] = (),
) -> str:
    """One polyline per series over shared x labels; ``None`` values leave a gap.

    ``dashed``: indexes of series drawn dashed (a target line on top of an equal source line
    stays visible).
    """
    left, right, top, bottom = 56, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    ymax = nice_max(max(values) if values else 0)
    n = max((len(vs) for _, vs in series), default=0)
    xs = [left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    parts = _frame(width, height, title)
    _y_axis(parts, left, top, plot_w, plot_h, ymax)
    for si, (_name, vs) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            y = top + plot_h - plot_h * (v / ymax)
            segment.append(f"{xs[i]:.1f},{y:.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            else:
                dash = ' stroke-dasharray="5 3"' if si in dashed else ""
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.6" stroke-linejoin="round"{dash}/>'
                )
    _x_labels(parts, list(labels), xs, height - bottom + 16)
    _legend(parts, [name for name, _ in series], left, 14)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str = "",
    width: int = 760,
    height: int = 240,
    ymax: float | None = None,
) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    left, right, top, bottom = 56, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs]
    top_value = ymax if ymax is not None else nice_max(max(values) if values else 0)
    n = len(labels)
    group_w = plot_w / max(n, 1)
    bar_w = max(1.0, group_w * 0.8 / max(len(series), 1))
    xs = [left + group_w * (i + 0.5) for i in range(n)]
    parts = _frame(width, height, title)
    _y_axis(parts, left, top, plot_w, plot_h, top_value)
    for si, (name, vs) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        for i, v in enumerate(vs):
            h = plot_h * min(max(v, 0) / top_value, 1.0)
            x = left + group_w * i + group_w * 0.1 + bar_w * si
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(labels[i])} {escape(name)}: {v:,.6g}</title></rect>'
            )
    _x_labels(parts, list(labels), xs, height - bottom + 16)
    _legend(parts, [name for name, _ in series], left, 14)
    parts.append("</svg>")
    return "".join(parts)


def _heat_colour(value: float, vmax: float) -> str:
    """White for zero, then light yellow to deep red."""
    if value <= 0 or vmax <= 0:
        return "#f8fafc"
    share = math.sqrt(min(value / vmax, 1.0))  # sqrt: a few errors must still show
    r = 254 - int(share * (254 - 185))
    g = 240 - int(share * (240 - 28))
    b = 200 - int(share * (200 - 28))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    matrix: Sequence[Sequence[float]],
    *,
    title: str = "",
    cell: int = 24,
    row_label_w: int = 52,
) -> str:
    """Rows x columns of shaded cells (days x hours of errors); each cell has a tooltip."""
    top = 22
    width = row_label_w + cell * len(col_labels) + 8
    height = top + cell * len(row_labels) + 8
    vmax = max((v for row in matrix for v in row), default=0)
    parts = _frame(width, height, title)
    for j, label in enumerate(col_labels):
        parts.append(
            f'<text x="{row_label_w + cell * j + cell / 2:.1f}" y="{top - 6}" text-anchor="middle" '
            f'class="tick">{escape(label)}</text>'
        )
    for i, label in enumerate(row_labels):
        y = top + cell * i
        parts.append(
            f'<text x="{row_label_w - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" class="tick">{escape(label)}</text>'
        )
        for j, value in enumerate(matrix[i]):
            x = row_label_w + cell * j
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{_heat_colour(value, vmax)}"><title>{escape(label)} '
                f"{escape(col_labels[j])}: {value:,.0f}</title></rect>"
            )
            if value > 0 and cell >= 18:
                dark = value / vmax > 0.45 if vmax else False
                parts.append(
                    f'<text x="{x + (cell - 1) / 2:.1f}" y="{y + cell / 2 + 3:.1f}" text-anchor="middle" '
                    f'class="cell{" dark" if dark else ""}">{_fmt(value)}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)
