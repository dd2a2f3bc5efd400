"""The one definition of a verification run: its steps, their order and their parameters.

A run was sequenced three times — the monthly DAG, the demo and ``syncverify run`` (checks and
tickets only) — so the runbook's "run, then report" gave a report without its Great Expectations
and sync-log sections. Here the steps are named once, with the job function each calls
(:mod:`syncverify.runner.jobs`) and the steps it waits for, and :func:`run_pipeline` runs them
end to end for a month or a selection of it. ``syncverify run`` and ``syncverify demo`` call it;
the DAGs can be generated from :data:`STEPS` (docs/architecture.md says how).

Every step takes the same JSON-able ``params`` (the trigger form's fields plus ``run_id``), so a
step is one Airflow task and the same call here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from syncverify.catalog import Catalog, load_catalog
from syncverify.results import CheckResult, Outcome
from syncverify.runner import jobs
from syncverify.runner.execution import Strategy, Unit, choose_strategy, cores, quality, run_units
from syncverify.runner.options import RunOptions
from syncverify.runner.verify import RunSummary, plan
from syncverify.store import Store


@dataclass(frozen=True)
class Step:
    """One step of a run: the job function it calls and the steps it waits for."""

    name: str
    job: str                      # the function of syncverify.runner.jobs
    after: tuple[str, ...]
    why: str
    per_unit: bool = False        # mapped over the hop units (flow by flow, in hop order)


STEPS: tuple[Step, ...] = (
    Step("start", "start_run", (), "open the run (or resume one) and list its link checks"),
    Step("checks", "run_checks", ("start",), "every (hop, table) of the selection, flow by flow in hop order",
         per_unit=True),
    Step("quality", "run_quality", ("start",), "the Great Expectations suites of the nodes the selection touches"),
    Step("finish", "finish_run", ("checks", "quality"), "trace where each flow lost invoices, then close the run"),
    Step("sync_logs", "analyse_sync_logs", ("finish",), "the month's sync-log analysis, related to the month's anomalies"),
    Step("tickets", "open_tickets", ("finish", "sync_logs"), "one ticket per root fault, with its root cause"),
    Step("reports", "write_reports", ("tickets", "sync_logs"), "both monthly reports, from the month's state"),
)
STEP_NAMES = tuple(s.name for s in STEPS)


@dataclass
class PipelineConfig:
    """What to run: a month (or a selection of it), how deep, and which steps after the checks."""

    month: str
    kind: str = "adhoc"
    flows: list[str] | None = None
    links: list[str] | None = None
    tables: list[str] | None = None
    depth: str = "diff"
    profile: str | None = None
    catalog_path: str = "checks"
    confirm_delay_s: float | None = None
    run_id: str | None = None            # resume this run: finished checks are not redone
    quality: bool = True
    logs_dir: str | None = None          # no folder: the month's stored analysis is kept
    tickets: bool = True
    reports_dir: str | None = "reports"  # None: no reports written
    lang: str = "zh"
    strategy: Strategy = Strategy.AUTO   # AUTO: processes for the embedded SQLite world, else threads
    workers: int = 4                     # threads, or processes (at least one per core)

    def params(self) -> dict[str, Any]:
        """The job functions' parameters (what the DAG's trigger form holds)."""
        return {"month": self.month, "kind": self.kind, "flows": self.flows, "links": self.links,
                "tables": self.tables, "depth": self.depth, "profile": self.profile,
                "catalog_path": self.catalog_path, "confirm_delay_s": self.confirm_delay_s,
                "run_id": self.run_id, "open_tickets": self.tickets, "logs_dir": self.logs_dir,
                "lang": self.lang}


def steps(config: PipelineConfig) -> list[Step]:
    """The steps this configuration runs, in order (a step switched off is left out)."""
    off = {"quality": not config.quality, "sync_logs": not config.logs_dir,
           "tickets": not config.tickets, "reports": config.reports_dir is None}
    return [s for s in STEPS if not off.get(s.name, False)]


def units(catalog: Catalog, options: RunOptions) -> list[Unit]:
    """The checks step's units: flow by flow, each hop in the flow's order, each table of the
    hop the selection keeps. A hop shared by several flows is checked once, under its first
    flow; hops on no flow come last."""
    checks = plan(catalog, options)
    # Indexed by link: a catalog of hundreds of links and thousands of tables must stay linear
    # (the DAG file calls this at parse time).
    by_link: dict[str, dict[str, int]] = {}
    for lc in checks:
        tables = by_link.setdefault(lc.link.id, {})
        tables[lc.table.name] = tables.get(lc.table.name, 0) + 1
    out: list[Unit] = []
    seen: set[tuple[str, str]] = set()

    def add(flow: str | None, link: str) -> None:
        for table, n in by_link.get(link, {}).items():
            if (link, table) not in seen:
                seen.add((link, table))
                out.append(Unit(flow, link, table, n))

    for flow in catalog.flows.values():
        for hop in flow.hops:
            add(flow.id, hop)
    for lc in checks:
        add(None, lc.link.id)
    return out


class Progress(Protocol):
    """What the pipeline says while it works (the CLI draws it on stderr; the demo prints)."""

    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def step(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class PipelineResult:
    """What each step returned (its XCom), the checks' summary and the time each step took."""

    run_id: str
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    checks: RunSummary | None = None
    results: list[CheckResult] = field(default_factory=list)   # the whole run, after the last step
    strategy: Strategy | None = None                           # how the checks were spread

    @property
    def anomalies(self) -> list[CheckResult]:
        return [r for r in self.results if r.is_anomaly]

    @property
    def not_run(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome is Outcome.NOT_RUN]


