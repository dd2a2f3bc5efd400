"""The report's chart kit: figures as JSON in the page, plotly.js inline once, a colour per series."""

from __future__ import annotations

import html
import json
import re

from syncverify.report import charts


def _figure(markup: str) -> dict:
    m = re.search(r'data-figure="([^"]*)"', markup)
    assert m is not None
    return json.loads(html.unescape(m.group(1)))


def test_palette_has_a_colour_per_link_and_the_reference_is_none_of_them() -> None:
    assert len(set(charts.PALETTE)) == len(charts.PALETTE) >= 19      # 19 links in one month, none reused
    assert charts.REFERENCE not in charts.PALETTE


def test_figures_escape_their_text_and_keep_their_numbers() -> None:
    markup = str(charts.lines("c1", ["2026-10-01 00:00", "2026-10-01 01:00"],
                              [("<b>x</b>\"'", [1, None]), ("ref", [2, 2])], title="a & b", colours=["#111", "#222"]))
    assert "<b>" not in markup.split("data-figure")[1]          # attribute text is escaped
    fig = _figure(markup)
    assert fig["data"][0]["name"] == "<b>x</b>\"'" and fig["data"][0]["y"] == [1, None]
    assert [d["line"]["color"] for d in fig["data"]] == ["#111", "#222"]
    assert fig["layout"]["title"]["text"] == "a & b" and fig["layout"]["showlegend"] is True


def test_volume_chart_draws_the_difference_on_its_own_axis() -> None:
    fig = _figure(str(charts.volume("v", ["2026-10-01", "2026-10-02"], [10, 12], [10, 15], title="t",
                                    names=("s", "t", "d"))))
    assert fig["data"][2]["y"] == [0, 3] and fig["data"][2]["yaxis"] == "y2"
    assert len({d.get("line", d.get("marker"))["color"] for d in fig["data"]}) == 3


def test_scripts_inline_plotly_once_and_cannot_close_the_tag_early() -> None:
    page = str(charts.scripts())
    assert page.count("<script>") == 2 and page.count("</script>") == 2
    assert "src=" not in page.split(">", 1)[0]
    assert len(charts.plotly_js()) > 1_000_000              # the library itself, not a loader
