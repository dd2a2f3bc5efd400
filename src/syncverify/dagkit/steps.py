"""The steps of :data:`syncverify.runner.pipeline.STEPS` after ``start`` as Airflow task bodies,
the trigger rule each runs under, and the gate that decides the DAG run's state.

The steps after the checks run even when a check task failed (``all_done``): the tickets and
both reports must still be written for a month with an unreachable node. Because of that the
last task, the gate, carries the verdict: the DAG run fails when the month (or the selection
the form chose) is not consistent, or when any task failed, with a message an operator can act
on — the anomalies, the checks that did not run, the tickets and where the reports are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from syncverify.errors import SyncverifyError
from syncverify.results import Outcome
from syncverify.runner import jobs
from syncverify.runner.pipeline import STEPS
from syncverify.store import Store

log = logging.getLogger("syncverify.steps")

# Under which trigger rule each step's task runs. The checks of a hop follow the hop before it
# but do not depend on its outcome: one unreachable node must not hide the next hop's state, and
# a hop outside the selection (skipped) must not skip the next one (``all_done_min_one_success``
# does). Without ``start``'s run the check cannot read its parameters and fails.
TRIGGER_RULES: dict[str, str] = {
    "start": "all_success",
    "checks": "all_done",
    "quality": "all_success",
    "finish": "all_done",
    "sync_logs": "all_done",
    "tickets": "all_done",
    "reports": "all_done",
    "gate": "all_done",
}
FAILED_STATES = {"failed", "upstream_failed"}


class StepDidNotRun(SyncverifyError):
    """Raised after recording: part of a step could not run (a GX suite on an unreachable node)."""


def run_step(name: str, params: dict[str, Any], *, reports_dir: Path) -> dict[str, Any]:
    """The job function of step ``name`` (``STEPS``), with the state its outcome deserves."""
    step = next(s for s in STEPS if s.name == name)
    if name == "tickets" and not jobs.options_from(params).open_tickets:
        raise AirflowSkipException("open_tickets is off in the trigger form")
    if name == "reports":
        out = jobs.write_reports(params, out=str(reports_dir))
        for path in out["files"]:
            log.info("report written: %s", path)
        return out
    out = getattr(jobs, step.job)(params)
    if name == "quality" and out.get("not_run"):
        raise StepDidNotRun(f"{len(out['not_run'])} GX suite(s) did not run (recorded): {', '.join(out['not_run'])}")
    if name == "sync_logs" and out.get("warning"):
        log.warning("no sync-log analysis this run: %s", out["warning"])
    return out


def verdict(params: dict[str, Any], *, tickets: list[int] | None, task_states: Mapping[str, Any],
            reports: list[str] | None, store: Store | None = None) -> dict[str, Any]:
    """Whether the run's month (or selection) is consistent; raises ``AirflowFailException``
    (no retry: the month's state does not change by retrying) with what is wrong."""
    store = store or Store()
    options = jobs.options_from(params)
    assert options.run_id is not None, "the gate needs the run_id of start"
    results = store.results(options.run_id)
    anomalies = [r for r in results if r.is_anomaly]
    not_run = [r for r in results if r.outcome is Outcome.NOT_RUN]
    failed_tasks = sorted(t for t, s in task_states.items() if str(s) in FAILED_STATES)
    scope = options.month or "?"
    chosen = {k: v for k, v in (("flows", options.flows), ("links", options.links), ("tables", options.tables)) if v}
    if chosen:
        scope += " (" + "; ".join(f"{k} {','.join(v)}" for k, v in chosen.items()) + ")"
    summary = {"run_id": options.run_id, "scope": scope, "checks": len(results),
               "anomalies": sorted(r.check_id or "" for r in anomalies),
               "not_run": sorted(r.check_id or "" for r in not_run), "failed_tasks": failed_tasks,
               "tickets": sorted(set(tickets or [])), "reports": list(reports or [])}
    if not (anomalies or not_run or failed_tasks):
        log.info("%s is consistent: %d checks, no anomaly", scope, len(results))
        return summary
    raise AirflowFailException(_message(summary, anomalies, not_run, store))


def _message(summary: dict[str, Any], anomalies: list[Any], not_run: list[Any], store: Store) -> str:
    lines = [f"{summary['scope']} is not consistent (run {summary['run_id']}):"]
    for r in anomalies:
        lines.append(f"  anomaly {r.check_id}: missing {r.missing_count}, extra {r.extra_count}, "
                     f"changed {r.changed_count}, duplicates {r.duplicate_count}")
    for r in not_run:
        lines.append(f"  not run {r.check_id}: {r.error}")
    if summary["failed_tasks"]:
        lines.append(f"  failed tasks: {', '.join(summary['failed_tasks'])}")
    titles = _ticket_titles(store, summary["tickets"])
    lines.append("  tickets: " + (", ".join(f"#{i} {titles.get(i, '')}".rstrip() for i in summary["tickets"])
                                  if summary["tickets"] else "none opened by this run"))
    if summary["reports"]:
        lines.append(f"  reports: {summary['reports'][0]}")
    return "\n".join(lines)


def _ticket_titles(store: Store, ids: list[int]) -> dict[int, str]:
    from syncverify.tickets import lifecycle

    if not ids:
        return {}
    wanted = set(ids)
    return {t.id: t.title for t in lifecycle.list_tickets(store) if t.id in wanted}
