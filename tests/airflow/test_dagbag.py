"""Every DAG imports cleanly and carries tags, retries and an owner; the monthly DAG's graph
follows the flows' hops; the trigger form offers what operators re-run by hand."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = {"syncverify_monthly", "syncverify_incremental", "syncverify_daily_patrol", "syncverify_sla_watch"}

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


def test_every_dag_has_tags_retries_owner(dagbag) -> None:
    for dag_id in DAG_IDS:
        dag = dagbag.get_dag(dag_id)
        assert dag.tags and "syncverify" in dag.tags, dag_id
        for t in dag.tasks:
            assert t.owner == "syncverify", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)


def test_monthly_graph_follows_flow_hops(dagbag) -> None:
    from syncverify.catalog import load_catalog

    dag = dagbag.get_dag("syncverify_monthly")
    catalog = load_catalog(ROOT / "checks")
    for flow in catalog.flows.values():
        ids = [f"{flow.id}.{hop.replace('-', '_')}" for hop in flow.hops]
        for before, after in itertools.pairwise(ids):
            assert before in dag.get_task(after).upstream_task_ids, (before, after)
    assert dag.get_task("F1.zz11").pool == "sv_hq_query_db"
    assert dag.timetable.expression == "0 2 1 * *" and str(dag.timetable.timezone) == "Asia/Shanghai"


def test_monthly_trigger_form(dagbag) -> None:
    params = dagbag.get_dag("syncverify_monthly").params
    for name in ("month", "flows", "links", "tables", "depth", "open_tickets"):
        assert name in params
    assert params.get_param("depth").schema["enum"] == ["count", "totals", "checksum", "diff"]
