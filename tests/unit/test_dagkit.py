"""What the Airflow tasks make of the job functions' outcomes — skipped outside the selection,
failed when a check could not run, a gate that fails a month with anomalies and names them — and
what operators get around them: one log line per check, alerts in the ticket sinks, the link to
the report, the sync-log folder from the connection profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from helpers import ROOT
from syncverify.connect.resolve import profile_synclog_dir
from syncverify.dagkit.checks import check_line, check_unit, selected
from syncverify.dagkit.deployment import default_args
from syncverify.dagkit.links import report_link
from syncverify.dagkit.notify import SinkNotifier
from syncverify.dagkit.sla import breaches, notify_breaches
from syncverify.dagkit.steps import verdict
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.runner import jobs
from syncverify.store import Store
from syncverify.tickets.sinks import FileDropSink

CATALOG = str(ROOT / "checks")


def _params(**extra) -> dict:
    return {"month": "2026-10", "catalog_path": CATALOG, **extra}


def test_one_log_line_per_check_says_link_table_depth_outcome_counts_seconds() -> None:
    t0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    found = CheckResult(CheckKind.DIFF, "zz11", "fp_fpxx", outcome=Outcome.INCONSISTENT, source_rows=100,
                        target_rows=98, missing_count=2, changed_count=1, started_at=t0,
                        finished_at=t0 + timedelta(seconds=31.5))
    line = check_line(found, "diff")
    for part in ("zz11/fp_fpxx", "depth=diff", "inconsistent", "source=100 target=98", "missing=2", "changed=1", "31.5s"):
        assert part in line, (part, line)
    assert "\n" not in line
    failed = CheckResult.not_run(CheckKind.DIFF, "zz11", "fp_fpxx", "cannot connect to hq.query_db")
    assert "not_run" in check_line(failed, "diff") and "cannot connect" in check_line(failed, "diff")


def test_a_unit_outside_the_selection_is_skipped_before_touching_anything() -> None:
    assert selected(_params(links=["zz11"]), "zz11", "fp_fpxx")
    assert not selected(_params(links=["zz11"]), "ZS01", "yp_ypxx")
    with pytest.raises(AirflowSkipException, match="not in this run's selection"):
        check_unit(_params(links=["zz11"], run_id="no-such-run"), "ZS01", "yp_ypxx")


def _run_with(store: Store, *results: CheckResult) -> dict:
    run_id = store.start_run("monthly", month="2026-10")
    for r in results:
        store.record(run_id, r)
    return _params(run_id=run_id, links=["zz11"])


def test_the_gate_passes_a_consistent_selection(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    params = _run_with(store, CheckResult(CheckKind.DIFF, "zz11", "fp_fpxx", source_rows=5, target_rows=5))
    out = verdict(params, tickets=[], task_states={"F1.zz11_0": "success", "reports": "success"},
                  reports=["/r/2026-10/consistency.html"], store=store)
    assert out["anomalies"] == [] and out["scope"] == "2026-10 (links zz11)"


def test_the_gate_fails_with_the_anomalies_the_checks_not_run_and_the_tickets(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    params = _run_with(store,
                       CheckResult(CheckKind.DIFF, "zz11", "fp_fpxx", outcome=Outcome.INCONSISTENT, missing_count=3),
                       CheckResult.not_run(CheckKind.QUALITY, None, "fp_fpxx", "cannot connect", check_id="quality/hq/fp"))
    with pytest.raises(AirflowFailException) as caught:
        verdict(params, tickets=[7], task_states={"quality": "failed"}, reports=["/r/consistency.html"], store=store)
    text = str(caught.value)
    for part in ("not consistent", "diff/zz11/fp_fpxx: missing 3", "not run quality/hq/fp: cannot connect",
                 "failed tasks: quality", "#7", "/r/consistency.html"):
        assert part in text, (part, text)


def test_a_failed_task_fails_the_gate_even_when_the_results_are_clean(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    params = _run_with(store, CheckResult(CheckKind.DIFF, "zz11", "fp_fpxx"))
    with pytest.raises(AirflowFailException, match="failed tasks: reports"):
        verdict(params, tickets=None, task_states={"reports": "failed"}, reports=None, store=store)


def test_the_notifier_posts_one_masked_document_per_task_try(tmp_path) -> None:
    drop = tmp_path / "drop"
    notifier = SinkNotifier(event="monthly_not_consistent", sinks={"file": FileDropSink(drop)})
    ti = type("TI", (), {"dag_id": "syncverify_monthly", "run_id": "manual__1", "task_id": "gate", "try_number": 1})()
    context = {"ti": ti, "exception": RuntimeError("2026-10 not consistent; store postgresql://sv:s3cret@db/x")}
    notifier(context)
    notifier(context)                                             # the same try again: the same file
    files = list(drop.glob("*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text(encoding="utf-8"))
    assert doc["dag_id"] == "syncverify_monthly" and doc["task_id"] == "gate" and doc["event"] == "monthly_not_consistent"
    assert "not consistent" in doc["message"] and "s3cret" not in doc["message"]


def test_sla_breaches_are_posted_once_per_ticket_and_kind(tmp_path) -> None:
    report = {"escalations": [{"ticket_id": 3, "event": "repair_start_near", "deadline": "d"},
                              {"ticket_id": 3, "event": "repair_start_overdue", "deadline": "d", "status": "open"},
                              {"ticket_id": 4, "event": "correction_overdue", "deadline": "d", "status": "open"}]}
    assert [b["ticket_id"] for b in breaches(report)] == [3, 4]
    drop = tmp_path / "drop"
    sink = {"file": FileDropSink(drop)}
    sent = []
    for b in breaches(report):
        n = notify_breaches({"escalations": [b]}, {"dag_id": "syncverify_sla_watch", "run_id": "r"},
                            SinkNotifier(event=f"sla_breach-{b['event']}-{b['ticket_id']}", sinks=sink,
                                         message=f"ticket #{b['ticket_id']}"))
        sent.append(n)
    assert sent == [1, 1] and len(list(drop.glob("*.json"))) == 2


def test_the_report_link_is_the_consistency_report() -> None:
    files = ["/r/2026-10/consistency.md", "/r/2026-10/consistency.html", "/r/2026-10/synclog.html"]
    assert report_link(files) == "file:///r/2026-10/consistency.html"
    assert report_link([]) == ""


def test_the_sync_log_folder_comes_from_the_profile(tmp_path, monkeypatch) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text('profile: p\nsynclog_dir: "${SV_TEST_LOGS:-/nowhere}/dsg"\nnodes: {}\n', encoding="utf-8")
    monkeypatch.setenv("SV_TEST_LOGS", str(tmp_path))
    assert profile_synclog_dir(str(profile)) == (tmp_path / "dsg").resolve()
    assert jobs.sync_log_folder({"profile": str(profile)}) == (str((tmp_path / "dsg").resolve()),
                                                                "the profile's synclog_dir")
    assert jobs.sync_log_folder({"profile": str(profile), "logs_dir": "/x"}) == ("/x", "logs_dir")
    assert profile_synclog_dir(str(tmp_path / "missing.yaml")) is None


def test_a_month_without_logs_is_a_warning_in_the_store_and_the_report(tmp_path, caplog) -> None:
    from syncverify.catalog import load_catalog
    from syncverify.report.data import build_report_data

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    run_id = store.start_run("monthly", month="2026-10")
    with caplog.at_level("WARNING", logger="syncverify"):
        out = jobs.analyse_sync_logs(_params(run_id=run_id, logs_dir=str(tmp_path / "none")), store=store)
    assert out["analysed"] is False and "no sync-log folder" in out["warning"]
    assert any("not analysed" in r.getMessage() for r in caplog.records)
    assert jobs.stored_synclog_analysis(store, "2026-10") is None          # the tickets see no analysis
    data = build_report_data(store, "2026-10", load_catalog(CATALOG))
    assert not data.synclog.available and "no sync-log folder" in (data.synclog.missing or "")
    assert any("no sync-log analysis for 2026-10" in w for w in data.consistency.warnings)


def test_retries_from_the_environment() -> None:
    assert default_args({})["retries"] == 2 and default_args({})["retry_delay"] == timedelta(minutes=2)
    quick = default_args({"SYNCVERIFY_TASK_RETRIES": "1", "SYNCVERIFY_RETRY_DELAY_S": "3"})
    assert quick["retries"] == 1 and quick["retry_delay"] == timedelta(seconds=3)
    assert quick["retry_exponential_backoff"] == 0


def test_the_checks_graph_groups_hops_by_flow_and_orders_them_without_cycles() -> None:
    from syncverify.catalog import load_catalog
    from syncverify.dagkit.graph import hop_edges, hop_groups
    from syncverify.runner.pipeline import units

    catalog = load_catalog(CATALOG)
    all_units = units(catalog, jobs.options_from({"catalog_path": CATALOG}))
    groups = hop_groups(all_units)
    hops = [h for g in groups.values() for h in g]
    assert len(hops) == len(set(hops)) == len({u.link for u in all_units})        # each hop once
    assert sum(len(t) for g in groups.values() for t in g.values()) == len(all_units)
    assert list(groups["F1"]) == [h for h in catalog.flows["F1"].hops if h in groups["F1"]]
    edges = hop_edges(catalog, hops)
    assert ("GXJF-LEDGER", "GXJF-ZJJF") in edges                                   # F1's order
    assert ("DD-QF", "GXJF-LEDGER") not in edges                                   # F2's reverse order: a cycle
    after: dict[str, set[str]] = {}
    for a, b in edges:
        after.setdefault(a, set()).add(b)

    def reaches(a: str, b: str, seen: frozenset = frozenset()) -> bool:
        return any(n == b or (n not in seen and reaches(n, b, seen | {n})) for n in after.get(a, ()))

    assert not any(reaches(h, h) for h in hops)
