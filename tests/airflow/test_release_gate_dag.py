"""The release gate DAG with `dag.test()`: a candidate DDL that narrows a column a link carries
fails the run; the same schema as today passes it (the sandbox world provides the live sides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DDL = """CREATE TABLE dm_csb (
  dmlb VARCHAR(20) NOT NULL, dm VARCHAR(20) NOT NULL, mc VARCHAR({mc}) NOT NULL,
  yxbz VARCHAR(1) NOT NULL, gxsj TIMESTAMP NOT NULL, PRIMARY KEY (dmlb, dm));
"""


@pytest.fixture(scope="module")
def profile(airflow_db, tmp_path_factory) -> str:
    from syncverify.sandbox import build_world

    world = build_world(tmp_path_factory.mktemp("gate") / "world", scale=0.02, seed=3, logs=False,
                        catalog_path=ROOT / "checks")
    return str(world.connections)


@pytest.mark.parametrize("mc,passes", [(100, False), (200, True)])
def test_release_gate_fails_on_a_breaking_candidate(profile: str, tmp_path: Path, mc: int, passes: bool) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    candidate = tmp_path / "candidate.sql"
    candidate.write_text(DDL.format(mc=mc), encoding="utf-8")
    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag("syncverify_release_gate")
    run = dag.test(run_conf={"candidate": str(candidate), "node": "hq.code_db", "profile": profile})
    [ti] = run.get_task_instances()
    if passes:
        assert run.state == DagRunState.SUCCESS and ti.state == TaskInstanceState.SUCCESS
    else:
        assert run.state == DagRunState.FAILED and ti.state == TaskInstanceState.FAILED
