"""The job functions the DAGs, the CLI and the demo call — one function per task.

Each takes plain, JSON-able arguments (so Airflow can pass them through the trigger form and
XCom) and returns a short JSON-able summary for XCom; the full results go to the store.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from syncverify.catalog import load_catalog
from syncverify.results import CheckResult, Outcome
from syncverify.runner.checks import CheckContext
from syncverify.runner.options import Depth, RunOptions
from syncverify.runner.verify import Recorder, RunSummary, execute, pending_checks, plan, window_of
from syncverify.store import Store


def options_from(params: dict[str, Any]) -> RunOptions:
    """RunOptions from a trigger form / XCom dict (lists may arrive as comma-separated text)."""
    def listed(value: Any) -> list[str] | None:
        if value in (None, "", []):
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value]

    window = params.get("window")
    return RunOptions(
        month=params.get("month"), kind=params.get("kind", "monthly"),
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
    if summary.store_errors:
        record.close()
    record.spool.discard()
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
        for result in trace_flows(catalog, context, store.results(options.run_id)):
            record(result)
    summary.results = store.results(options.run_id)
    record.close()
    return {"run_id": options.run_id, "status": summary.status, **_short(summary.results)}


def _short(results: list[CheckResult], **extra: Any) -> dict[str, Any]:
    return {
        "checks": len(results),
        "anomalies": sorted(r.check_id or "" for r in results if r.is_anomaly),
        "not_run": sorted(r.check_id or "" for r in results if r.outcome is Outcome.NOT_RUN),
        **extra,
    }


def reports_dir(out: str | Path | None = None) -> Path:
    return Path(out or "reports")


def monthly_params(params: dict[str, Any], logical_date: datetime | None) -> dict[str, Any]:
    """The trigger form's values, with the month defaulting to the one before the logical date.

    A manual or REST-triggered run may have no logical date: then the form's month is required.
    """
    from syncverify.errors import SyncverifyError
    from syncverify.runner.windows import previous_month

    out = {k: v for k, v in params.items() if v not in (None, "", [])}
    if "month" not in out:
        if logical_date is None:
            raise SyncverifyError("this run has no logical date: give the month in the trigger form")
        out["month"] = previous_month(logical_date)
    out.setdefault("kind", "monthly")
    return out


def incremental(params: dict[str, Any], logical_date: datetime | None = None,
                store: Store | None = None) -> dict[str, Any]:
    """Counts, checksums and confirmed differences over the last hours of every windowed table."""
    from datetime import timezone

    from syncverify.runner.verify import verify

    store = store or Store()
    hours = float(params.get("hours") or 3)
    now = datetime.fromisoformat(params["now"]) if params.get("now") else (logical_date or datetime.now(timezone.utc))
    options = options_from({**params, "kind": "incremental"})
    catalog = load_catalog(options.catalog_path)
    from syncverify.runner.windows import local_now
    from datetime import timedelta

    end = local_now(now)
    options.window = (end - timedelta(hours=hours), end)   # each link still cuts off at now - grace
    options.now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    options.tables = options.tables or [t.name for t in catalog.tables.values() if t.window_column]
    summary = verify(options, store, catalog=catalog)
    return {**summary.to_dict(), "params": {**params, "run_id": summary.run_id, "kind": "incremental"}}
