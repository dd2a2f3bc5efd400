"""syncverify_sla_watch — the repair-ticket clock (8 h to start repair, 24 h to correct).

Every 15 minutes: escalate tickets whose deadlines come near or pass, re-verify tickets marked
repaired by re-running their check on their keys, close those that now match, reopen the rest,
and deliver pending ticket events to the sinks.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from syncverify.airflow_support import DEFAULT_ARGS, TZ
from syncverify.runner import jobs


@dag(
    dag_id="syncverify_sla_watch",
    description="Ticket SLA watch: escalations, re-verification, deliveries",
    schedule=timedelta(minutes=15),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=["syncverify", "tickets", "sla"],
    params={"profile": Param(None, type=["null", "string"], title="Connection profile")},
    doc_md=__doc__,
)
def syncverify_sla_watch():
    @task
    def watch() -> dict:
        return jobs.sla_watch(dict(get_current_context()["params"]))

    watch()


syncverify_sla_watch()
