"""The job functions the DAGs, the CLI and the demo call — one function per task.

Each takes plain, JSON-able arguments (so Airflow can pass them through the trigger form and
XCom) and returns a short JSON-able summary for XCom; the full results go to the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncverify.catalog import load_catalog
from syncverify.logmask import install as _mask_logs
from syncverify.results import CheckResult, Outcome
from syncverify.runner.checks import CheckContext
from syncverify.runner.options import Depth, RunOptions
from syncverify.runner.verify import Recorder, RunSummary, execute, pending_checks, plan, window_of
from syncverify.store import Store

# The DAGs import this module in every Airflow task: from here on, every syncverify log record
# (and logged traceback) in the task log has its credentials masked.
_mask_logs()


def options_from(params: dict[str, Any]) -> RunOptions:
    """RunOptions from a trigger form / XCom dict (lists may arrive as comma-separated text)."""
    def listed(value: Any) -> list[str] | None:
        if value in (None, "", []):
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value]

    from syncverify.runner.windows import check_month

    window = params.get("window")
    month = params.get("month")
    return RunOptions(
        month=None if month in (None, "") else check_month(month), kind=params.get("kind", "monthly"),
        window=(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])) if window else None,
        flows=listed(params.get("flows")), links=listed(params.get("links")), tables=listed(params.get("tables")),
        depth=Depth(params.get("depth") or "diff"), open_tickets=bool(params.get("open_tickets", True)),
        profile=params.get("profile"), catalog_path=params.get("catalog_path") or "checks",
        confirm_delay_s=params.get("confirm_delay_s"), run_id=params.get("run_id"),
    )


def start_run(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """Open a run and list its link checks grouped by flow, in hop order (for the DAG graph)."""
    store = store or Store()
    options = options_from(params)
    catalog = load_catalog(options.catalog_path)
    window = window_of(options)
    checks = plan(catalog, options)
    run_id = store.start_run(options.kind, month=options.month, window_start=window[0], window_end=window[1],
                             params=options.describe(), run_id=options.run_id)
    return {"run_id": run_id, "params": {**params, "run_id": run_id}, "checks": [lc.id for lc in checks]}


def run_checks(params: dict[str, Any], link_id: str, table: str | None = None,
               store: Store | None = None) -> dict[str, Any]:
    """Run one hop's checks (all its tables, or one) inside an open run; finished ones are skipped."""
    store = store or Store()
    options = options_from(params)
    if options.run_id is None:
        raise ValueError("run_checks needs params with the run_id of start_run")
    catalog = load_catalog(options.catalog_path)
    selected = [lc for lc in plan(catalog, options) if lc.link.id == link_id and (table is None or lc.table.name == table)]
    context = CheckContext(catalog=catalog, options=options, window=window_of(options))
    todo, skipped = pending_checks(store, options.run_id, selected, context)
    summary = RunSummary(run_id=options.run_id, status="running", skipped=skipped)
    record = Recorder(store, options.run_id, summary)
    for lc in todo:
        for result in execute(lc, context):
            record(result)
    record.flush()   # a task's share of the run: the run itself is closed by finish_run
    return _short(summary.results, skipped=skipped)


