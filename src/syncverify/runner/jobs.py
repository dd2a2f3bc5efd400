"""The job functions the DAGs, the CLI and the demo call — one function per task.

Each takes plain, JSON-able arguments (so Airflow can pass them through the trigger form and
XCom) and returns a short JSON-able summary for XCom; the full results go to the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncverify.catalog import load_catalog
from syncverify.logmask import install as _mask_logs
from syncverify.results import CheckResult, Outcome
from syncverify.runner.context import CheckContext
from syncverify.runner.options import Depth, RunOptions
from syncverify.runner.verify import Recorder, RunSummary, execute, pending_checks, plan, window_of
from syncverify.store import Store

# The DAGs import this module in every Airflow task: from here on, every syncverify log record
# (and logged traceback) in the task log has its credentials masked.
_mask_logs()
log = logging.getLogger(__name__)


def options_from(params: dict[str, Any]) -> RunOptions:
    """RunOptions from a trigger form / XCom dict (lists may arrive as comma-separated text)."""
    def listed(value: Any) -> list[str] | None:
        if value in (None, "", []):
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value]

    from syncverify.calendar import check_month

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
               store: Store | None = None, on_result: Callable[[CheckResult], None] | None = None) -> dict[str, Any]:
    """Run one hop's checks (all its tables, or one) inside an open run; finished ones are skipped.
    ``on_result`` sees each result once it is recorded (the Airflow task logs one line per check)."""
    store = store or Store()
    options = options_from(params)
    if options.run_id is None:
        raise ValueError("run_checks needs params with the run_id of start_run")
    catalog = load_catalog(options.catalog_path)
    selected = [lc for lc in plan(catalog, options) if lc.link.id == link_id and (table is None or lc.table.name == table)]
    context = CheckContext(catalog=catalog, options=options, window=window_of(options))
    todo, skipped = pending_checks(store, options.run_id, selected, context)
    summary = RunSummary(run_id=options.run_id, status="running", skipped=skipped)
    record = Recorder(store, options.run_id, summary, on_result)
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
    from syncverify.calendar import check_month, previous_month
    from syncverify.errors import SyncverifyError

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

    from syncverify.calendar import local_now

    end = local_now(now)
    options.window = (end - timedelta(hours=hours), end)   # each link still cuts off at now - grace
    options.now = now if now.tzinfo else now.replace(tzinfo=UTC)
    options.tables = options.tables or [t.name for t in catalog.tables.values() if t.window_column]
    # Every backlog result is snapshotted and judged over the group's offset history (a stuck
    # consumer under the threshold is an anomaly) before the run closes.
    from syncverify.kafka.health import observer

    options.run_id = options.run_id or _new_run_id("incremental")
    summary = verify(options, store, catalog=catalog, on_result=observer(store, options.run_id, options.now))
    return {**summary.to_dict(), "params": {**params, "run_id": summary.run_id, "kind": "incremental"}}


def _new_run_id(kind: str) -> str:
    """A run id chosen before the run starts (the consumer-health hook records under it)."""
    import uuid

    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


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
    from syncverify.calendar import local_now
    from syncverify.connect.resolve import engine_for_node
    from syncverify.quality.model import to_check_results
    from syncverify.quality.runner import run_suite

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
            log.info("suite %s on %s.%s: %s, %s rows, %d of %d expectations failed, %.1f s%s",
                     suite_result.suite, node_id, name, suite_result.status.value, suite_result.row_count,
                     len(suite_result.failed), len(suite_result.expectations), suite_result.seconds,
                     f" ({suite_result.error})" if suite_result.error else "")
            for result in to_check_results(suite_result, node_id, table=name, check_id=f"quality/{node_id}/{name}"):
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
    month = options.month or ""
    logs_dir, origin = sync_log_folder(params)
    if logs_dir is None or not Path(logs_dir).is_dir():
        where = f"{logs_dir!r} ({origin})" if logs_dir else "(no logs_dir in the form, no synclog_dir in the profile)"
        return _no_sync_logs(store, month, f"no sync-log folder {where}", options.run_id)
    # The month's anomalies (this run's over the earlier runs'), not this run's alone: a re-run
    # of one link must not leave the analysis explaining that link only.
    if month:
        known = [m.result for m in store.month_results(month, with_run=options.run_id)]
    else:
        known = store.results(options.run_id) if options.run_id else []
    anomalies = [r for r in known if r.is_anomaly]
    formats_path = Path(options.catalog_path) / "synclog.yaml"
    formats = load_formats(formats_path if formats_path.exists() else None)
    # Every link whose process writes a sync log (DSG links and Kafka consumers): one without a
    # line in the month is a finding of its own, not silence.
    from syncverify.catalog import LinkKind

    logged = [lc.id for lc in load_catalog(options.catalog_path).links.values()
              if lc.kind in (LinkKind.DSG, LinkKind.KAFKA_CONSUMER)]
    analysis = analyse(logs_dir, month, formats, anomalies=anomalies, expected_links=logged)
    payload = analysis.to_dict()
    if not payload.get("links"):
        return _no_sync_logs(store, month, f"no sync-log lines of {month} in {logs_dir!r} ({origin})", options.run_id)
    store.save_synclog_analysis(month, payload, run_id=options.run_id)
    log.info("sync logs of %s in %s (%s): %d links, %d findings", month, logs_dir, origin,
             len(payload.get("links", [])), len(payload.get("findings", [])))
    return {"analysed": True, "logs_dir": logs_dir, "links": len(payload.get("links", [])),
            "findings": len(payload.get("findings", []))}


def sync_log_folder(params: dict[str, Any]) -> tuple[str | None, str]:
    """The sync-log folder of a run and where it came from: the form's ``logs_dir``, else the
    connection profile's ``synclog_dir`` (the deployment keeps its logs where its nodes are)."""
    from syncverify.connect.resolve import profile_synclog_dir

    if params.get("logs_dir"):
        return str(params["logs_dir"]), "logs_dir"
    found = profile_synclog_dir(params.get("profile"))
    return (str(found), "the profile's synclog_dir") if found else (None, "")


