"""The checks step as Airflow tasks: one task per (hop, table), each with a state that means
something.

A check that could not run used to leave its task green, with ``not run: cannot connect`` only
inside the XCom, and the configured retries never fired. Here the result is recorded first (the
report and the retry both need it) and the task then fails; a retry re-runs only the checks that
did not finish (``pending_checks``). A unit outside the trigger form's selection is skipped, not
reported as a success with ``checks: 0``.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from syncverify.catalog import load_catalog
from syncverify.errors import SyncverifyError
from syncverify.results import CheckResult, Outcome
from syncverify.runner import jobs
from syncverify.runner.verify import plan

log = logging.getLogger("syncverify.checks")


class ChecksDidNotRun(SyncverifyError):
    """Raised after recording: some checks of a task could not run (a node unreachable, a table
    missing). Any exception fails the attempt, so the task's retries apply."""


def check_line(result: CheckResult, depth: str) -> str:
    """One log line per check: link, table, depth, outcome, counts, seconds."""
    seconds = (result.finished_at - result.started_at).total_seconds() if result.finished_at else None
    parts = [f"check {result.link_id or '-'}/{result.table}", f"{result.kind.value}", f"depth={depth}",
             result.outcome.value]
    if result.outcome is Outcome.NOT_RUN:
        parts.append(f"error={result.error}")
    else:
        parts.append(f"source={result.source_rows} target={result.target_rows}")
        if result.differences or result.in_flight_count:
            parts.append(f"missing={result.missing_count} extra={result.extra_count} changed={result.changed_count} "
                         f"duplicates={result.duplicate_count} in_flight={result.in_flight_count}")
    if seconds is not None:
        parts.append(f"{seconds:.1f}s")
    return " ".join(parts)


def selected(params: dict[str, Any], link: str, table: str) -> bool:
    """Whether the run's selection (flows, links, tables of the form) covers this unit."""
    options = jobs.options_from(params)
    return any(lc.link.id == link and lc.table.name == table for lc in plan(load_catalog(options.catalog_path), options))


def check_unit(params: dict[str, Any], link: str, table: str) -> dict[str, Any]:
    """Run one unit of the checks step: skipped outside the selection, failed (after recording)
    when a check could not run, successful otherwise — anomalies included, they are findings."""
    if not selected(params, link, table):
        raise AirflowSkipException(f"{link}/{table} is not in this run's selection")
    depth = str(params.get("depth") or "diff")
    out = jobs.run_checks(params, link, table, on_result=lambda r: log.info("%s", check_line(r, depth)))
    if out.get("skipped"):
        log.info("checks finished by an earlier attempt, not redone: %s", ", ".join(out["skipped"]))
    if out["anomalies"]:
        log.warning("%d anomalies recorded: %s", len(out["anomalies"]), ", ".join(out["anomalies"]))
    if out["not_run"]:
        raise ChecksDidNotRun(f"{len(out['not_run'])} check(s) of {link}/{table} did not run (recorded): "
                              + ", ".join(out["not_run"]))
    return out
