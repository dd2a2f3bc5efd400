"""syncverify_sla_watch — the repair-ticket clock (8 h to start repair, 24 h to correct).

Every 15 minutes: escalate tickets whose deadlines come near or pass, re-verify tickets marked
repaired by re-running their check on their keys, close those that now match, reopen the rest,
and deliver pending ticket events to the sinks. A passed deadline (an SLA breach) and a failed
watch are also posted as alerts to the ticket sinks (`syncverify.dagkit.notify.SinkNotifier`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from syncverify.dagkit.deployment import DEFAULT_ARGS, TZ
from syncverify.dagkit.notify import SinkNotifier
from syncverify.dagkit.sla import notify_breaches
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
    on_failure_callback=SinkNotifier(event="sla_watch_failed"),
    doc_md=__doc__,
)
def syncverify_sla_watch():
    @task
    def watch() -> dict:
        context = get_current_context()
        report = jobs.sla_watch(dict(context["params"]))
        report["breaches_notified"] = notify_breaches(report, context)
        return report

    watch()


syncverify_sla_watch()
