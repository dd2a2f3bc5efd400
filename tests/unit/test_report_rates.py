"""Rates in the reports are rounded down: a month with differing rows never reads 100.00 %."""

from __future__ import annotations

import pytest

from syncverify.report.render import fmt_pct


@pytest.mark.parametrize(("value", "shown"), [
    (1.0, "100.00%"),
    (0.0, "0.00%"),
    (34 / 38, "89.47%"),
    (1 - 12 / 2_464_142, "99.9995%"),   # the demo month's row-level rate: 12 rows differ
    (1 - 3 / 896_237, "99.9996%"),
    (0.99991, "99.991%"),
    (1 - 1e-9, "99.9999%"),
    (None, "-"),
])
def test_rates_round_down_and_never_read_as_full(value: float | None, shown: str) -> None:
    assert fmt_pct(value) == shown


def test_any_rate_below_one_reads_below_100() -> None:
    for differing in (1, 2, 7, 12, 99, 1000):
        for compared in (10_000, 1_000_000, 2_464_142, 4_000_000_000):
            assert not fmt_pct(1 - differing / compared).startswith("100"), (differing, compared)
