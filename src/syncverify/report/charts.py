"""Interactive charts that work offline: Plotly figures as JSON, drawn by plotly.js inlined once.

The bureau's network is closed, so the library's own JavaScript (the ``plotly.min.js`` its Python
wheel ships) is written into the page once; each chart is a ``<div>`` holding its figure as JSON.
Operators hover for values, drag to zoom and click legend entries to toggle a series, as in
Grafana. Many links are shown as small multiples (one small chart per link, each with its own
scale) rather than one plot of 19 lines, and every series of a chart has a colour of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from html import escape
from typing import Any

from markupsafe import Markup

# 20 colours distinct enough to tell apart on screen and on paper (Tableau 20, dark shades first).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
           "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
REFERENCE = "#111827"      # reference lines (a month's figure): a colour no series of the palette has
# Days and hours as the bureau writes them (10-09, not "Oct 9"), the hour in full on hover.
TIME_AXIS = {"type": "date", "tickformat": "%m-%d", "hoverformat": "%Y-%m-%d %H:00", "automargin": True}
FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif'


@cache
def plotly_js() -> str:
    """plotly.js as the Python package ships it (no network, no CDN)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _layout(title: str, height: int, *, yaxis: dict[str, Any] | None = None, legend: bool = True,
            **more: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 34, "b": 40 if not legend else 70},
        "font": {"family": FONT, "size": 11},
        "showlegend": legend,
        # the legend below the plot, wrapping: it never runs out of the box however many series
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18, "yanchor": "top"},
        "hovermode": "x unified",
        "yaxis": {"rangemode": "tozero", "automargin": True, **(yaxis or {})},
        "xaxis": {"automargin": True},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        **more,
    }


def figure(chart_id: str, data: list[dict[str, Any]], layout: dict[str, Any]) -> Markup:
    """A chart's ``<div>``: its figure as JSON, drawn by the page's one script."""
    spec = json.dumps({"data": data, "layout": layout}, ensure_ascii=False, separators=(",", ":"))
    return Markup(f'<div class="plot" id="{escape(chart_id)}" data-figure="{escape(spec)}" '
                  f'style="height:{int(layout["height"])}px"></div>')


def bars(chart_id: str, x: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str,
         height: int = 260, ymax: float | None = None, suffix: str = "", horizontal: bool = False) -> Markup:
    """Grouped bars; ``horizontal`` for many categories (31 links read down a column, never rotated)."""
    value, cat = ("x", "y") if horizontal else ("y", "x")
    data = [{"type": "bar", "name": name, cat: list(x), value: list(values), "marker": {"color": colour(i)},
             "orientation": "h" if horizontal else "v",
             "hovertemplate": f"%{{{value}:.2f}}{suffix}<extra>{escape(name)}</extra>"}
            for i, (name, values) in enumerate(series)]
    if horizontal:
        height = max(height, 22 * len(x) + 110)
    scale = {"range": [0, ymax], "automargin": True} if ymax is not None else {"automargin": True}
    layout = _layout(title, height, legend=len(series) > 1, barmode="group")
    # months and link ids are categories, never dates to parse
    categories = {"type": "category", "automargin": True, **({"autorange": "reversed"} if horizontal else {})}
    layout[f"{cat}axis"], layout[f"{value}axis"] = categories, scale
    if horizontal:
        layout["hovermode"] = "y unified"
        # a tall chart: the legend at the top right, beside the title, not far below the last bar
        layout["legend"] = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1, "yanchor": "bottom"}
        layout["margin"] = {**layout["margin"], "t": 44, "b": 40}
    return figure(chart_id, data, layout)


def lines(chart_id: str, x: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str,
          height: int = 220, colours: Sequence[str] | None = None, dashed: Sequence[int] = (),
          legend: bool | None = None) -> Markup:
    data = []
    for i, (name, values) in enumerate(series):
        c = colours[i] if colours else colour(i)
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": list(x), "y": list(values),
                     "connectgaps": False, "line": {"color": c, "width": 1.6, **({"dash": "dash"} if i in dashed else {})}})
    layout = _layout(title, height, legend=len(series) > 1 if legend is None else legend)
    layout["xaxis"] = TIME_AXIS
    return figure(chart_id, data, layout)


def volume(chart_id: str, days: Sequence[str], source: Sequence[int], target: Sequence[int], *, title: str,
           names: tuple[str, str, str]) -> Markup:
    """Source and target rows per day, and their difference on its own axis so it can be seen."""
    diff = [t - s for s, t in zip(source, target, strict=True)]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": names[0], "x": list(days), "y": list(source),
         "line": {"color": colour(0), "width": 1.6}},
        {"type": "scatter", "mode": "lines", "name": names[1], "x": list(days), "y": list(target),
         "line": {"color": colour(1), "width": 1.6, "dash": "dash"}},
        {"type": "bar", "name": names[2], "x": list(days), "y": diff, "yaxis": "y2",
         "marker": {"color": colour(3)}, "opacity": 0.75},
    ]
    layout = _layout(title, 240, yaxis2={"overlaying": "y", "side": "right", "showgrid": False,
                                         "zeroline": True, "automargin": True})
    layout["margin"]["r"] = 40
    layout["xaxis"] = {**TIME_AXIS, "hoverformat": "%Y-%m-%d"}
    return figure(chart_id, data, layout)


def heatmap(chart_id: str, days: Sequence[str], hours: Sequence[str], values: Sequence[Sequence[int]], *,
            title: str, colorbar: str) -> Markup:
    data: list[dict[str, Any]] = [{"type": "heatmap", "x": list(hours), "y": list(days), "z": [list(r) for r in values],
             # an hour without errors is white
             "colorscale": [[0, "#ffffff"], [0.001, "#fee2e2"], [1, "#991b1b"]],
             "colorbar": {"title": {"text": colorbar}, "thickness": 12},
             "hovertemplate": "%{y} %{x}:00 · %{z}<extra></extra>"}]
    layout = _layout(title, max(220, 12 * len(days) + 70), legend=False)
    layout["yaxis"] = {"autorange": "reversed", "type": "category", "automargin": True}
    layout["xaxis"] = {"type": "category", "automargin": True}
    layout["hovermode"] = "closest"
    return figure(chart_id, data, layout)


# The page's one script: draws every chart, and redraws them at the printed width.
DRAW_JS = """
(function () {
  function draw() {
    document.querySelectorAll('div.plot[data-figure]').forEach(function (el) {
      var fig = JSON.parse(el.getAttribute('data-figure'));
      Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false,
        modeBarButtonsToRemove: ['sendDataToCloud', 'toImage'], locale: document.documentElement.lang});
      el.setAttribute('data-drawn', '1');
    });
  }
  function resize() {
    document.querySelectorAll('div.plot[data-drawn]').forEach(function (el) { Plotly.Plots.resize(el); });
  }
  window.addEventListener('beforeprint', resize);
  if (window.matchMedia) { window.matchMedia('print').addListener(resize); }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', draw); } else { draw(); }
})();
"""


def scripts() -> Markup:
    """plotly.js and the drawing script, once per HTML file."""
    js = plotly_js().replace("</script", "<\\/script")
    return Markup(f"<script>{js}</script>\n<script>{DRAW_JS}</script>")
