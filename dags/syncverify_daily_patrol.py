"""syncverify_daily_patrol — the daily link patrol (每日链路巡检).

The tender's four daily duties: Kafka backlog per consumer link (judged over its offset
history), yesterday's synced volume per link (counts on both sides), the consumer and DSG log
errors of that day, and why what did not sync did not. Kept as a record (the patrol page under
the reports folder, ``patrol/YYYY-MM-DD.html`` and ``.json``); its anomalies open or update
tickets through the incident model.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from syncverify.dagkit.deployment import DEFAULT_ARGS, TZ, reports_dir
from syncverify.runner import jobs


@dag(
    dag_id="syncverify_daily_patrol",
    description="Daily patrol: Kafka backlog, yesterday's volume per link, DSG errors of the last day",
    schedule=CronTriggerTimetable("30 7 * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["syncverify", "patrol"],
    params={
        "day": Param(None, type=["null", "string"], format="date", title="Day",
                     description="The day to patrol (YYYY-MM-DD); empty = yesterday"),
        "profile": Param(None, type=["null", "string"], title="Connection profile"),
        "logs_dir": Param(None, type=["null", "string"], title="Sync-log folder"),
    },
    doc_md=__doc__,
)
def syncverify_daily_patrol():
    @task
    def patrol() -> dict:
        context = get_current_context()
        return jobs.daily_patrol({**context["params"], "reports_dir": str(reports_dir())},
                                 context.get("logical_date"))

    patrol()


syncverify_daily_patrol()