def _no_sync_logs(store: Store, month: str, reason: str, run_id: str | None) -> dict[str, Any]:
    """A month without logs is a warning in the task log and the reports, not silence.

    A folder without the month's logs must not replace an earlier analysis of the month with
    nothing: the reason is stored only when the month has no analysis yet, as a marker that the
    reports show as a warning (and that the tickets read as "no analysis").
    """
    log.warning("sync logs of %s not analysed: %s", month or "?", reason)
    if month and stored_synclog_analysis(store, month) is None:
        store.save_synclog_analysis(month, {"links": [], "findings": [], "missing": reason}, run_id=run_id)
    return {"analysed": False, "warning": reason}


def stored_synclog_analysis(store: Store, month: str) -> dict[str, Any] | None:
    """The month's sync-log analysis, ``None`` when there is none (or only the marker of a
    run that found no logs)."""
    payload = store.synclog_analysis(month)
    return None if not payload or (payload.get("missing") and not payload.get("links")) else payload


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
    catalog = load_catalog(options.catalog_path)
    results = _ticket_input(store, options, catalog)
    analysis = stored_synclog_analysis(store, options.month) if options.month else None
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


def _ticket_input(store: Store, options: RunOptions, catalog: Any) -> list[CheckResult]:
    """The run's results to open tickets from, less those that only repeat a fault another run
    of the month found (a quality rule broken downstream of a hop this run did not re-check).

    A re-run of zz11 alone once opened a ticket for a GX failure on hq.query_db that the full
    run had filed as evidence of another hop's ticket: alone, the run could not tell it was an
    echo. Echoes are told from the month's state; a full run drops nothing.
    """
    from syncverify.tickets.incidents import attribute

    assert options.run_id is not None
    own = store.results(options.run_id)
    if not options.month:
        return own
    month = [m.result for m in store.month_results(options.month, with_run=options.run_id)]
    if len(month) == len(own):
        return own
    mine = {r.check_id for r in own}
    attributed = attribute(month, catalog)
    heads_here = {a.unit.key for a in attributed if a.role == "head" and a.result.check_id in mine}
    elsewhere = {a.result.check_id for a in attributed
                 if a.role != "head" and a.result.check_id in mine and a.unit.key not in heads_here}
    return [r for r in own if r.check_id not in elsewhere]


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
    """The daily patrol, the tender's four daily duties: the consumer backlog of every Kafka link
    (judged over its offset history), row counts of the day on both sides of every link, the
    sync-log errors and incidents of that day, and why what did not sync did not.

    Kept as a record: ``<reports_dir>/patrol/YYYY-MM-DD.html`` and ``.json`` (``reports_dir``
    default ``reports``); its anomalies open or update tickets through the incident model (only
    anomalies: a one-day count that agrees must not mark a month's ticket repaired) and the
    tickets' events go out through the configured sinks. Returns the page's paths in ``files``.
    """
    from datetime import date, timedelta

    from syncverify.calendar import local_now
    from syncverify.kafka.health import observer
    from syncverify.runner.patrol import duties, write_page
    from syncverify.runner.verify import verify

    store = store or Store()
    day = date.fromisoformat(params["day"]) if params.get("day") else (local_now(logical_date) - timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day)
    options = options_from({**{k: v for k, v in params.items() if k not in ("day", "now")}, "kind": "patrol",
                            "depth": "count", "month": f"{day:%Y-%m}",
                            "window": [start.isoformat(), (start + timedelta(days=1)).isoformat()]})
    options.now = logical_date
    taken_at = datetime.fromisoformat(params["now"]) if params.get("now") else datetime.now(UTC)
    catalog = load_catalog(options.catalog_path)
    options.run_id = options.run_id or _new_run_id("patrol")
    summary = verify(options, store, catalog=catalog, on_result=observer(store, options.run_id, taken_at))
    analysis = _patrol_analysis(params, options, catalog, day, summary.anomalies)
    record = duties(day, summary.results, analysis, catalog)
    tickets, deliveries = _patrol_tickets(store, summary.anomalies, options, catalog, analysis)
    record.update(run_id=summary.run_id, generated_at=datetime.now().replace(microsecond=0).isoformat(sep=" "),
                  tickets=tickets, deliveries=deliveries)
    files = write_page(record, params.get("reports_dir") or "reports", lang=params.get("lang", "zh"))
    return {"day": day.isoformat(), "run_id": summary.run_id, "links_checked": len(record["volume"]),
            "volume_mismatches": sorted(v["check_id"] for v in record["volume"] if v["outcome"] == "inconsistent"),
            "backlog": {b["link"]: b["total_lag"] for b in record["backlog"]},
            "stuck": sorted(b["link"] for b in record["backlog"] if b["stuck"]),
            "errors": {e["link"]: e["errors"] for e in record["logs"]["errors"]},
            "tickets": tickets, "files": [str(p) for p in files], "not_run": record["not_run"]}


