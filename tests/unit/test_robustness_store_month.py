"""Strict months, stores that reads never create, corrupt store rows named and skipped, and a
resumed run that reports the whole run."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import ROOT
from syncverify.calendar import check_month, month_window, parse_month
from syncverify.catalog import load_catalog
from syncverify.connect.existing import require_existing
from syncverify.dialects import SQLiteDialect
from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.runner import jobs
from syncverify.runner.verify import RunSummary
from syncverify.sandbox.synclogs import month_bounds
from syncverify.store import Store


# ---- months ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["2026-1", "2026-13", "2026-00", "26-10", "2026-10\n", " 2026-10", "2026/10",
                                 "２０２６-10", "0999-10", "", None, 202610, "2026-10-01"])
def test_only_yyyy_mm_with_a_real_month(bad: object) -> None:
    with pytest.raises(SyncverifyError, match="must look like 2026-10") as err:
        parse_month(bad)
    assert repr(bad) in str(err.value)


def test_good_months() -> None:
    assert parse_month("2026-01") == (2026, 1)
    assert check_month("2026-12") == "2026-12"
    assert month_window("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))


@pytest.mark.parametrize("parse", [month_bounds, month_window,
                                   lambda m: jobs.options_from({"month": m}),
                                   lambda m: jobs.monthly_params({"month": m}, None)])
def test_every_month_path_is_strict(parse) -> None:
    with pytest.raises(SyncverifyError, match="'2026-1'"):
        parse("2026-1")


def test_synclog_analysis_refuses_a_loose_month(tmp_path: Path) -> None:
    from syncverify.synclog.analysis import analyse

    (tmp_path / "dsg-zz11.log").write_text("x\n")
    with pytest.raises(SyncverifyError, match="'2026-1'"):
        analyse(tmp_path, "2026-1")


# ---- reads create nothing ---------------------------------------------------------------------------
def test_read_only_store_on_a_missing_file_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "results.sqlite"
    with pytest.raises(UnreachableError) as err:
        Store(f"sqlite:///{path}", create=False)
    assert str(path) in str(err.value)
    assert not path.parent.exists()
    Store(f"sqlite:///{path}")                       # runs create it
    assert path.exists()
    Store(f"sqlite:///{path}", create=False)         # and then reads open it


def test_sqlite_dialect_says_when_a_connect_would_create_the_file(tmp_path: Path) -> None:
    d = SQLiteDialect()
    missing = tmp_path / "nope.sqlite"
    assert "does not exist" in (d.missing_database(sa.engine.make_url(f"sqlite:///{missing}")) or "")
    assert d.missing_database(sa.engine.make_url("sqlite://")) is None
    assert d.missing_database(sa.engine.make_url("sqlite:///:memory:")) is None
    with pytest.raises(UnreachableError, match=r"nope\.sqlite"):
        require_existing(f"sqlite:///{missing}")
    assert not missing.exists()
    missing.touch()
    assert require_existing(f"sqlite:///{missing}")


# ---- corrupt rows -------------------------------------------------------------------------------------
def _result(link: str, missing: int = 0) -> CheckResult:
    r = CheckResult(kind=CheckKind.DIFF, link_id=link, table="fp_fpxx", source_node="hq.query_db",
                    target_node="hq.ledger_db", window_start=datetime(2026, 10, 1), window_end=datetime(2026, 11, 1),
                    source_rows=100, target_rows=100 - missing, missing_count=missing,
                    missing_keys=[("", f"{i:020d}") for i in range(missing)])
    return r.finish()


def _corrupt(store: Store, check_id: str, raw: str) -> int:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sv_check_results SET payload = :p WHERE check_id = :c"), {"p": raw, "c": check_id})
        return int(conn.execute(sa.text("SELECT id FROM sv_check_results WHERE check_id = :c"),
                                {"c": check_id}).scalar_one())


def test_corrupt_rows_are_named_and_skipped(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run = store.start_run("monthly", month="2026-10")
    for link in ("zz11", "ZS01", "SS22", "ZZ25"):
        store.record(run, _result(link, missing=2 if link == "zz11" else 0))
    bad_json = _corrupt(store, "diff/ZS01/fp_fpxx", "{not json")
    good = _result("SS22").to_dict()
    bad_enum = _corrupt(store, "diff/SS22/fp_fpxx", json.dumps({**good, "outcome": "maybe"}, default=str))
    bad_fields = _corrupt(store, "diff/ZZ25/fp_fpxx", '{"kind": "diff"}')
    warnings: list[str] = []
    results = store.results(run, warnings=warnings)
    assert [r.check_id for r in results] == ["diff/zz11/fp_fpxx"]
    assert results[0].missing_count == 2
    assert len(warnings) == 3
    for row_id, check, why in ((bad_json, "ZS01", "not JSON"), (bad_enum, "SS22", "maybe"),
                               (bad_fields, "ZZ25", "lacks the field")):
        w = next(w for w in warnings if f"diff/{check}/fp_fpxx" in w)
        assert f"table sv_check_results, id {row_id}," in w and why in w
    assert len(store.results(run)) == 1               # without a list: skipped and logged


def test_monthly_report_shows_the_warning_instead_of_failing(tmp_path: Path) -> None:
    from syncverify.report.render import write_reports

    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run = store.start_run("monthly", month="2026-10")
    store.record(run, _result("zz11", missing=1))
    store.record(run, _result("ZS01"))
    store.finish_run(run)
    row_id = _corrupt(store, "diff/ZS01/fp_fpxx", "{truncated")
    written = write_reports(store, "2026-10", tmp_path / "reports", load_catalog(ROOT / "checks"), lang="en")
    html = next(p for p in written if p.name == "consistency.html").read_text(encoding="utf-8")
    md = next(p for p in written if p.name == "consistency.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "Data warnings" in text and f"id {row_id}" in text and "diff/ZS01/fp_fpxx" in text


# ---- a resumed run reports the whole run --------------------------------------------------------------------
def test_resumed_run_summary_counts_earlier_results() -> None:
    earlier_anomaly = _result("zz11", missing=3)
    earlier_ok = _result("ZS01")
    redone = _result("SS22")
    summary = RunSummary(run_id="r", status="completed", results=[redone], skipped=["zz11", "ZS01"],
                         earlier=[earlier_anomaly, earlier_ok])
    out = summary.to_dict()
    assert out["checks"] == 3 and out["anomalies"] == 1 and out["consistent"] == 2
    assert out["redone"] == 1 and out["skipped"] == 2
    assert [r.check_id for r in summary.anomalies] == ["diff/zz11/fp_fpxx"]
    # a check redone now replaces its earlier result
    fixed = _result("zz11")
    summary.results.append(fixed)
    assert summary.to_dict()["anomalies"] == 0 and summary.to_dict()["checks"] == 3
    assert Outcome.INCONSISTENT is earlier_anomaly.outcome
