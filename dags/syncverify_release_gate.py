"""syncverify_release_gate — a release's schema against every link it feeds or is fed by.

Triggered by hand before a production system is upgraded (tender: link upgrades checked for
compatibility, interface and data-format checks before every release): give the candidate
schema — a DDL file of the new version, or a pre-production database URL — and, when the DDL
does not say it, the node it replaces. The task fails, listing the breaking changes, when the
candidate would narrow or drop a column a link carries (docs/schema.md); it succeeds with the
report when the release is compatible.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from syncverify.dagkit.deployment import DEFAULT_ARGS, TZ, project_dir
from syncverify.schema.gate import SchemaGateError, gate_job


@dag(
    dag_id="syncverify_release_gate",
    description="Pre-release schema gate: a candidate schema against the links of its node",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["syncverify", "schema", "release"],
    params={
        "candidate": Param("", type="string", minLength=1, title="Candidate schema",
                           description="A DDL file (CREATE TABLE statements) or a pre-production database URL"),
        "node": Param(None, type=["null", "string"], title="Node",
                      description="The catalog node the candidate replaces (optional when the DDL names it)"),
        "profile": Param(None, type=["null", "string"], title="Connection profile"),
    },
    doc_md=__doc__,
)
def syncverify_release_gate():
    @task
    def gate() -> dict:
        params = dict(get_current_context()["params"])
        try:
            return gate_job({**params, "catalog_path": str(project_dir() / "checks")})
        except SchemaGateError as exc:
            if exc.final:     # the candidate itself breaks a link: no retry can change that
                raise AirflowFailException(str(exc)) from exc
            raise

    gate()


syncverify_release_gate()