def _patrol_analysis(params: dict[str, Any], options: RunOptions, catalog: Any, day: Any,
                     anomalies: list[CheckResult]) -> Any:
    """The sync logs of the patrolled month up to the end of that day (an incident still going
    at midnight is reported as still open), or None without a log folder."""
    from datetime import timedelta

    from syncverify.synclog import analyse, load_formats

    logs_dir, _origin = sync_log_folder(params)
    if not logs_dir or not Path(logs_dir).is_dir():
        return None
    formats_path = Path(options.catalog_path) / "synclog.yaml"
    end = datetime(day.year, day.month, day.day) + timedelta(days=1)
    try:
        return analyse(logs_dir, f"{day:%Y-%m}", load_formats(formats_path if formats_path.exists() else None),
                       anomalies=anomalies, window_end=end, expected_links=list(catalog.links))
    except Exception as exc:   # the page still says what the checks found
        log.warning("sync logs of %s not analysed for the patrol: %s", day, exc)
        return None


def _patrol_tickets(store: Store, anomalies: list[CheckResult], options: RunOptions, catalog: Any,
                    analysis: Any) -> tuple[list[int], dict[str, Any]]:
    """Open or update one ticket per root fault the patrol found, then deliver the outbox."""
    if not options.open_tickets or not anomalies:
        return [], {"delivered": [], "failed": [], "skipped": []}
    from syncverify.tickets import lifecycle
    from syncverify.tickets.cause import root_cause
    from syncverify.tickets.outbox import deliver_pending
    from syncverify.tickets.sinks import configured_sinks

    findings = analysis.findings if analysis is not None else None
    analysed = [la.link for la in analysis.links] if analysis is not None else None
    assert options.run_id is not None
    ids = lifecycle.open_or_update(store, anomalies, run_id=options.run_id, catalog=catalog,
                                   evidence_extra=lambda r: {"root_cause": root_cause(r, findings, analysed)})
    return sorted(set(ids)), deliver_pending(store, configured_sinks()).to_dict()
