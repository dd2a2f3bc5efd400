"""``syncverify demo``: the main job on the embedded default, end to end.

Builds the sandbox world, runs the month through the one pipeline definition
(:mod:`syncverify.runner.pipeline`: checks flow by flow, GX suites, sync-log analysis, tickets,
both reports — the steps the DAG and ``syncverify run`` run), lands the in-flight rows while the
checks run, and ends by scoring the findings against the faults the sandbox injected (which the
verifier itself never reads). Only the world, the landing and the scoring are the demo's own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncverify.sandbox.demo_repair import RepairedTicket, repair_one_ticket
from syncverify.sandbox.demo_score import Score, TicketScore, combined, score, score_incidents, score_tickets

if TYPE_CHECKING:
    from syncverify.sandbox import World
    from syncverify.sandbox.faults import FaultSpec

# Seconds before differing keys are re-checked, and when the sandbox's in-flight rows land:
# the rows are missing at the first pass and present at the confirmation.
CONFIRM_DELAY_S = 4.0
IN_FLIGHT_LANDS_AFTER_S = 2.0


@dataclass
class DemoOutcome:
    score: Score
    run_id: str
    reports: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    tickets: TicketScore | None = None
    world: World | None = None
    repaired: RepairedTicket | None = None      # the ticket the demo repaired end to end

    @property
    def ok(self) -> bool:
        return self.score.ok and (self.tickets is None or self.tickets.ok)


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(*, backend: str = "sqlite", scale: float = 1.0, seed: int = 20261, month: str = "2026-10",
             reports: str | Path = "reports", home: str | Path | None = None, catalog_path: str = "checks",
             faults: bool | Sequence[FaultSpec] = True, world_options: dict[str, Any] | None = None) -> DemoOutcome:
    """``faults``: the demo's own (True) or the faults to inject; ``world_options``: the services
    backend's admin URLs and database prefix (see :func:`syncverify.sandbox.build_world`)."""
    from syncverify.runner.pipeline import PipelineConfig, run_pipeline, steps
    from syncverify.sandbox import build_world, land_in_flight
    from syncverify.sandbox.storage import SQLiteBackend
    from syncverify.store import Store

    home_dir = Path(home or os.environ.get("SYNCVERIFY_HOME", ".syncverify")).resolve()
    # The one setting in the environment: the home of the spool, the ticket drop and the
    # embedded profile, which every step and every worker process must share. Everything else
    # (store URL, profile, logs, reports) is passed to the pipeline as parameters.
    os.environ["SYNCVERIFY_HOME"] = str(home_dir)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    world_dir = home_dir / ("world" if backend == SQLiteBackend.name else "world-services")
    _say(f"building the sandbox world ({backend}, scale {scale}, seed {seed}, {month}) in {world_dir} ...")
    world = build_world(world_dir, backend=backend, scale=scale, seed=seed, month=month, catalog_path=catalog_path,
                        faults=faults, **(world_options or {}))
    timings["build"] = time.perf_counter() - t0

    # The store `syncverify tickets` and `syncverify report` read by default in this home, so
    # the operator goes on with the CLI right after the demo.
    store = Store(f"sqlite:///{home_dir / 'results.sqlite'}")
    # The whole month through the one pipeline definition (syncverify.runner.pipeline) and its
    # automatic strategy, as `syncverify run` does: one process per core for the embedded SQLite
    # world (rows hashed in Python functions, which threads would serialise on the GIL), threads
    # for the services backend.
    config = PipelineConfig(month=month, kind="demo", depth="diff", profile=str(world.connections),
                            catalog_path=catalog_path, confirm_delay_s=CONFIRM_DELAY_S, logs_dir=str(world.logs_dir),
                            reports_dir=str(reports))
    _say(f"verifying {month}: {', '.join(s.name for s in steps(config))} ...")
    # The in-flight rows land while the checks run: missing at the first pass, present at the
    # confirmation. The timer thread starts once every worker process is forked.
    landing = threading.Timer(IN_FLIGHT_LANDS_AFTER_S, land_in_flight, args=(world,))
    done = run_pipeline(config, store, checks_dispatched=landing.start)
    landing.join()
    out = done.outputs
    finished, quality, logs, tickets = out["finish"], out["quality"], out["sync_logs"], out["tickets"]
    written = out["reports"]
    timings.update({"verify": done.seconds["checks"] + done.seconds["finish"], "quality": done.seconds["quality"],
                    "synclog": done.seconds["sync_logs"], "tickets": done.seconds["tickets"],
                    "reports": done.seconds["reports"]})

    from syncverify.catalog import load_catalog

    results = store.results(done.run_id)
    from syncverify.tickets import list_tickets, ticket_view
    # One ticket repaired end to end (plan, approval, apply, re-verification); the reports are written again.
    repaired = repair_one_ticket(store, profile=world.connections, catalog_path=catalog_path, month=month, reports=reports)
    fixed = repaired.views if repaired else []
    views = [ticket_view(t) for t in list_tickets(store, open_only=True)] + fixed
    ticket_score = score_tickets(world.manifest, views, fixed)
    # The log and consumer incidents count too: found by the stored analysis, on their fault's ticket.
    analysis = store.synclog_analysis(month) or {}
    result = combined(score(world.manifest, results, load_catalog(catalog_path)),
                      score_incidents(world.manifest, analysis.get("findings") or [], views))
    _say(f"checks: {finished['checks']}, anomalies: {len(finished['anomalies'])}, not run: {len(finished['not_run'])}")
    _say(f"quality suites: {quality.get('suites', 0)}, failing expectations: {quality.get('failed', 0)}")
    _say(f"sync-log findings: {logs.get('findings', 0)}; tickets opened: {tickets.get('open', 0)}")
    if repaired is not None:
        _say(f"repair: ticket #{repaired.ticket_id} script #{repaired.script_id} {repaired.outcome}, "
             f"re-verified {'consistent' if repaired.reverified else 'NOT consistent'}, ticket {repaired.status}")
    for path in written.get("files", []):
        if str(path).endswith(".html"):
            _say(f"report: {path}")
    _say("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    for miss in result.missed:
        _say(f"  missed: {miss}")
    for fp in result.false_positives[:20]:
        _say(f"  false positive: {fp}")
    for line in ticket_score.lines():
        _say(line)
    for line in result.lines():
        _say(line)
    return DemoOutcome(score=result, run_id=done.run_id, reports=[Path(p) for p in written.get("files", [])],
                       seconds=timings, tickets=ticket_score, world=world, repaired=repaired)

