"""Each DAG run with `dag.test()` against a small sandbox world, asserting what lands in the store.

The monthly run uses the trigger form the way an operator re-runs one link of one month by hand.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import ROOT

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
    assert runs and runs[-1].params["links"] == ["zz11"]
    assert runs[-1].status == "completed"                            # every check of the run ran
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
    # the last 6 hours before 23:00 Beijing time, each link cut off at now minus its grace
    from syncverify.catalog import load_catalog

    links = load_catalog(ROOT / "checks").links
    windowed = [r for r in results if r.window_start is not None]
    assert {r.link_id for r in windowed} >= {"zz11"}
    start, end = datetime(2026, 10, 31, 17), datetime(2026, 10, 31, 23)
    for r in windowed:
        assert (r.window_start, r.window_end) == (start, end - links[r.link_id].grace), r.check_id


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


def _returned(run, task_id: str):
    """What a task of a finished ``dag.test()`` run returned (its ``return_value`` XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        [value] = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id,
                                                     key="return_value").with_only_columns(XComModel.value)).all()
    return XComModel.deserialize_value(type("Row", (), {"value": value})())


def test_sla_watch_reopens_a_false_repair_and_verifies_a_real_one(world_env, tmp_path, monkeypatch) -> None:
    """SS31's ticket (5 taxpayer rows never written to gx.taxpayer_db) marked repaired with nothing
    repaired is reopened by the watch; once its approved repair script has inserted the rows, the
    next watch verifies it on its keys.
    A world and a store of its own: exactly this ticket is in it, and the repair changes no other
    test's world."""
    from airflow.utils.state import DagRunState

    from syncverify.catalog import load_catalog
    from syncverify.connect.resolve import engine_for_node
    from syncverify.runner.options import Depth, RunOptions
    from syncverify.runner.verify import verify
    from syncverify.sandbox import build_world
    from syncverify.store import Store
    from syncverify.tickets import (
        apply_repair_script,
        approve_repair_script,
        generate_repair_script,
        get_ticket,
        list_tickets,
        mark_repaired,
        open_or_update,
    )

    world = build_world(tmp_path / "world", scale=0.03, seed=7, month="2026-10", catalog_path=ROOT / "checks")
    url = f"sqlite:///{tmp_path / 'sla.sqlite'}"
    monkeypatch.setenv("SYNCVERIFY_STORE_URL", url)
    store, profile = Store(url), str(world.connections)
    catalog = load_catalog(ROOT / "checks")
    summary = verify(RunOptions(month="2026-10", kind="adhoc", links=["SS31"], depth=Depth.DIFF, profile=profile,
                                catalog_path=str(ROOT / "checks")), store, catalog=catalog)
    [ticket_id] = open_or_update(store, summary.results, run_id=summary.run_id, catalog=catalog)
    [ticket] = list_tickets(store)
    assert (ticket.id, ticket.link_id, ticket.table_name, ticket.status) == (ticket_id, "SS31", "nsr_jcxx", "open")
    dag = _dag("syncverify_sla_watch")

    mark_repaired(store, ticket_id, actor="test")                   # a claim: the rows are still missing
    run = dag.test(run_conf={"profile": profile})
    assert run.state == DagRunState.SUCCESS
    report = _returned(run, "watch")
    assert (report["verified"], report["reopened"], report["undecided"], report["errors"], report["escalations"],
            report["decided_elsewhere"], report["breaches_notified"]) == ([], [ticket_id], [], [], [], [], 0)
    assert get_ticket(store, ticket_id)[0].status == "reopened"

    source = engine_for_node(ticket.source_node, profile=profile, read_only=True)
    target = engine_for_node(ticket.target_node, profile=profile, read_only=True)
    script = generate_repair_script(store, ticket_id, source_engine=source, target_engine=target, catalog=catalog)
    approve_repair_script(store, ticket_id, by="reviewer", note="test approval", script_id=script.id)
    writer = engine_for_node(ticket.target_node, profile=profile, read_only=False)
    applied = apply_repair_script(store, ticket_id, target_engine=writer, by="operator", script_id=script.id)
    assert get_ticket(store, ticket_id)[0].status == "repaired", applied
    run = dag.test(run_conf={"profile": profile})
    assert run.state == DagRunState.SUCCESS
    report = _returned(run, "watch")
    assert (report["verified"], report["reopened"], report["undecided"], report["errors"]) == ([ticket_id], [], [], [])
    assert get_ticket(store, ticket_id)[0].status == "verified"
