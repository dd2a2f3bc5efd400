"""Daily volumes against the same weekday of past weeks: a weekday where both sides fall to zero
is a finding, the weekend dips the history shows are not."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store
from syncverify.synclog.volume import month_trend, stored_series, volume_findings

ZERO_DAY = date(2026, 10, 14)   # a Wednesday


def history(*, zero: date | None = ZERO_DAY) -> dict[date, tuple[int, int]]:
    rng = random.Random(7)
    days: dict[date, tuple[int, int]] = {}
    day = date(2026, 8, 1)
    while day <= date(2026, 10, 31):
        base = 300 if day.weekday() >= 5 else 1200          # weekends are quiet, every week
        n = int(base * rng.uniform(0.9, 1.1))
        days[day] = (0, 0) if day == zero else (n, n)
        day += timedelta(days=1)
    return days


def test_both_sides_zero_on_a_weekday_is_a_finding_and_weekend_dips_are_not() -> None:
    found = volume_findings({("zz11", "fp_fpxx"): history()}, "2026-10")
    assert [(f.kind, f.link, f.table, f.start.date()) for f in found] == [
        ("volume_anomaly", "zz11", "fp_fpxx", ZERO_DAY)]
    f = found[0]
    assert f.severity == "high" and f.evidence["both_sides_zero"] and f.evidence["weekday"] == "Wed"
    assert "robust z" in f.title and "median" in f.title and f.evidence["source_z"] < -5


def test_an_ordinary_month_has_no_volume_finding() -> None:
    assert volume_findings({("zz11", "fp_fpxx"): history(zero=None)}, "2026-10") == []


def test_a_day_missing_from_a_totals_result_counts_as_zero(tmp_path) -> None:
    """Totals group rows by day: a day with no row on either side is absent, not zero, in the
    result; inside the result's window it is read as zero rows on both sides."""
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    days = history()
    for month in ("2026-08", "2026-09", "2026-10"):
        start = datetime.fromisoformat(f"{month}-01")
        end = (start + timedelta(days=32)).replace(day=1)
        run = store.start_run("monthly", month=month)
        r = CheckResult(kind=CheckKind.TOTALS, link_id="zz11", table="fp_fpxx", check_id="totals/zz11/fp_fpxx",
                        window_start=start, window_end=end,
                        details={"daily": [{"day": d.isoformat(), "source_count": s, "target_count": t}
                                           for d, (s, t) in days.items() if start.date() <= d < end.date() and s]})
        r.outcome = Outcome.CONSISTENT
        store.record(run, r)
        store.finish_run(run)
    series = stored_series(store)
    assert series[("zz11", "fp_fpxx")][ZERO_DAY] == (0, 0)
    assert [f.start.date() for f in volume_findings(series, "2026-10")] == [ZERO_DAY]
    trend = month_trend(series, {"2026-10": {"links": [{"link": "zz11", "volume": {"errors": 4}}]},
                                 "2026-09": {"links": [{"link": "zz11", "volume": {"errors": 2}}]}}, "2026-10")
    assert trend[0]["link"] == "zz11" and trend[0]["errors_change"] == 1.0 and trend[0]["rows_last"] > 0
