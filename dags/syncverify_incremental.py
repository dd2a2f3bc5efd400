"""syncverify_incremental — hourly checks of the recent window (增量核对).

Every hour: counts and checksums of the last hours of every windowed table up to each link's
grace cut-off, exact differences where they disagree, confirmation after a delay, tickets — so an
anomaly becomes a ticket within about two hours of reaching the copies, well inside the 8 h clock.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from syncverify.dagkit.deployment import DEFAULT_ARGS, TZ
from syncverify.runner import jobs


@dag(
    dag_id="syncverify_incremental",
    description="Hourly counts, checksums and confirmed differences over the recent window",
    schedule=CronTriggerTimetable("20 * * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["syncverify", "incremental", "consistency"],
    params={
        "hours": Param(3, type="integer", minimum=1, maximum=72, title="Window (hours)",
                       description="How far back from the grace cut-off to look"),
        "links": Param(None, type=["null", "array"], items={"type": "string"}, title="Links",
                       description="Only these links (empty = all)"),
        "profile": Param(None, type=["null", "string"], title="Connection profile"),
        "now": Param(None, type=["null", "string"], title="Pretend now",
                     description="ISO time to use as now (re-checking a past hour); empty = the run's time"),
    },
    doc_md=__doc__,
)
def syncverify_incremental():
    @task
    def verify_recent() -> dict:
        context = get_current_context()
        return jobs.incremental(dict(context["params"]), context.get("logical_date"))

    @task
    def tickets(summary: dict) -> dict:
        return jobs.open_tickets(summary["params"])

    tickets(verify_recent())


syncverify_incremental()