def run_pipeline(config: PipelineConfig, store: Store, *, progress: Progress | None = None,
                 checks_dispatched: Callable[[], None] | None = None) -> PipelineResult:
    """Run the steps of ``config`` end to end, in :data:`STEPS` order.

    ``checks_dispatched`` is called once every check is under way (the demo lands its in-flight
    rows then, so they are missing at the first pass and present at the confirmation).
    """
    progress = progress or _Silent()
    chosen = {s.name for s in steps(config)}
    params = config.params()
    catalog = load_catalog(config.catalog_path)
    strategy = config.strategy
    if strategy is Strategy.AUTO:
        strategy = choose_strategy(catalog, config.profile)
    result_strategy = strategy
    workers = config.workers if strategy is not Strategy.PROCESSES else max(config.workers, cores())

    def timed(name: str, call: Callable[[], dict[str, Any]], total: int | None = None) -> dict[str, Any]:
        progress.step(name, total)
        t0 = time.perf_counter()
        out[name] = call()
        result.seconds[name] = time.perf_counter() - t0
        return out[name]

    out: dict[str, dict[str, Any]] = {}
    started = jobs.start_run(params, store=store)
    params = started["params"]
    result = PipelineResult(run_id=started["run_id"], outputs=out, strategy=result_strategy)
    out["start"] = {k: v for k, v in started.items() if k != "params"}
    todo = units(catalog, jobs.options_from(params))
    checks_total = sum(u.checks for u in todo)

    def checks() -> dict[str, Any]:
        result.checks = run_units(params, todo, store, strategy=strategy, workers=workers,
                                  on_done=progress.advance, dispatched=checks_dispatched)
        return result.checks.to_dict()

    timed("checks", checks, checks_total)
    if "quality" in chosen:
        timed("quality", lambda: quality(params, store, strategy=strategy))
    timed("finish", lambda: jobs.finish_run(params, store=store))
    if "sync_logs" in chosen:
        timed("sync_logs", lambda: jobs.analyse_sync_logs(params, store=store))
    if "tickets" in chosen:
        timed("tickets", lambda: jobs.open_tickets(params, store=store))
    if "reports" in chosen:
        timed("reports", lambda: jobs.write_reports(params, out=str(Path(str(config.reports_dir))), store=store))
    result.results = store.results(result.run_id)
    return result


__all__ = ["STEPS", "STEP_NAMES", "PipelineConfig", "PipelineResult", "Progress", "Step", "Strategy", "run_pipeline",
           "steps", "units"]
