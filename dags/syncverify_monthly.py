"""syncverify_monthly — the monthly consistency verification (一致性验证月度任务).

Runs at 02:00 on the 1st (Asia/Shanghai) over the previous calendar month: one task group per
data flow whose tasks follow the flow's hops in order (mapped over the tables each hop carries),
then the Great Expectations suites, the sync-log analysis, the tickets and both monthly reports.
Trigger it by hand with the form to re-run one month, flow, link or table at a chosen depth.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, TaskGroup, dag, get_current_context, task

from syncverify.airflow_support import DEFAULT_ARGS, TZ, pool_name, project_dir, reports_dir
from syncverify.catalog import load_catalog
from syncverify.runner import jobs

CATALOG = load_catalog(project_dir() / "checks")   # YAML only: cheap at parse time, no database touched


@dag(
    dag_id="syncverify_monthly",
    description="Monthly consistency verification of every HQ and province copy",
    schedule=CronTriggerTimetable("0 2 1 * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["syncverify", "monthly", "consistency"],
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$", title="Month",
                       description="YYYY-MM to verify; empty = the month before the run's logical date"),
        "flows": Param([], type="array", title="Flows", description="Only these flows (empty = all)",
                       examples=list(CATALOG.flows),
                       values_display={f.id: f"{f.id} {f.title}" for f in CATALOG.flows.values()}),
        "links": Param([], type="array", title="Links", description="Only these links (empty = all)",
                       examples=list(CATALOG.links)),
        "tables": Param([], type="array", title="Tables", description="Only these tables (empty = all)",
                        examples=list(CATALOG.tables)),
        "depth": Param("diff", type="string", enum=["count", "totals", "checksum", "diff"], title="Depth",
                       values_display={"count": "Row counts", "totals": "Business totals per day",
                                       "checksum": "Full checksum", "diff": "Exact differences (keys)"},
                       description="How deep each link check goes"),
        "open_tickets": Param(True, type="boolean", title="Open tickets",
                              description="Open or update repair tickets for confirmed anomalies"),
        "profile": Param(None, type=["null", "string"], title="Connection profile",
                         description="connections/<profile>.yaml for nodes without an Airflow connection"),
        "logs_dir": Param(None, type=["null", "string"], title="Sync-log folder",
                          description="DSG and consumer logs of the month (default: the sandbox's)"),
    },
    doc_md=__doc__,
)
def syncverify_monthly():
    @task
    def start() -> dict:
        context = get_current_context()
        return jobs.start_run(jobs.monthly_params(dict(context["params"]), context.get("logical_date")))

    @task(map_index_template="{{ task.op_kwargs['table'] if task.op_kwargs else '' }}")
    def check_hop(run: dict, link_id: str, table: str) -> dict:
        return jobs.run_checks(run["params"], link_id, table)

    @task
    def quality(run: dict) -> dict:
        return jobs.run_quality(run["params"])

    @task
    def sync_logs(run: dict) -> dict:
        return jobs.analyse_sync_logs(run["params"])

    @task(trigger_rule="all_done")
    def finish(run: dict) -> dict:
        return jobs.finish_run(run["params"])

    @task
    def tickets(run: dict) -> dict:
        return jobs.open_tickets(run["params"])

    @task(trigger_rule="all_done")
    def reports(run: dict) -> dict:
        return jobs.write_reports(run["params"], out=str(reports_dir()))

    run = start()
    first_task = {}
    hop_tasks = []
    for flow in CATALOG.flows.values():
        with TaskGroup(group_id=flow.id, tooltip=f"{flow.id} {flow.title}"):
            previous = None
            for hop in flow.hops:
                link = CATALOG.links[hop]
                tables = sorted({t.table for t in link.tables if not flow.tables or t.table in flow.tables})
                mapped = (check_hop.override(task_id=hop.replace("-", "_"), pool=pool_name(link.source))
                          .partial(run=run, link_id=hop).expand(table=tables))
                if previous is not None:
                    previous >> mapped
                if hop in first_task:        # the same link on a later flow: reuse its results
                    first_task[hop] >> mapped
                else:
                    first_task[hop] = mapped
                previous = mapped
                hop_tasks.append(mapped)
    checks_done = finish(run)
    hop_tasks >> checks_done
    gx = quality(run)
    logs = sync_logs(run)
    opened = tickets(run)
    [checks_done, gx, logs] >> opened
    reports(run).set_upstream([opened, logs])


syncverify_monthly()
