"""Each DAG run with `dag.test()` against a small sandbox world, asserting what lands in the store.

The monthly run uses the trigger form the way an operator re-runs one link of one month by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def world_env(airflow_db, tmp_path_factory):
    """A small sandbox world, a results store and a reports folder, wired through the environment
    the DAG tasks read (the embedded default's variables)."""
    from syncverify.sandbox import build_world

    home = tmp_path_factory.mktemp("svhome")
    world = build_world(home / "world", scale=0.03, seed=7, month="2026-10", catalog_path=ROOT / "checks")
    saved = {k: os.environ.get(k) for k in ("SYNCVERIFY_HOME", "SYNCVERIFY_STORE_URL", "SYNCVERIFY_REPORTS")}
    os.environ.update({"SYNCVERIFY_HOME": str(home), "SYNCVERIFY_STORE_URL": f"sqlite:///{home / 'results.sqlite'}",
                       "SYNCVERIFY_REPORTS": str(home / "reports")})
    yield {"world": world, "home": home, "profile": str(world.connections), "logs": str(world.logs_dir)}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


def _store():
    from syncverify.store import Store

    return Store()


def test_monthly_manual_run_one_link(world_env) -> None:
    from airflow.utils.state import DagRunState

    dag = _dag("syncverify_monthly")
    run = dag.test(run_conf={"month": "2026-10", "links": ["zz11"], "depth": "diff",
                             "profile": world_env["profile"]})     # sync logs: the profile's synclog_dir
    # zz11 carries an injected fault: the checks record it and succeed, the gate fails the run
    assert run.state == DagRunState.FAILED
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert states[("F1.zz11", 0)] == "success"
    for step in ("start", "quality", "finish", "sync_logs", "tickets", "reports"):
        assert states[(step, -1)] == "success", step
    assert states[("gate", -1)] == "failed"
    others = {s for (task, _), s in states.items() if "." in task and task != "F1.zz11"}
    assert others == {"skipped"}                                     # not selected: skipped, not green
    store = _store()
    runs = store.runs(month="2026-10")
    assert runs and runs[-1].status in {"completed", "partial"} and runs[-1].params["links"] == ["zz11"]
    results = store.results(runs[-1].id)
    links = {r.link_id for r in results if r.kind.value in {"diff", "totals"}}
    assert links == {"zz11"}
    diff = next(r for r in results if r.kind.value == "diff")
    assert diff.source_rows and diff.source_rows == diff.target_rows + diff.missing_count - diff.extra_count
    # the manifest's zz11 fault (dates altered in the ledger copy) is found, as changed keys
    faults = [f for f in world_env["world"].manifest["faults"] if f["link"] == "zz11"]
    for fault in faults:
        assert {tuple(k) if isinstance(k, list) else k for k in fault["keys"]} <= set(diff.changed_keys)
    assert any(r.kind.value == "quality" for r in results)          # the GX task ran on zz11's nodes
    assert (Path(os.environ["SYNCVERIFY_REPORTS"]) / "2026-10" / "consistency.html").exists()
    analysis = store.synclog_analysis("2026-10")
    assert analysis and analysis.get("links")                        # found through the profile
    # the gate's failure went to the ticket sinks (the file drop) through the notifier
    drop = Path(os.environ["SYNCVERIFY_HOME"]) / "ticket-drop"
    alerts = [p for p in drop.glob("*.json") if p.name.startswith("airflow-")]
    assert alerts and "is not consistent" in alerts[0].read_text(encoding="utf-8")
    with store.engine.connect() as conn:
        tickets = conn.execute(sa.text("SELECT link_id, kind FROM sv_tickets")).all()
    assert ("zz11", "consistency") in {(t[0], t[1]) for t in tickets}


def test_incremental_run(world_env) -> None:
    from airflow.utils.state import DagRunState

    dag = _dag("syncverify_incremental")
    run = dag.test(run_conf={"hours": 6, "links": ["SS20", "zz11"], "now": "2026-10-31T23:00:00+08:00",
                             "profile": world_env["profile"]})
    assert run.state == DagRunState.SUCCESS
    runs = _store().runs(kind="incremental")
    assert runs and runs[-1].finished_at is not None
    results = _store().results(runs[-1].id)
    assert {r.link_id for r in results} >= {"zz11"}
    assert all(r.window_end is None or r.window_end.hour <= 23 for r in results)


def test_daily_patrol(world_env) -> None:
    from airflow.utils.state import DagRunState

    dag = _dag("syncverify_daily_patrol")
    run = dag.test(run_conf={"day": "2026-10-15", "profile": world_env["profile"], "logs_dir": world_env["logs"]})
    assert run.state == DagRunState.SUCCESS
    runs = _store().runs(kind="patrol")
    assert runs
    kinds = {r.kind.value for r in _store().results(runs[-1].id)}
    assert {"count", "kafka_backlog"} <= kinds
    # The patrol is kept as a record: its page in the deployment's reports folder.
    import json

    page = world_env["home"] / "reports" / "patrol" / "2026-10-15.html"
    html = page.read_text(encoding="utf-8")
    for section in ("backlog", "volume", "logs", "reasons"):
        assert f'id="{section}"' in html, section
    record = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["day"] == "2026-10-15" and record["backlog"] and record["volume"]


def test_sla_watch(world_env) -> None:
    from airflow.utils.state import DagRunState

    dag = _dag("syncverify_sla_watch")
    run = dag.test(run_conf={"profile": world_env["profile"]})
    assert run.state == DagRunState.SUCCESS
