"""The inline-SVG chart kit: geometry follows the numbers, text is escaped, nothing external."""

from __future__ import annotations

import re

import pytest

from syncverify.report import svg


@pytest.mark.parametrize(("value", "top"), [(0, 1), (7, 10), (12, 20), (2400, 2500), (100, 100), (0.3, 0.5)])
def test_nice_max(value: float, top: float) -> None:
    assert svg.nice_max(value) == pytest.approx(top)


def _points(markup: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, p.split(","))) for p in m.split()]  # type: ignore[misc]
        for m in re.findall(r'points="([^"]+)"', markup)
    ]


def test_line_chart_geometry_gaps_and_escaping() -> None:
    markup = svg.line_chart(
        ["a", "b", "c", "d", "e"],
        [("<src>", [0, 50, 100, None, 100])],
        title="t & <x>",
        width=400,
        height=200,
    )
    lines = _points(markup)
    assert len(lines) == 1 and len(lines[0]) == 3  # the None leaves the last point alone
    assert "<circle" in markup  # ... drawn as a dot
    ys = [y for _, y in lines[0]]
    top, bottom = 26, 200 - 34  # the plot area of a 200-high chart
    assert ys[0] == pytest.approx(bottom) and ys[2] == pytest.approx(top)
    assert ys[1] == pytest.approx((top + bottom) / 2)
    assert "&lt;src&gt;" in markup and "t &amp; &lt;x&gt;" in markup and "<src>" not in markup
    assert "http" not in markup and "<script" not in markup


def test_dashed_series() -> None:
    markup = svg.line_chart(["a", "b"], [("s", [1, 2]), ("t", [1, 2])], dashed=(1,))
    assert markup.count("stroke-dasharray") == 1


def test_bar_chart_heights_are_proportional() -> None:
    markup = svg.bar_chart(["x", "y", "z"], [("rate", [100, 50, 0])], ymax=100, height=200)
    heights = [
        float(h)
        for h in re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="#', markup)
    ]
    assert heights == pytest.approx([140.0, 70.0, 0.0])


def test_heat_map_cells() -> None:
    matrix = [[0] * 24 for _ in range(3)]
    matrix[1][9] = 40
    matrix[2][23] = 1
    markup = svg.heat_map(["10-01", "10-02", "10-03"], [f"{h:02d}" for h in range(24)], matrix)
    cells = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"><title>([^<]+)</title>', markup)
    assert len(cells) == 72
    colours = {title: colour for colour, title in cells}
    assert colours["10-02 09: 40"] != colours["10-03 23: 1"] != "#f8fafc"
    assert colours["10-01 00: 0"] == "#f8fafc"
    assert ">40<" in markup  # counts are written in the cells
