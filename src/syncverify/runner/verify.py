"""Run the link checks of a verification and record every result as it completes.

The algorithm is the same for the monthly run, the hourly incremental run, a manual re-run of one
link, and the demo: plan the (link, table) checks the options select, run them a few at a time
(the per-node connection pools cap what each database sees), record each result the moment it is
known — first in a local spool, then in the store — and turn failures into "not run" results that
say why. Nothing already found is lost when one check, one node or the store fails, and a run
started again with the same ``run_id`` skips the checks that already finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncverify.calendar import month_window
from syncverify.catalog import Catalog, LinkCheck, load_catalog
from syncverify.errors import SyncverifyError
from syncverify.masking import mask_text
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.runner.checks import CheckContext, primary_kind, run_link_check
from syncverify.runner.options import Depth, RunOptions
from syncverify.runner.spool import Spool
from syncverify.schema.snapshots import track
from syncverify.store import Store

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_id: str
    status: str
    results: list[CheckResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)       # finished in an earlier attempt of the run
    store_errors: list[str] = field(default_factory=list)
    # results an earlier attempt of this run stored (a resumed run): they count in the outcome
    earlier: list[CheckResult] = field(default_factory=list)

    @property
    def run_results(self) -> list[CheckResult]:
        """The whole run: earlier attempts' results not redone now, then this attempt's.

        ``run --resume`` once reported only what it redid ("anomalies: 0", exit 0) while the run
        held anomalies from the checks it skipped; the summary and the exit status read this."""
        redone = {r.check_id for r in self.results}
        return [r for r in self.earlier if r.check_id not in redone] + self.results

    @property
    def anomalies(self) -> list[CheckResult]:
        return [r for r in self.run_results if r.is_anomaly]

    @property
    def not_run(self) -> list[CheckResult]:
        return [r for r in self.run_results if r.outcome is Outcome.NOT_RUN]

    def to_dict(self) -> dict[str, Any]:
        """A short summary of the whole run (an Airflow XCom, a CLI --json line); ``redone``
        counts the checks this attempt ran."""
        results = self.run_results
        return {
            "run_id": self.run_id, "status": self.status, "checks": len(results),
            "consistent": sum(r.outcome is Outcome.CONSISTENT for r in results),
            "anomalies": len(self.anomalies), "not_run": [r.check_id for r in self.not_run],
            "skipped": len(self.skipped), "redone": len(self.results), "store_errors": len(self.store_errors),
        }


def plan(catalog: Catalog, options: RunOptions) -> list[LinkCheck]:
    """The link checks a run covers, in catalog order."""
    return catalog.link_checks(links=options.links, tables=options.tables, flows=options.flows)


def window_of(options: RunOptions) -> tuple[datetime, datetime]:
    if options.window is not None:
        return options.window
    if options.month is None:
        raise SyncverifyError("a run needs a month (--month YYYY-MM) or a window")
    return month_window(options.month)


def _failed(lc: LinkCheck, kind: CheckKind, exc: BaseException) -> CheckResult:
    message = str(exc) if isinstance(exc, SyncverifyError) else f"{exc.__class__.__name__}: {exc}"
    first = message.splitlines()[0] if message else exc.__class__.__name__
    return CheckResult.not_run(kind, lc.link.id, lc.table.name, mask_text(first),
                               source_node=lc.source.id, target_node=lc.target.id,
                               check_id=f"{kind.value}/{lc.id}")


def record(store: Store, run_id: str, result: CheckResult) -> None:
    """Store one result of a run; a schema result's shapes are first filed as the copies' snapshots
    (:func:`syncverify.schema.snapshots.track`, which lists the changes in its details)."""
    if result.kind is CheckKind.SCHEMA:
        track(store, run_id, result)
    store.record(run_id, result)


class Recorder:
    """Records results as they arrive: the spool first (never lost), then the store."""

    def __init__(self, store: Store, run_id: str, summary: RunSummary,
                 on_result: Callable[[CheckResult], None] | None = None) -> None:
        self.store, self.run_id, self.summary, self.on_result = store, run_id, summary, on_result
        self.spool = Spool(run_id)

    def __call__(self, result: CheckResult) -> None:
        self.spool.append(result)
        try:
            record(self.store, self.run_id, result)
        except Exception as exc:
            self.summary.store_errors.append(f"{result.check_id}: {mask_text(str(exc).splitlines()[0])}")
        self.summary.results.append(result)
        if self.on_result is not None:
            self.on_result(result)

    def flush(self) -> None:
        """Write what the store missed; fail loudly (naming the spool) if it is still down.
        The spool is kept until every result is in the store."""
        if self.summary.store_errors:
            failed, self.summary.store_errors = len(self.summary.store_errors), []
            for result in self.spool.read():
                try:
                    record(self.store, self.run_id, result)
                except Exception as exc:
                    self.summary.store_errors.append(f"{result.check_id}: {mask_text(str(exc).splitlines()[0])}")
            if self.summary.store_errors:
                raise SyncverifyError(
                    f"results store failed for {failed} result(s) of run {self.run_id}; every result is kept in "
                    f"{self.spool.path} — run `syncverify run --replay-spool` when the store is back")
        self.spool.discard()

    def close(self) -> None:
        """Flush, then close the run in the store (the last step of a run, not of one task)."""
        self.flush()
        try:
            self.summary.status = self.store.finish_run(self.run_id, summary=self.summary.to_dict())
        except Exception as exc:
            raise SyncverifyError(
                f"results store failed when closing run {self.run_id} ({mask_text(str(exc).splitlines()[0])}); "
                f"results of run {self.run_id} are in the store; run `syncverify run --replay-spool` "
                "or `--resume` to close it") from None


def execute(lc: LinkCheck, context: CheckContext) -> list[CheckResult]:
    """Run one link check; an exception becomes a not-run result that says why."""
    try:
        return run_link_check(lc, context)
    except Exception as exc:
        log.warning("check %s did not run: %s", lc.id, mask_text(str(exc)))
        return [_failed(lc, primary_kind(lc, context), exc)]


def pending_checks(store: Store, run_id: str, checks: list[LinkCheck],
                   context: CheckContext) -> tuple[list[LinkCheck], list[str]]:
    done = store.finished_check_ids(run_id)
    todo, skipped = [], []
    for lc in checks:
        if f"{primary_kind(lc, context).value}/{lc.id}" in done:
            skipped.append(lc.id)
        else:
            todo.append(lc)
    return todo, skipped


def verify(options: RunOptions, store: Store, *, catalog: Catalog | None = None,
           on_result: Callable[[CheckResult], None] | None = None) -> RunSummary:
    """Run every planned link check; returns when all have a result (or a not-run reason)."""
    catalog = catalog or load_catalog(options.catalog_path)
    window = window_of(options)
    checks = plan(catalog, options)
    run_id = store.start_run(options.kind, month=options.month, window_start=window[0], window_end=window[1],
                             params=options.describe(), run_id=options.run_id)
    summary = RunSummary(run_id=run_id, status="running")
    record = Recorder(store, run_id, summary, on_result)
    context = CheckContext(catalog=catalog, options=options, window=window)
    todo, summary.skipped = pending_checks(store, run_id, checks, context)
    if options.run_id is not None:
        summary.earlier = _earlier_results(store, run_id)

    with ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="sv-check") as pool:
        for future in as_completed([pool.submit(execute, lc, context) for lc in todo]):
            for result in future.result():
                record(result)

    if options.depth is Depth.DIFF:
        from syncverify.runner.trace import trace_flows
        try:
            known = store.results(run_id)
        except Exception:   # the store is down: trace what this attempt found; close() fails loudly
            known = list(summary.results)
        for result in trace_flows(catalog, context, known):
            record(result)
    record.close()
    return summary


def _earlier_results(store: Store, run_id: str) -> list[CheckResult]:
    """What earlier attempts of a resumed run finished (not-run results are redone)."""
    try:
        return [r for r in store.results(run_id) if r.outcome is not Outcome.NOT_RUN]
    except Exception as exc:   # the store is down: this attempt's results still count, said loudly
        log.warning("could not read the earlier results of run %s: %s", run_id, mask_text(str(exc)))
        return []


def replay_spools(store: Store) -> list[str]:
    """Write every spooled run to the store (after the store was down); returns the run ids."""
    replayed = []
    for spool in Spool.pending():
        results = spool.read()
        if not results:
            spool.discard()
            continue
        run_id = spool.path.stem
        if store.run(run_id) is None:
            store.start_run("recovered", run_id=run_id)
        for result in results:
            record(store, run_id, result)
        store.finish_run(run_id)
        spool.discard()
        replayed.append(run_id)
    return replayed
