"""Acceptance: a generated month with one incident of each kind on some links and quiet links
elsewhere; every incident is found and explained, quiet links get no finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.sandbox.synclogs import GeneratorError, Incident, generate_month_logs
from syncverify.synclog import analyse, write_analysis
from syncverify.synclog.cli import main as cli_main

MONTH = "2026-10"
LINKS = [
    ("zz11", "dsg", ["FP_FPXX", "FP_FPMX"]),
    ("ZS01", "dsg", ["FP_FPXX"]),
    ("GXJF-QUERY", "kafka-consumer", ["fp_fpxx"]),
    ("zz04", "dsg", ["FP_YPXX"]),
    # quiet links: normal traffic only (with rare transient errors and a weekly planned restart)
    ("ZZ25", "dsg", ["FP_FPXX"]),
    ("SS31", "dsg", ["NSRXX"]),
    ("ZJJF-QUERY", "kafka-consumer", ["fp_fpxx"]),
    ("ZZ15-1", "dsg", ["DM_SWJG"]),
]
TAXPAYER = "91450100MA5K8X2Q3D"
INCIDENTS = [
    Incident(
        "error_burst",
        "zz11",
        datetime(2026, 10, 13, 10, 0),
        datetime(2026, 10, 13, 10, 40),
        "FP_FPXX",
        {"code": "ORA-00001", "msg": f"违反唯一约束条件 (HX.PK_FPXX) xsfnsrsbh={TAXPAYER}"},
    ),
    Incident("stall", "ZS01", datetime(2026, 10, 15, 14, 0), datetime(2026, 10, 15, 16, 0)),
    Incident("latency_spike_peak", "GXJF-QUERY", datetime(2026, 10, 20, 9, 0), datetime(2026, 10, 20, 11, 0)),
    Incident("restart_loop", "zz04", datetime(2026, 10, 22, 3, 0), datetime(2026, 10, 22, 4, 0)),
]
EXPECTED_KIND = {
    "error_burst": "error_burst",
    "stall": "stall",
    "latency_spike_peak": "latency_spike",
    "restart_loop": "restart_loop",
}
QUIET = {"ZZ25", "SS31", "ZJJF-QUERY", "ZZ15-1"}


@pytest.fixture(scope="module")
def month_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synclog_month")
    files = generate_month_logs(out, MONTH, LINKS, INCIDENTS, seed=7)
    assert sum(f.stat().st_size for f in files) < 8 << 20  # a few MB for the sandbox
    return out


@pytest.fixture(scope="module")
def anomalies() -> list[CheckResult]:
    explained = CheckResult(
        kind=CheckKind.DIFF,
        link_id="zz11",
        table="fp_fpxx",
        window_start=datetime(2026, 10, 13),
        window_end=datetime(2026, 10, 14),
        outcome=Outcome.INCONSISTENT,
        missing_count=120,
    )
    unexplained = CheckResult(
        kind=CheckKind.COUNT,
        link_id="ZZ25",
        table="fp_fpxx",
        window_start=datetime(2026, 10, 13),
        window_end=datetime(2026, 10, 14),
        outcome=Outcome.INCONSISTENT,
        missing_count=3,
    )
    other_table = CheckResult(
        kind=CheckKind.DIFF,
        link_id="zz11",
        table="FP_FPMX",
        window_start=datetime(2026, 10, 13),
        window_end=datetime(2026, 10, 14),
        outcome=Outcome.INCONSISTENT,
        missing_count=4,
    )
    # a UTC-aware window (02:00-02:30 UTC = 10:00-10:30 in Guangxi) also finds the burst
    aware = CheckResult(
        kind=CheckKind.DIFF,
        link_id="zz11",
        table="HX.FP_FPXX",
        window_start=datetime(2026, 10, 13, 2, 0, tzinfo=UTC),
        window_end=datetime(2026, 10, 13, 2, 30, tzinfo=UTC),
        outcome=Outcome.INCONSISTENT,
        missing_count=10_000_000,
        check_id="diff/zz11/aware",
    )
    consistent = CheckResult(kind=CheckKind.COUNT, link_id="zz11", table="fp_fpxx", outcome=Outcome.CONSISTENT)
    return [explained, unexplained, other_table, aware, consistent]


@pytest.fixture(scope="module")
def analysis(month_dir: Path, anomalies: list[CheckResult]):
    return analyse(month_dir, MONTH, anomalies=anomalies, workers=1)


def test_every_incident_is_found_and_explained(analysis) -> None:
    for inc in INCIDENTS:
        hits = [
            f
            for f in analysis.findings_for(inc.link)
            if f.kind == EXPECTED_KIND[inc.kind]
            and f.start is not None
            and f.end is not None
            and f.start < inc.end
            and f.end > inc.start
        ]
        assert hits, f"{inc.kind} on {inc.link} not found: {[f.title for f in analysis.findings_for(inc.link)]}"
        f = hits[0]
        assert f.action and f.evidence and f.severity in ("critical", "high", "medium")
        # the finding's times line up with the injected incident (within a few minutes)
        assert abs((f.start - inc.start).total_seconds()) <= 15 * 60
        assert abs((f.end - inc.end).total_seconds()) <= 15 * 60


def test_no_finding_on_quiet_links(analysis) -> None:
    assert {la.link for la in analysis.links} >= QUIET
    noisy = [f.title for f in analysis.findings if f.link in QUIET]
    assert noisy == []
    for link in QUIET:
        la = analysis.link(link)
        assert la.stalls == [] and la.error_bursts == [] and la.restart_loops == [] and la.latency_spikes == []
        assert la.volume["rows"] > 0


def test_finding_evidence(analysis) -> None:
    burst = next(f for f in analysis.findings if f.kind == "error_burst")
    assert burst.evidence["code"] == "ORA-00001" and burst.evidence["category"] == "unique_key_conflict"
    assert burst.table == "FP_FPXX" and "unique-key conflict on FP_FPXX" in burst.action
    assert burst.evidence["errors"] >= 60 and burst.evidence["rows_in_failed_batches"] > 0
    stall = next(f for f in analysis.findings if f.kind == "stall")
    assert stall.evidence["backlog_peak"] > stall.evidence["backlog_start"]
    assert 100 <= stall.evidence["minutes"] <= 140
    spike = next(f for f in analysis.findings if f.kind == "latency_spike")
    assert spike.evidence["in_peak_hours"] and spike.evidence["ratio"] >= 5
    assert "09:00–11:00" in spike.action
    loop = next(f for f in analysis.findings if f.kind == "restart_loop")
    assert loop.evidence["restarts"] >= 10


def test_taxpayer_ids_masked_in_findings_and_output(analysis, tmp_path: Path) -> None:
    text = json.dumps(analysis.to_dict(), ensure_ascii=False)
    assert TAXPAYER not in text
    assert "914501**********3D" in text
    written = write_analysis(analysis, tmp_path)
    assert TAXPAYER not in written["json"].read_text(encoding="utf-8")


def test_correlation_with_anomalies(analysis) -> None:
    by_id = {c.check_id: c for c in analysis.correlations}
    assert len(by_id) == 4  # the consistent check is not an anomaly
    hit = by_id["diff/zz11/fp_fpxx"]
    assert hit.explained_by and hit.explained_by[0].startswith("error_burst:zz11")
    assert hit.rows_at_risk >= hit.missing
    assert "ORA-00001" in hit.explanation and "all missing rows" in hit.explanation
    burst = next(f for f in analysis.findings if f.id == hit.explained_by[0])
    assert "diff/zz11/fp_fpxx" in burst.explains
    assert by_id["count/ZZ25/fp_fpxx"].explained_by == []
    assert "no log incident" in by_id["count/ZZ25/fp_fpxx"].explanation
    assert by_id["diff/zz11/FP_FPMX"].explained_by == []  # the burst hit another table
    aware = by_id["diff/zz11/aware"]
    assert aware.explained_by == hit.explained_by
    assert aware.window_start == datetime(2026, 10, 13, 10, 0)
    assert "up to" in aware.explanation  # fewer failed rows than missing ones


def test_structure_for_the_report(analysis, tmp_path: Path) -> None:
    la = analysis.link("zz11")
    assert len(la.hourly) == 31 * 24
    assert len(la.error_matrix["counts"]) == 31 and len(la.error_matrix["counts"][0]) == 24
    assert sum(map(sum, la.error_matrix["counts"])) == la.volume["errors"]
    assert la.latency.p50_ms < la.latency.p95_ms <= la.latency.p99_ms
    assert {t.table for t in la.tables} == {"FP_FPXX", "FP_FPMX"}
    codes = {e.code: e for e in la.error_classes}
    assert codes["ORA-00001"].tables == ["FP_FPXX"]
    assert codes["ORA-00001"].first_seen.date().isoformat() == "2026-10-13"
    assert {p.period for p in la.slow_periods} == {"hour", "weekday"}
    assert analysis.parse_stats.encodings.get("gbk", 0) > 0 and analysis.parse_stats.malformed_total == 0
    written = write_analysis(analysis, tmp_path)
    hourly = pq.read_table(written["hourly"])
    assert hourly.num_rows == len(analysis.links) * 31 * 24
    assert pq.read_table(written["findings"]).num_rows == len(analysis.findings)
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    assert set(data) >= {"month", "links", "findings", "correlations", "parse_stats"}


def test_recurring_peak_slowness_is_a_bottleneck_not_a_spike(tmp_path: Path) -> None:
    days = [datetime(2026, 10, d) for d in range(1, 32) if datetime(2026, 10, d).weekday() < 5]
    incidents = [
        Incident("latency_spike_peak", "SS12-1", d.replace(hour=9), d.replace(hour=11), extra={"factor": 6}) for d in days
    ]
    generate_month_logs(tmp_path, MONTH, [("SS12-1", "dsg", ["DM_SWJG"], 3.0)], incidents, seed=3)
    result = analyse(tmp_path, MONTH, workers=1)
    kinds = {f.kind for f in result.findings}
    assert "bottleneck" in kinds and "latency_spike" not in kinds
    bottleneck = next(f for f in result.findings if f.kind == "bottleneck")
    assert set(bottleneck.evidence["hours"]) <= {9, 10} and bottleneck.evidence["hours"]


def test_malformed_lines_do_not_stop_the_analysis(month_dir: Path, tmp_path: Path) -> None:
    import shutil

    for f in month_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    with open(tmp_path / "dsg-ZZ25.log", "ab") as fh:
        fh.write(b'garbage\n2026-10-30 10:00:00.000 [ZZ25] ERROR APPLY code=X msg="cut\n')
        fh.write('2026-10-30 10:00:01.000 [ZZ25] INFO APPLY table=FP_FPXX ins=1 upd=0 del=0 msg="中文"\n'.encode("gbk"))
        fh.write(b"2026-10-30 10:00:0")
    result = analyse(tmp_path, MONTH, workers=1)
    assert result.parse_stats.malformed == {"bad_time": 1, "truncated": 2}
    assert len(result.links) == len(LINKS)


def test_cli(month_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(
        [
            "synclog",
            "analyse",
            "--logs",
            str(month_dir),
            "--month",
            MONTH,
            "--out",
            str(tmp_path),
            "--json",
            "--workers",
            "1",
        ]
    )
    assert code == 1  # findings
    out = json.loads(capsys.readouterr().out)
    assert len(out["findings"]) >= 4
    assert (tmp_path / "synclog_analysis.json").exists()
    assert cli_main(["synclog", "analyse", "--logs", str(tmp_path / "missing"), "--month", MONTH]) == 2
    assert "log path not found" in capsys.readouterr().err
    assert cli_main(["synclog", "analyse", "--logs", str(month_dir), "--month", "2026-13"]) == 2


def test_generator_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError, match="link"):
        generate_month_logs(
            tmp_path,
            MONTH,
            LINKS[:1],
            [Incident("stall", "nope", datetime(2026, 10, 1), datetime(2026, 10, 2))],
        )
    with pytest.raises(GeneratorError, match="kind"):
        generate_month_logs(tmp_path, MONTH, [("x", "oracle", ["T"])])


def test_generated_incident_lines_line_up_with_their_times(month_dir: Path) -> None:
    from syncverify.synclog import load_formats, parse_files

    parsed = parse_files(sorted(month_dir.glob("dsg-zz11.log*")), load_formats())
    events = parsed.events.to_pandas()
    burst = events[events["code"] == b"ORA-00001"]
    inc = INCIDENTS[0]
    assert len(burst) > 50
    assert burst["ts"].min() >= inc.start and burst["ts"].max() < inc.end
    # the rotated files hold days 1-10 (gzip), 11-20 and 21-31
    assert {p.name for p in month_dir.glob("dsg-zz11.log*")} == {
        "dsg-zz11.log",
        "dsg-zz11.log.1",
        "dsg-zz11.log.2.gz",
    }
    assert parsed.stats.encodings.get("gbk", 0) > 0 and parsed.stats.encodings.get("utf-8", 0) > 0


def test_two_processes_give_the_same_analysis(month_dir: Path, analysis, anomalies: list[CheckResult]) -> None:
    # aggregation does not depend on which process read which file: everything matches,
    # parse statistics (samples, file list) included
    parallel = analyse(month_dir, MONTH, anomalies=anomalies, workers=2).to_dict()
    single = analysis.to_dict()
    for d in (parallel, single):
        d.pop("generated_at")
    assert json.dumps(parallel, sort_keys=True, default=str) == json.dumps(single, sort_keys=True, default=str)


def test_merged_partial_aggregates_equal_one_aggregate(month_dir: Path) -> None:
    from syncverify.synclog import load_formats
    from syncverify.synclog.aggregate import Aggregator
    from syncverify.synclog.parsers import ParseStats, iter_events
    from syncverify.synclog.timebase import month_range_ms

    time_range = month_range_ms(MONTH)
    files = sorted(month_dir.iterdir())
    whole, parts = Aggregator(time_range), [Aggregator(time_range), Aggregator(time_range)]
    for index, path in enumerate(files):
        for batch in iter_events([path], load_formats(), ParseStats(), time_range, chunk_bytes=64 << 10):
            whole.add(batch, index)
            # files dealt out backwards: the later file's partial is merged first
            parts[(len(files) - index) % 2].add(batch, index)
    merged = Aggregator(time_range)
    for part in parts[::-1]:
        part.trim()
        merged.merge(part)
    expected, got = whole.frames(), merged.frames()
    sort_by = {"minute": ["link", "minute"], "hour": ["link", "table", "hour"], "lag": ["link", "table", "hour", "bin"]}
    sort_by |= {"error": ["link", "table", "code", "minute"], "restart": ["link", "minute"]}
    for name, keys in sort_by.items():
        assert len(expected[name]) > 0
        left = expected[name].sort_values(keys).reset_index(drop=True)
        right = got[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_percentiles_from_histogram_bins() -> None:
    from syncverify.synclog.aggregate import lag_bin_value
    from syncverify.synclog.detectors.robust import percentiles

    df = pd.DataFrame(
        {"table": ["B", "A", "A", "A", "B"], "bin": [7, 3, 1, 3, 2], "count": [1, 2, 1, 1, 3]}
    )  # A: bin 1 x1, bin 3 x3; B: bin 2 x3, bin 7 x1
    out = percentiles(df, "table", [0.25, 0.5, 1.0]).set_index("table")
    assert out["samples"].to_dict() == {"A": 4, "B": 4}
    assert out.loc["A", "q0.25"] == lag_bin_value(np.array([1]))[0]
    assert out.loc["A", "q0.5"] == lag_bin_value(np.array([3]))[0]
    assert out.loc["B", "q0.5"] == lag_bin_value(np.array([2]))[0]
    assert out.loc["B", "q1.0"] == lag_bin_value(np.array([7]))[0]
