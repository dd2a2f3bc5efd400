"""Every DAG imports cleanly and carries tags, retries and an owner; the monthly DAG's graph
follows the flows' hops; the trigger form offers what operators re-run by hand."""

from __future__ import annotations

import itertools

import pytest

from helpers import ROOT

DAG_IDS = {"syncverify_monthly", "syncverify_incremental", "syncverify_daily_patrol", "syncverify_sla_watch",
           "syncverify_release_gate"}

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
    """A hop is one mapped task, in the group of its first flow; every flow's hops still run
    in the flow's order, across groups for a hop that several flows share."""
    from syncverify.catalog import load_catalog

    dag = dagbag.get_dag("syncverify_monthly")
    catalog = load_catalog(ROOT / "checks")
    task_of = {t.task_id.split(".", 1)[1]: t.task_id for t in dag.tasks if "." in t.task_id}
    assert len(task_of) == len({t for t in dag.tasks if "." in t.task_id})   # each hop checked once
    for flow in catalog.flows.values():
        ids = [task_of[hop.replace("-", "_")] for hop in flow.hops]
        for before, after in itertools.pairwise(ids):
            # a flow that passes two shared hops the other way round keeps the first order (no cycle)
            assert (before in dag.get_task(after).upstream_task_ids
                    or after in dag.get_task(before).get_flat_relative_ids(upstream=True)), (before, after)
    zz11 = dag.get_task("F1.zz11")
    assert zz11.pool == "sv_hq_query_db" and zz11.trigger_rule == "all_done"
    assert dag.timetable.expression == "0 2 1 * *" and str(dag.timetable.timezone) == "Asia/Shanghai"


def test_monthly_tasks_are_the_pipeline_steps(dagbag) -> None:
    """One task per step of runner.pipeline.STEPS, waiting for what the step waits for, the
    steps after the checks under all_done (tickets and reports after a failed check), the gate
    last; the reports task links to its report."""
    from syncverify.runner.pipeline import STEPS

    dag = dagbag.get_dag("syncverify_monthly")
    checks = {t.task_id for t in dag.tasks if "." in t.task_id}
    for step in STEPS:
        if step.per_unit:
            continue
        task = dag.get_task(step.name)
        for before in step.after:
            wanted = checks if before == "checks" else {before}
            assert wanted <= task.upstream_task_ids | ({"start"} if before == "start" else set()), (step.name, before)
        if step.name in {"finish", "sync_logs", "tickets", "reports"}:
            assert task.trigger_rule == "all_done", step.name
    gate = dag.get_task("gate")
    assert gate.trigger_rule == "all_done" and "reports" in gate.upstream_task_ids and not gate.downstream_task_ids
    assert gate.on_failure_callback
    assert [link.name for link in dag.get_task("reports").operator_extra_links] == ["Monthly report"]


def test_unpausing_schedules_nothing_in_the_past(dagbag) -> None:
    """catchup=False alone still runs the latest interval on unpause: no start date and
    run_immediately=False make the first run the next 1st."""
    import pendulum
    from airflow.timetables.base import TimeRestriction

    from syncverify.dagkit.deployment import TZ

    dag = dagbag.get_dag("syncverify_monthly")
    assert dag.start_date is None and dag.catchup is False
    from airflow.serialization.serialized_objects import DagSerialization

    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable   # what the scheduler reads
    info = timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=TimeRestriction(earliest=None, latest=None, catchup=False))
    assert info is not None and info.run_after > pendulum.now(TZ)


def test_monthly_trigger_form(dagbag) -> None:
    params = dagbag.get_dag("syncverify_monthly").params
    for name in ("month", "flows", "links", "tables", "depth", "open_tickets"):
        assert name in params
    assert params.get_param("depth").schema["enum"] == ["count", "totals", "checksum", "diff"]
    # empty means all: optional in the form (a required field would demand a value)
    for name in ("flows", "links", "tables", "month", "profile", "logs_dir"):
        param = params.get_param(name)
        assert param.value is None and "null" in param.schema["type"], name