def finish_run(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """Trace the flows of the run and close it."""
    store = store or Store()
    options = options_from(params)
    assert options.run_id is not None
    catalog = load_catalog(options.catalog_path)
    summary = RunSummary(run_id=options.run_id, status="running")
    record = Recorder(store, options.run_id, summary)
    if options.depth is Depth.DIFF:
        from syncverify.runner.trace import trace_flows
        context = CheckContext(catalog=catalog, options=options, window=window_of(options))
        for result in trace_flows(catalog, context, _trace_input(store, options, catalog)):
            record(result)
    summary.results = store.results(options.run_id)
    record.close()
    return {"run_id": options.run_id, "status": summary.status, **_short(summary.results)}


def _trace_input(store: Store, options: RunOptions, catalog: Any) -> list[CheckResult]:
    """The missing keys a run's flow traces follow.

    A partial re-run (one link) once traced its flows from its own results only, and its trace
    replaced the month's: the other hops' lost invoices vanished from the report. The flows the
    run touches are traced from the month's state (this run's results over the earlier ones).
    """
    own = store.results(options.run_id)
    if not options.month:
        return own
    links = {r.link_id for r in own if r.link_id}
    flows = [f for f in catalog.flows.values() if links & set(f.hops)]
    hops = {h for f in flows for h in f.hops}
    month = [m.result for m in store.month_results(options.month, with_run=options.run_id)]
    return [r for r in month if r.link_id in hops]


def _short(results: list[CheckResult], **extra: Any) -> dict[str, Any]:
    return {
        "checks": len(results),
        "anomalies": sorted(r.check_id or "" for r in results if r.is_anomaly),
        "not_run": sorted(r.check_id or "" for r in results if r.outcome is Outcome.NOT_RUN),
        **extra,
    }


def monthly_params(params: dict[str, Any], logical_date: datetime | None) -> dict[str, Any]:
    """The trigger form's values, with the month defaulting to the one before the logical date.

    A manual or REST-triggered run may have no logical date: then the form's month is required.
    """
    from syncverify.errors import SyncverifyError
    from syncverify.runner.windows import check_month, previous_month

    out = {k: v for k, v in params.items() if v not in (None, "", [])}
    if "month" not in out:
        if logical_date is None:
            raise SyncverifyError("this run has no logical date: give the month in the trigger form")
        out["month"] = previous_month(logical_date)
    check_month(out["month"])   # the trigger form's text: "2026-1" is an error, not an empty run
    out.setdefault("kind", "monthly")
    return out


def incremental(params: dict[str, Any], logical_date: datetime | None = None,
                store: Store | None = None) -> dict[str, Any]:
    """Counts, checksums and confirmed differences over the last hours of every windowed table."""

    from syncverify.runner.verify import verify

    store = store or Store()
    hours = float(params.get("hours") or 3)
    now = datetime.fromisoformat(params["now"]) if params.get("now") else (logical_date or datetime.now(UTC))
    options = options_from({**params, "kind": "incremental"})
    catalog = load_catalog(options.catalog_path)
    from datetime import timedelta

    from syncverify.runner.windows import local_now

    end = local_now(now)
    options.window = (end - timedelta(hours=hours), end)   # each link still cuts off at now - grace
    options.now = now if now.tzinfo else now.replace(tzinfo=UTC)
    options.tables = options.tables or [t.name for t in catalog.tables.values() if t.window_column]
    summary = verify(options, store, catalog=catalog)
    return {**summary.to_dict(), "params": {**params, "run_id": summary.run_id, "kind": "incremental"}}


def _node_tables(catalog: Any, options: RunOptions) -> dict[str, set[str]]:
    """The database nodes the run's link checks touch and their tables (Kafka nodes excluded)."""
    held: dict[str, set[str]] = {}
    for lc in plan(catalog, options):
        for node in (lc.source, lc.target):
            if not node.is_kafka:
                held.setdefault(node.id, set()).add(lc.table.name)
    return held


def run_quality(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """Run each table's Great Expectations suite on every node that holds the table, for the
    run's window (reference tables whole); failures become anomalies of kind quality."""
    from syncverify.connect.resolve import engine_for_node
    from syncverify.quality.model import to_check_results
    from syncverify.quality.runner import run_suite
    from syncverify.runner.windows import local_now

    store = store or Store()
    options = options_from(params)
    assert options.run_id is not None, "run_quality needs the run_id of start_run"
    catalog = load_catalog(options.catalog_path)
    window = window_of(options)
    suites_dir = Path(options.catalog_path).resolve().parent / "expectations"
    summary = RunSummary(run_id=options.run_id, status="running")
    record = Recorder(store, options.run_id, summary)
    failed = 0
    only = set(params.get("quality_nodes") or [])     # a share of the nodes, for parallel workers
    for node_id, tables in sorted(_node_tables(catalog, options).items()):
        if only and node_id not in only:
            continue
        node = catalog.nodes[node_id]
        for name in sorted(tables):
            table = catalog.tables[name]
            if not table.suite:
                continue
            try:
                engine = engine_for_node(node_id, profile=options.profile)
            except Exception as exc:
                from syncverify.results import CheckKind
                record(CheckResult.not_run(CheckKind.QUALITY, None, name, str(exc), source_node=node_id,
                                           check_id=f"quality/{node_id}/{name}"))
                continue
            suite_result = run_suite(engine, node.physical(name), table.suite, suites_dir=suites_dir,
                                     window_column=table.window_column,
                                     window=window if table.window_column else None,
                                     now=local_now(options.now), schema=node.schema_name)
            for result in to_check_results(suite_result, node_id):
                result.table = name
                result.check_id = f"quality/{node_id}/{name}"
                failed += int(result.details.get("failed") or 0)
                record(result)
    record.flush()   # a task's share of the run: the run itself is closed by finish_run
    return {"suites": len(summary.results), "failed_suites": len(summary.anomalies),
            "failed": failed, "not_run": [r.check_id for r in summary.not_run]}


def analyse_sync_logs(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """The month's sync-log analysis, related to the run's anomalies, saved in the store."""
    from syncverify.synclog import analyse, load_formats

    store = store or Store()
    options = options_from(params)
    logs_dir = params.get("logs_dir")
    if not logs_dir or not Path(logs_dir).is_dir():
        return {"analysed": False, "reason": f"no sync-log folder {logs_dir!r}"}
    month = options.month or ""
    # The month's anomalies (this run's over the earlier runs'), not this run's alone: a re-run
    # of one link must not leave the analysis explaining that link only.
    if month:
        known = [m.result for m in store.month_results(month, with_run=options.run_id)]
    else:
        known = store.results(options.run_id) if options.run_id else []
    anomalies = [r for r in known if r.is_anomaly]
    formats_path = Path(options.catalog_path) / "synclog.yaml"
    formats = load_formats(formats_path if formats_path.exists() else None)
    analysis = analyse(logs_dir, month, formats, anomalies=anomalies)
    payload = analysis.to_dict()
    if not payload.get("links"):
        # A folder without the month's logs must not replace the month's analysis with nothing.
        return {"analysed": False, "reason": f"no sync-log lines of {month} in {logs_dir!r}"}
    store.save_synclog_analysis(month, payload, run_id=options.run_id)
    return {"analysed": True, "links": len(payload.get("links", [])), "findings": len(payload.get("findings", []))}


def open_tickets(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """Open or update one ticket per root fault for the run's confirmed anomalies, each with its
    root cause (the month's sync-log analysis, when there is one) and when it occurred."""
    from syncverify.connect.resolve import engine_for_node
    from syncverify.tickets import lifecycle
    from syncverify.tickets.cause import data_time, finding_from_dict, root_cause
    from syncverify.tickets.outbox import deliver_pending
    from syncverify.tickets.sinks import configured_sinks

    store = store or Store()
    options = options_from(params)
    if not options.open_tickets:
        return {"skipped": "open_tickets is off"}
    assert options.run_id is not None
    results = store.results(options.run_id)
    catalog = load_catalog(options.catalog_path)
    analysis = store.synclog_analysis(options.month) if options.month else None
    findings = [finding_from_dict(f) for f in analysis.get("findings") or []] if analysis else None
    analysed = [str(la.get("link")) for la in analysis.get("links") or []] if analysis else None

    def cause(result: CheckResult) -> dict[str, Any]:
        return {"root_cause": root_cause(result, findings, analysed)}

    def occurred(result: CheckResult) -> datetime | None:
        return data_time(result, catalog, lambda node: engine_for_node(node, profile=options.profile))

    ids = lifecycle.open_or_update(store, results, run_id=options.run_id, catalog=catalog,
                                   evidence_extra=cause, occurred_at=occurred)
    delivered = deliver_pending(store, configured_sinks())
    open_now = lifecycle.list_tickets(store, open_only=True)
    return {"tickets": sorted(set(ids)), "open": len(open_now), "deliveries": delivered.to_dict()}


def write_reports(params: dict[str, Any], out: str, store: Store | None = None) -> dict[str, Any]:
    """Both monthly reports from the store (never from production)."""
    from syncverify.report import write_reports as write

    store = store or Store()
    options = options_from(params)
    paths = write(store, options.month or "", Path(out), load_catalog(options.catalog_path),
                  lang=params.get("lang", "zh"))
    return {"files": [str(p) for p in paths]}


def sla_watch(params: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """Escalate, re-verify repaired tickets on their keys, deliver pending ticket events."""
    from syncverify.connect.resolve import engine_for_node
    from syncverify.tickets.reverify import reverifier
    from syncverify.tickets.sla import sla_watch as watch

    store = store or Store()
    catalog = load_catalog(params.get("catalog_path") or "checks")
    profile = params.get("profile")
    from syncverify.tickets.sinks import configured_sinks

    report = watch(store, reverify=reverifier(catalog, lambda node: engine_for_node(node, profile=profile)),
                   sinks=configured_sinks())
    return report.to_dict()


def daily_patrol(params: dict[str, Any], logical_date: datetime | None = None,
                 store: Store | None = None) -> dict[str, Any]:
    """The daily patrol: row counts of yesterday per link (synced volume on both sides), the
    consumer backlog of every Kafka link, and the sync-log errors of that day per link."""
    from datetime import date, timedelta

    from syncverify.runner.verify import verify
    from syncverify.runner.windows import local_now

    store = store or Store()
    day = date.fromisoformat(params["day"]) if params.get("day") else (local_now(logical_date) - timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day)
    options = options_from({**{k: v for k, v in params.items() if k != "day"}, "kind": "patrol", "depth": "count",
                            "month": f"{day:%Y-%m}", "window": [start.isoformat(), (start + timedelta(days=1)).isoformat()]})
    options.now = logical_date
    summary = verify(options, store)
    volume = {r.check_id: {"source": r.source_rows, "target": r.target_rows, "outcome": r.outcome.value}
              for r in summary.results if r.kind.value == "count"}
    backlog = {r.link_id: r.details.get("total_lag") for r in summary.results if r.kind.value == "kafka_backlog"}
    errors: dict[str, int] = {}
    logs_dir = params.get("logs_dir")
    if logs_dir and Path(logs_dir).is_dir():
        from syncverify.synclog import analyse, load_formats

        formats_path = Path(options.catalog_path) / "synclog.yaml"
        analysis = analyse(logs_dir, f"{day:%Y-%m}", load_formats(formats_path if formats_path.exists() else None))
        for link in analysis.links:
            matrix = link.error_matrix
            if day.isoformat() in matrix.get("days", []):
                row = matrix["counts"][matrix["days"].index(day.isoformat())]
                if sum(row):
                    errors[link.link] = int(sum(row))
    return {"day": day.isoformat(), "run_id": summary.run_id, "links_checked": len(volume),
            "volume_mismatches": sorted(k for k, v in volume.items() if v["outcome"] == "inconsistent"),
            "backlog": backlog, "errors": errors, "not_run": [r.check_id for r in summary.not_run]}
