"""syncverify_daily_patrol — the daily link patrol (每日链路巡检).

Kafka backlog per consumer link, yesterday's synced volume per link (counts on both sides), and
the DSG errors of the last day from the sync logs; a short patrol summary in the store and XCom.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from syncverify.airflow_support import DEFAULT_ARGS, TZ
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
        return jobs.daily_patrol(dict(context["params"]), context.get("logical_date"))

    patrol()


syncverify_daily_patrol()
