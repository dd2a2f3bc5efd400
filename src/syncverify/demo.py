"""``syncverify demo``: the main job on the embedded default, end to end.

Builds the sandbox world, runs the monthly verification through the same job functions the
Airflow DAG calls (one task per hop, here a thread pool), runs the Great Expectations suites and
the sync-log analysis, opens the tickets, writes both monthly reports, and ends by scoring the
findings against the faults the sandbox injected (which the verifier itself never reads).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncverify.demo_score import Score, TicketScore, score, score_tickets

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

    @property
    def ok(self) -> bool:
        return self.score.ok and (self.tickets is None or self.tickets.ok)


def _check_link(params: dict[str, Any], link: str) -> dict[str, Any]:
    """One hop's checks in a worker process (the job function an Airflow task runs)."""
    from syncverify.runner import jobs

    return jobs.run_checks(params, link)


def _run_quality(params: dict[str, Any]) -> dict[str, Any]:
    from syncverify.runner import jobs

    return jobs.run_quality(params)


def _quality_in_parallel(params: dict[str, Any], catalog_path: str) -> dict[str, Any]:
    """The GX suites of every node, the nodes shared between one process per core."""
    from syncverify.catalog import load_catalog

    catalog = load_catalog(catalog_path)
    nodes = sorted({n.id for lc in catalog.link_checks() for n in (lc.source, lc.target) if not n.is_kafka})
    workers = max(2, os.cpu_count() or 2)
    shares = [nodes[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
        parts = list(pool.map(_run_quality, [{**params, "quality_nodes": share} for share in shares if share]))
    return {"suites": sum(p["suites"] for p in parts), "failed": sum(p["failed"] for p in parts),
            "failed_suites": sum(p["failed_suites"] for p in parts), "not_run": [c for p in parts for c in p["not_run"]]}


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(*, backend: str = "sqlite", scale: float = 1.0, seed: int = 20261, month: str = "2026-10",
             reports: str | Path = "reports", home: str | Path | None = None, catalog_path: str = "checks",
             faults: bool | Sequence[FaultSpec] = True, world_options: dict[str, Any] | None = None) -> DemoOutcome:
    """``faults``: the demo's own (True) or the faults to inject; ``world_options``: the services
    backend's admin URLs and database prefix (see :func:`syncverify.sandbox.build_world`)."""
    from syncverify.connect.resolve import dispose_engines
    from syncverify.runner import jobs
    from syncverify.sandbox import build_world, land_in_flight
    from syncverify.store import Store

    home_dir = Path(home or os.environ.get("SYNCVERIFY_HOME", ".syncverify")).resolve()
    os.environ["SYNCVERIFY_HOME"] = str(home_dir)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    world_dir = home_dir / ("world" if backend == "sqlite" else "world-services")
    _say(f"building the sandbox world ({backend}, scale {scale}, seed {seed}, {month}) in {world_dir} ...")
    world = build_world(world_dir, backend=backend, scale=scale, seed=seed, month=month, catalog_path=catalog_path,
                        faults=faults, **(world_options or {}))
    timings["build"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    # The store `syncverify tickets` and `syncverify report` read by default in this home, so
    # the operator goes on with the CLI right after the demo.
    store = Store(f"sqlite:///{home_dir / 'results.sqlite'}")
    dispose_engines()
    params: dict[str, Any] = {"month": month, "kind": "demo", "depth": "diff", "profile": str(world.connections),
                              "catalog_path": catalog_path, "confirm_delay_s": CONFIRM_DELAY_S,
                              "logs_dir": str(world.logs_dir)}
    started = jobs.start_run(params, store=store)
    params = started["params"]
    _say(f"verifying {len(started['checks'])} link checks of {month} (run {started['run_id']}) ...")
    from syncverify.catalog import load_catalog
    links = list(dict.fromkeys(c.split("/")[0] for c in started["checks"]))
    # One process per core: the embedded SQLite world hashes rows in Python functions, which
    # threads would serialise on the GIL. Each process opens the same store by its URL.
    os.environ["SYNCVERIFY_STORE_URL"] = store.url
    with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2), mp_context=mp.get_context("fork")) as pool:
        futures = [pool.submit(_check_link, params, link) for link in links]   # forks before the timer thread
        landing = threading.Timer(IN_FLIGHT_LANDS_AFTER_S, land_in_flight, args=(world,))
        landing.start()
        for future in futures:
            future.result()
    landing.join()
    finished = jobs.finish_run(params, store=store)
    timings["verify"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    quality = _quality_in_parallel(params, catalog_path)
    timings["quality"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    logs = jobs.analyse_sync_logs(params, store=store)
    timings["synclog"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    tickets = jobs.open_tickets(params, store=store)
    timings["tickets"] = time.perf_counter() - t4
    t5 = time.perf_counter()
    written = jobs.write_reports(params, out=str(reports), store=store)
    timings["reports"] = time.perf_counter() - t5

    results = store.results(started["run_id"])
    result = score(world.manifest, results, load_catalog(catalog_path))
    from syncverify.tickets import list_tickets, ticket_view
    ticket_score = score_tickets(world.manifest, [ticket_view(t) for t in list_tickets(store, open_only=True)])
    _say(f"checks: {finished['checks']}, anomalies: {len(finished['anomalies'])}, not run: {len(finished['not_run'])}")
    _say(f"quality suites: {quality.get('suites', 0)}, failing expectations: {quality.get('failed', 0)}")
    _say(f"sync-log findings: {logs.get('findings', 0)}; tickets open: {tickets.get('open', 0)}")
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
    return DemoOutcome(score=result, run_id=started["run_id"], reports=[Path(p) for p in written.get("files", [])],
                       seconds=timings, tickets=ticket_score, world=world)

