"""syncverify_monthly — the monthly consistency verification (一致性验证月度任务).

Runs at 02:00 on the 1st (Asia/Shanghai) over the previous calendar month. The tasks are the steps
of `syncverify.runner.pipeline.STEPS`: `start`, the checks — one task group per data flow, one
task per hop in the flow's order, mapped over the hop's tables, each in the pool of the hop's
source node — then `quality` (GX suites), `finish` (flow traces), `sync_logs`, `tickets`,
`reports`, and the `gate`, which fails the run when the month (or the selection) is not
consistent. A check that cannot run fails its task after recording it (retries apply); anomalies
are recorded and their task succeeds; work outside the form's selection is skipped.

Unpausing schedules nothing in the past (no start date, `run_immediately=False`): the first run
is the next 1st. Re-run any month by triggering with the form (README, "Airflow").
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, TaskGroup, dag, get_current_context, task

from syncverify.catalog import load_catalog
from syncverify.dagkit import checks as check_tasks
from syncverify.dagkit import steps as step_tasks
from syncverify.dagkit.deployment import DEFAULT_ARGS, TZ, pool_name, project_dir, reports_dir
from syncverify.dagkit.graph import hop_edges, hop_groups
from syncverify.dagkit.links import ReportsLink
from syncverify.dagkit.notify import SinkNotifier
from syncverify.runner import jobs
from syncverify.runner.pipeline import STEPS, units

CATALOG_PATH = str(project_dir() / "checks")
CATALOG = load_catalog(CATALOG_PATH)   # YAML only: cheap at parse time, no database touched
UNITS = units(CATALOG, jobs.options_from({"catalog_path": CATALOG_PATH}))   # every unit; the form selects


def _optional_list(title: str, what: str, choices: list[str], **extra) -> Param:
    return Param(None, type=["null", "array"], items={"type": "string"}, title=title,
                 description=f"Only these {what} (empty = all)", examples=choices, **extra)


@dag(
    dag_id="syncverify_monthly",
    description="Monthly consistency verification of every HQ and province copy",
    schedule=CronTriggerTimetable("0 2 1 * *", timezone=TZ, run_immediately=False),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["syncverify", "monthly", "consistency"],
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$", title="Month",
                       description="YYYY-MM to verify; empty = the month before the run's logical date"),
        "flows": _optional_list("Flows", "flows", list(CATALOG.flows),
                                values_display={f.id: f"{f.id} {f.title}" for f in CATALOG.flows.values()}),
        "links": _optional_list("Links", "links", list(CATALOG.links)),
        "tables": _optional_list("Tables", "tables", list(CATALOG.tables)),
        "depth": Param("diff", type="string", enum=["count", "totals", "checksum", "diff"], title="Depth",
                       values_display={"count": "Row counts", "totals": "Business totals per day",
                                       "checksum": "Full checksum", "diff": "Exact differences (keys)"},
                       description="How deep each link check goes"),
        "open_tickets": Param(True, type="boolean", title="Open tickets",
                              description="Open or update repair tickets for confirmed anomalies"),
        "profile": Param(None, type=["null", "string"], title="Connection profile",
                         description="connections/<profile>.yaml or a path, for nodes without an Airflow connection"),
        "logs_dir": Param(None, type=["null", "string"], title="Sync-log folder",
                          description="DSG and consumer logs of the month; empty = the profile's synclog_dir "
                                      "(the embedded profile: the sandbox world's logs)"),
    },
    doc_md=__doc__,
)
def syncverify_monthly():
    @task
    def start() -> dict:
        context = get_current_context()
        params = {"catalog_path": CATALOG_PATH, **jobs.monthly_params(dict(context["params"]), context.get("logical_date"))}
        return jobs.start_run(params)

    @task(map_index_template="{{ task.op_kwargs['table'] if task.op_kwargs else '' }}")
    def check(run: dict, link: str, table: str) -> dict:
        return check_tasks.check_unit(run["params"], link, table)

    @task
    def step(run: dict, name: str) -> dict:
        return step_tasks.run_step(name, run["params"], reports_dir=reports_dir())

    @task(trigger_rule=step_tasks.TRIGGER_RULES["gate"],
          on_failure_callback=SinkNotifier(event="monthly_not_consistent"))
    def gate(run: dict) -> dict:
        context = get_current_context()
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
        reports = ti.xcom_pull(task_ids="reports") or {}
        tickets = ti.xcom_pull(task_ids="tickets") or {}
        return step_tasks.verdict(run["params"], tickets=tickets.get("tickets"), reports=reports.get("files"),
                                  task_states={t: s for t, s in states.items() if t != ti.task_id})

    run = start()
    made: dict[str, list] = {"start": [run]}
    for s in STEPS[1:]:
        if s.per_unit:
            made[s.name] = _checks(check, run)
        else:
            t = step.override(task_id=s.name, trigger_rule=step_tasks.TRIGGER_RULES[s.name])(run, s.name)
            if s.name == "reports":
                t.operator.operator_extra_links = [ReportsLink()]
            made[s.name] = [t]
    for s in STEPS[1:]:
        for before in s.after:
            for upstream in made[before]:
                upstream >> made[s.name]
    made["reports"][0] >> gate(run)


def _checks(check, run) -> list:
    """One task group per flow, one mapped task per hop over its tables in the pool of its
    source node, each hop after the one before it in every flow that passes it."""
    by_hop = {}
    for flow_id, hops in hop_groups(UNITS).items():
        flow = CATALOG.flows[flow_id] if flow_id else None
        with TaskGroup(group_id=flow_id or "other", tooltip=f"{flow.id} {flow.title}" if flow else "hops on no flow"):
            for link, tables in hops.items():
                by_hop[link] = (check.override(task_id=link.replace("-", "_"), pool=pool_name(CATALOG.links[link].source),
                                               trigger_rule=step_tasks.TRIGGER_RULES["checks"])
                                .partial(run=run, link=link).expand(table=tables))
    for before, after in hop_edges(CATALOG, by_hop):
        by_hop[before] >> by_hop[after]
    return list(by_hop.values())


syncverify_monthly()
