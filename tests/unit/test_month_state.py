"""A month's state is the latest result of every check across the month's runs: a partial
re-run updates its own checks and keeps the others; hourly and daily runs never count; every
result says which run produced it; the sync-log section is the month's latest analysis."""

from __future__ import annotations

from pathlib import Path

from helpers import ROOT
from syncverify.catalog import load_catalog
from syncverify.report import build_report_data
from syncverify.results import CheckKind, CheckResult
from syncverify.runner import jobs
from syncverify.store import Store

MONTH = "2026-10"


def _diff(link: str, table: str, missing: int = 0) -> CheckResult:
    r = CheckResult(kind=CheckKind.DIFF, link_id=link, table=table, source_node="a", target_node="b",
                    source_rows=100, target_rows=100 - missing, check_id=f"diff/{link}/{table}")
    r.missing_count = missing
    return r.finish()


def _run(store: Store, kind: str, results: list[CheckResult], *, finish: bool = True) -> str:
    run_id = store.start_run(kind, month=MONTH)
    for r in results:
        store.record(run_id, r)
    if finish:
        store.finish_run(run_id)
    return run_id


def test_a_partial_rerun_updates_its_checks_and_keeps_the_others(store: Store) -> None:
    full = _run(store, "monthly", [_diff("zz11", "fp_fpxx", 3), _diff("ZS01", "yp_ypxx"), _diff("SS22", "zsk_zsxx", 2)])
    again = _run(store, "adhoc", [_diff("zz11", "fp_fpxx")])
    _run(store, "incremental", [_diff("ZS01", "yp_ypxx", 99)])        # a few hours: never the month
    _run(store, "adhoc", [_diff("SS22", "zsk_zsxx", 50)], finish=False)  # still running: not yet

    state = {m.result.check_id: m for m in store.month_results(MONTH)}
    assert list(state) == ["diff/zz11/fp_fpxx", "diff/ZS01/yp_ypxx", "diff/SS22/zsk_zsxx"]   # stable order
    assert (state["diff/zz11/fp_fpxx"].run_id, state["diff/zz11/fp_fpxx"].result.missing_count) == (again, 0)
    assert (state["diff/ZS01/yp_ypxx"].run_id, state["diff/ZS01/yp_ypxx"].result.missing_count) == (full, 0)
    assert (state["diff/SS22/zsk_zsxx"].run_id, state["diff/SS22/zsk_zsxx"].result.missing_count) == (full, 2)
    assert all(m.run_finished_at is not None and m.run_finished_at.utcoffset() is not None for m in state.values())


def test_a_running_run_is_seen_by_its_own_steps_only(store: Store) -> None:
    _run(store, "monthly", [_diff("zz11", "fp_fpxx", 3)])
    running = _run(store, "adhoc", [_diff("zz11", "fp_fpxx")], finish=False)
    assert store.month_results(MONTH)[0].result.missing_count == 3
    [mine] = store.month_results(MONTH, with_run=running)
    assert (mine.run_id, mine.result.missing_count, mine.run_finished_at) == (running, 0, None)


def test_the_report_is_the_months_state_with_the_run_of_each_item(store: Store) -> None:
    catalog = load_catalog(ROOT / "checks")
    full = _run(store, "monthly", [_diff("zz11", "fp_fpxx", 3), _diff("ZS01", "yp_ypxx")])
    store.save_synclog_analysis(MONTH, {"month": MONTH, "links": [{"link": "zz11"}], "findings": []}, run_id=full)
    before = build_report_data(store, MONTH, catalog).consistency
    again = _run(store, "monthly", [_diff("zz11", "fp_fpxx")])
    data = build_report_data(store, MONTH, catalog)
    after = data.consistency

    items = {i.link_id: i for i in after.items}
    assert set(items) == {"zz11", "ZS01"} and after.overall.items == 2 and after.overall.rate == 1.0
    assert before.overall.rate == 0.5
    assert items["zz11"].run_id == again and items["ZS01"].run_id == full
    assert items["zz11"].run_at and items["zz11"].run_at.endswith("+08:00")
    assert [r["id"] for r in after.runs] == [full, again] and after.run_id == again
    old = {i.link_id: i for i in before.items}["ZS01"]
    assert items["ZS01"] == old                                # untouched by the re-run
    assert data.synclog.available                              # the re-run had no logs: kept


def test_a_log_folder_without_the_months_logs_keeps_the_stored_analysis(store: Store, tmp_path: Path) -> None:
    run_id = _run(store, "monthly", [_diff("zz11", "fp_fpxx", 3)])
    store.save_synclog_analysis(MONTH, {"month": MONTH, "links": [{"link": "zz11"}], "findings": []}, run_id=run_id)
    empty = tmp_path / "logs"                                  # last month's logs only
    empty.mkdir()
    (empty / "dsg-zz11.log").write_text("2026-09-09 09:31:02.117 [zz11] INFO APPLY table=FP_FPXX ins=120 upd=3 "
                                         "del=0 batch=123 lag_ms=850 backlog=42\n", encoding="utf-8")
    out = jobs.analyse_sync_logs({"month": MONTH, "run_id": run_id, "logs_dir": str(empty),
                                  "catalog_path": str(ROOT / "checks")}, store=store)
    assert out["analysed"] is False
    assert store.synclog_analysis(MONTH) == {"month": MONTH, "links": [{"link": "zz11"}], "findings": []}
