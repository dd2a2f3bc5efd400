"""Log correlation per kind of difference: only findings that can produce a kind of difference
explain it (the rule table of ``syncverify.synclog.correlate``); time and table still have to match."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.synclog.correlate import CATEGORIES, CAUSE_RULES, correlate, explain
from syncverify.synclog.model import Correlation, Finding

DAY = datetime(2026, 10, 13)
NEXT = datetime(2026, 10, 14)
NO_EXPLANATION = "no explanation found in the logs"


def finding(
    kind: str,
    start: datetime,
    end: datetime,
    link: str = "zz11",
    table: str | None = None,
    **evidence: Any,
) -> Finding:
    return Finding(
        id=f"{kind}:{link}:{start:%Y%m%dT%H%M}" + (f":{evidence['code']}" if "code" in evidence else ""),
        kind=kind,
        severity="high",
        link=link,
        table=table,
        start=start,
        end=end,
        title=f"{link}: {kind}",
        evidence=evidence,
        action="look",
    )


def burst(code: str = "ORA-00001", category: str = "unique_key_conflict", rows: int = 200, **kw: Any) -> Finding:
    return finding(
        "error_burst",
        DAY.replace(hour=10),
        DAY.replace(hour=10, minute=40),
        table="FP_FPXX",
        code=code,
        category=category,
        errors=80,
        tables=["FP_FPXX"],
        rows_in_failed_batches=rows,
        sample_message=kw.pop("sample_message", "unique constraint (HX.PK_FPXX) violated"),
        **kw,
    )


def spike(link: str = "zz11") -> Finding:
    return finding("latency_spike", DAY.replace(hour=9), DAY.replace(hour=11), link=link, peak_p95_ms=42_000.0, ratio=30.0)


def stall(start: datetime = DAY.replace(hour=14), link: str = "zz11") -> Finding:
    return finding("stall", start, start.replace(hour=start.hour + 2), link=link, minutes=120, backlog_peak=9000)


def restart_loop() -> Finding:
    return finding("restart_loop", DAY.replace(hour=3), DAY.replace(hour=4), restarts=12)


def anomaly(link: str = "zz11", table: str = "fp_fpxx", **counts: int) -> CheckResult:
    res = CheckResult(
        kind=CheckKind.DIFF,
        link_id=link,
        table=table,
        window_start=DAY,
        window_end=NEXT,
        outcome=Outcome.INCONSISTENT,
    )
    for name, value in counts.items():
        setattr(res, f"{name}_count", value)
    return res


def test_rule_table_covers_every_category() -> None:
    assert set(CAUSE_RULES) == set(CATEGORIES)
    assert "stall" not in CAUSE_RULES["extra"] and "latency_spike" not in CAUSE_RULES["changed"]
    assert "redelivery" in CAUSE_RULES["duplicate"]


def test_latency_spike_does_not_explain_changed_amounts() -> None:
    corr = explain(anomaly(changed=7), [spike()])
    assert corr.causes == {} and corr.unexplained == ["changed"] and corr.explained_by == []
    assert NO_EXPLANATION in corr.explanation
    assert "7 changed rows" in corr.explanation and "latency spike" in corr.explanation


def test_error_burst_on_the_table_explains_missing_rows_with_coverage() -> None:
    b = burst(rows=200)
    corr = explain(anomaly(missing=120), [b, spike()])
    assert corr.causes == {"missing": [b.id]} and corr.unexplained == []
    assert corr.explained_by == [b.id] and corr.rows_at_risk == 200
    assert "ORA-00001" in corr.explanation and "enough failed rows to account for all missing rows" in corr.explanation
    short = explain(anomaly(missing=500), [b])
    assert "failed batches account for up to 200 of the 500 missing rows" in short.explanation
    # the burst hit FP_FPXX only: another table's missing rows stay unexplained
    other = explain(anomaly(table="FP_FPMX", missing=4), [b])
    assert other.explained_by == [] and other.unexplained == ["missing"] and NO_EXPLANATION in other.explanation


def test_stall_does_not_explain_extra_rows_but_explains_missing_ones() -> None:
    s = stall()
    extra = explain(anomaly(extra=5), [s])
    assert extra.causes == {} and extra.unexplained == ["extra"] and extra.explained_by == []
    assert NO_EXPLANATION in extra.explanation
    both = explain(anomaly(missing=30, extra=5), [s])
    assert both.causes == {"missing": [s.id]} and both.unexplained == ["extra"]
    assert both.explained_by == [s.id] and both.rows_at_risk == 0
    assert "30 missing rows: explained by a 120-minute stall" in both.explanation
    assert "5 extra rows: no explanation found in the logs" in both.explanation


def test_restart_loop_explains_duplicates_and_missing_not_changed() -> None:
    r = restart_loop()
    corr = explain(anomaly(duplicate=3, changed=2), [r])
    assert corr.causes == {"duplicate": [r.id]} and corr.unexplained == ["changed"]
    assert corr.duplicate == 3 and "restart loop of 12 restarts" in corr.explanation
    assert explain(anomaly(missing=1), [r]).causes == {"missing": [r.id]}


def test_redelivery_kind_explains_duplicates_and_extra_rows() -> None:
    red = finding("redelivery", DAY.replace(hour=5), DAY.replace(hour=6), tables=["FP_FPXX"])
    corr = explain(anomaly(duplicate=2, extra=1), [red])
    assert corr.causes == {"extra": [red.id], "duplicate": [red.id]} and corr.unexplained == []
    # a redelivery naming another table does not explain this one
    assert explain(anomaly(table="FP_FPMX", duplicate=2), [red]).unexplained == ["duplicate"]


def test_latency_explains_rows_in_flight() -> None:
    sp = spike()
    corr = explain(anomaly(in_flight=40, changed=1), [sp])
    assert corr.causes == {"in_flight": [sp.id]} and corr.unexplained == ["changed"]
    assert corr.in_flight == 40 and "40 rows in flight: explained by latency p95" in corr.explanation


def test_only_value_altering_errors_explain_changed_values() -> None:
    trunc = burst(code="1406", category="value_too_large", sample_message="Data too long for column 'XFMC'")
    corr = explain(anomaly(changed=9, missing=2), [trunc])
    assert corr.causes == {"missing": [trunc.id], "changed": [trunc.id]} and corr.unexplained == []
    assert corr.explained_by == [trunc.id]
    # a truncation told by the message only (unknown code) counts too
    msg = burst(code="X1", category="other", sample_message="value truncated on insert")
    assert explain(anomaly(changed=1), [msg]).causes == {"changed": [msg.id]}
    # a unique-key conflict rejects rows; it does not alter values
    dup = explain(anomaly(changed=9), [burst()])
    assert dup.causes == {} and dup.unexplained == ["changed"] and NO_EXPLANATION in dup.explanation


def test_findings_of_another_link_or_outside_the_window_never_explain() -> None:
    elsewhere = [
        spike(link="ZS01"),
        stall(link="ZS01"),
        stall(start=datetime(2026, 10, 20, 9)),  # a week later
        finding("restart_loop", datetime(2026, 10, 12, 20), datetime(2026, 10, 12, 23), restarts=5),  # the day before
        finding("bottleneck", DAY, NEXT, hours=[9, 10]),  # explains nothing
    ]
    corr = explain(anomaly(missing=3, in_flight=2, duplicate=1), elsewhere)
    assert corr.explained_by == [] and corr.causes == {}
    assert corr.unexplained == ["missing", "duplicate", "in_flight"]
    assert "no log incident of this link in the window" in corr.explanation
    assert corr.explanation.count(NO_EXPLANATION) == 3


def test_aware_window_is_read_in_log_time() -> None:
    res = anomaly(missing=10)
    res.window_start, res.window_end = datetime(2026, 10, 13, 2, tzinfo=UTC), datetime(2026, 10, 13, 2, 30, tzinfo=UTC)
    b = burst()
    corr = explain(res, [b], log_tz="Asia/Shanghai")
    assert corr.window_start == DAY.replace(hour=10) and corr.causes == {"missing": [b.id]}
    assert explain(res, [b], log_tz="UTC").causes == {}  # 02:00 UTC taken as 02:00 in the logs


def test_explain_is_pure_and_correlate_marks_findings() -> None:
    b, sp = burst(), spike()
    explain(anomaly(missing=1), [b, sp])
    assert b.explains == [] and sp.explains == []
    results = [
        anomaly(missing=1, changed=2),
        anomaly(link="SS31", missing=1),
        CheckResult(kind=CheckKind.COUNT, link_id="zz11", table="fp_fpxx", outcome=Outcome.CONSISTENT),
    ]

    class LA:  # the links analysed: correlate reads only .link
        def __init__(self, link: str) -> None:
            self.link = link

    out = correlate(results, [b, sp], [LA("zz11")])  # type: ignore[list-item]
    assert [c.check_id for c in out] == ["diff/zz11/fp_fpxx", "diff/SS31/fp_fpxx"]
    assert b.explains == ["diff/zz11/fp_fpxx"] and sp.explains == []  # the spike explains no kind here
    assert out[0].unexplained == ["changed"]
    assert "no logs of this link were analysed" in out[1].explanation


def test_correlation_to_dict_carries_the_categories() -> None:
    b = burst()
    d = explain(anomaly(missing=1, extra=2), [b]).to_dict()
    assert d["causes"] == {"missing": [b.id]} and d["unexplained"] == ["extra"]
    assert {"duplicate", "in_flight", "explained_by", "explanation"} <= set(d)
    assert Correlation(None, "diff", "x", "t", None, None, 0, 0, 0, [], 0, "").causes == {}


def test_backlog_anomaly_is_rows_in_flight() -> None:
    res = CheckResult(
        kind=CheckKind.KAFKA_BACKLOG,
        link_id="zz11",
        table="fp_fpxx",
        window_start=DAY,
        window_end=NEXT,
        outcome=Outcome.INCONSISTENT,
    )
    sp, s = spike(), stall()
    corr = explain(res, [sp, s, burst()])
    assert corr.causes == {"in_flight": [sp.id, s.id]}
