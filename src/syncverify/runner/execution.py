"""How the hop checks and the GX suites of a run are spread: serially, over threads, or over
one process per core.

Threads suit production databases, where the work is SQL aggregates inside the databases and a
check mostly waits. The embedded SQLite world hashes rows in Python functions, which threads
serialise on the GIL: there one process per core is several times faster. Either way every
result goes to the same store; in a child process the store is opened again by its URL, passed
as a parameter (a forked child must not reuse the parent's connections, and no setting travels
through the environment).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from syncverify.catalog import Catalog, load_catalog
from syncverify.errors import SyncverifyError
from syncverify.results import CheckResult
from syncverify.runner.checks import CheckContext
from syncverify.runner.verify import Recorder, RunSummary, _earlier_results, execute, pending_checks, plan, window_of
from syncverify.store import Store


class Strategy(StrEnum):
    AUTO = "auto"              # chosen from where the hashing runs (see choose_strategy)
    SERIAL = "serial"          # one check after another, in this process
    THREADS = "threads"        # ``workers`` checks at once in this process (production databases)
    PROCESSES = "processes"    # one process per core (the embedded SQLite world: GIL-bound hashing)


@dataclass(frozen=True)
class Unit:
    """One task of the checks step: a hop and one of its tables (all its sources), in hop order."""

    flow: str | None
    link: str
    table: str
    checks: int          # link checks in the unit (a link reading several sources has several)


def cores() -> int:
    return max(2, os.cpu_count() or 2)


def choose_strategy(catalog: Catalog, profile: str | None) -> Strategy:
    """Processes when some node's rows are hashed in this process (a dialect without parallel
    scans: the embedded SQLite world's Python functions, which threads serialise on the GIL),
    threads when every node hashes inside its database server. ``syncverify run`` and the demo
    both start from here, so the same world is checked the same way whoever starts it."""
    from syncverify.connect.resolve import resolve_node
    from syncverify.dialects import for_url

    for node in catalog.nodes.values():
        try:
            conn = resolve_node(node.id, profile=profile)
            if conn.url and not for_url(conn.url).parallel_scans:
                return Strategy.PROCESSES
        except SyncverifyError:
            continue        # an unresolvable node is reported by its checks, not here
    return Strategy.THREADS


def _fork_pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers; the cached node engines are closed first so no child shares a connection."""
    from syncverify.connect.resolve import dispose_engines

    dispose_engines()
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))


def _unit_in_child(params: dict[str, Any], link: str, table: str, store_url: str) -> dict[str, Any]:
    """One unit in a worker process: the job function an Airflow task runs."""
    from syncverify.runner import jobs

    return jobs.run_checks(params, link, table, store=Store(store_url, migrate=False))


def _quality_in_child(params: dict[str, Any], store_url: str) -> dict[str, Any]:
    from syncverify.runner import jobs

    return jobs.run_quality(params, store=Store(store_url, migrate=False))


def run_units(params: dict[str, Any], units: list[Unit], store: Store, *, strategy: Strategy, workers: int,
              on_done: Callable[[int], None], dispatched: Callable[[], None] | None = None) -> RunSummary:
    """Run the units of an open run; ``on_done(n)`` after n link checks finished (or were
    finished by an earlier attempt), ``dispatched()`` once every unit is under way."""
    if strategy is Strategy.PROCESSES:
        return _in_processes(params, units, store, workers=workers, on_done=on_done, dispatched=dispatched)
    return _in_this_process(params, units, store, workers=1 if strategy is Strategy.SERIAL else workers,
                            on_done=on_done, dispatched=dispatched)


def _in_this_process(params: dict[str, Any], units: list[Unit], store: Store, *, workers: int,
                     on_done: Callable[[int], None], dispatched: Callable[[], None] | None) -> RunSummary:
    """One recorder on this thread, the checks on ``workers`` threads (1: one after another)."""
    from syncverify.runner.jobs import options_from

    options = options_from(params)
    assert options.run_id is not None, "the checks step runs inside a run opened by start_run"
    catalog = load_catalog(options.catalog_path)
    wanted = {(u.link, u.table) for u in units}
    checks = [lc for lc in plan(catalog, options) if (lc.link.id, lc.table.name) in wanted]
    context = CheckContext(catalog=catalog, options=options, window=window_of(options))
    todo, skipped = pending_checks(store, options.run_id, checks, context)
    summary = RunSummary(run_id=options.run_id, status="running", skipped=skipped,
                         earlier=_earlier_results(store, options.run_id) if skipped else [])
    record = Recorder(store, options.run_id, summary)
    if skipped:
        on_done(len(skipped))
    if dispatched is not None:
        dispatched()
    if workers <= 1:
        for lc in todo:
            _record_all(record, execute(lc, context))
            on_done(1)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sv-check") as pool:
            for future in as_completed([pool.submit(execute, lc, context) for lc in todo]):
                _record_all(record, future.result())
                on_done(1)
    record.flush()   # the run itself is closed by the finish step
    return summary


def _record_all(record: Recorder, results: list[CheckResult]) -> None:
    for result in results:
        record(result)


def _in_processes(params: dict[str, Any], units: list[Unit], store: Store, *, workers: int,
                  on_done: Callable[[int], None], dispatched: Callable[[], None] | None) -> RunSummary:
    """Each unit is the job an Airflow task runs (``jobs.run_checks``), one process per core."""
    run_id = params["run_id"]
    earlier = {r.check_id for r in _earlier_results(store, run_id)}
    skipped: list[str] = []
    with _fork_pool(workers) as pool:
        futures = {pool.submit(_unit_in_child, params, u.link, u.table, store.url): u for u in units}
        if dispatched is not None:
            dispatched()    # after the forks: a thread started now is not copied into a child
        for future in as_completed(futures):
            skipped += future.result().get("skipped") or []
            on_done(futures[future].checks)
    results = store.results(run_id)
    return RunSummary(run_id=run_id, status="running", skipped=skipped,
                      results=[r for r in results if r.check_id not in earlier],
                      earlier=[r for r in results if r.check_id in earlier])


def quality(params: dict[str, Any], store: Store, *, strategy: Strategy) -> dict[str, Any]:
    """The GX suites of the run's nodes: in this process, or the nodes shared between cores."""
    from syncverify.runner import jobs

    if strategy is not Strategy.PROCESSES:
        return jobs.run_quality(params, store=store)
    options = jobs.options_from(params)
    held = jobs._node_tables(load_catalog(options.catalog_path), options)
    nodes = sorted(held)
    workers = cores()
    shares = [nodes[i::workers] for i in range(workers) if nodes[i::workers]]
    if not shares:
        return {"suites": 0, "failed_suites": 0, "failed": 0, "not_run": []}
    with _fork_pool(len(shares)) as pool:
        parts = list(pool.map(_quality_in_child, [{**params, "quality_nodes": s} for s in shares],
                              [store.url] * len(shares)))
    return {"suites": sum(p["suites"] for p in parts), "failed": sum(p["failed"] for p in parts),
            "failed_suites": sum(p["failed_suites"] for p in parts),
            "not_run": [c for p in parts for c in p["not_run"]]}


__all__ = ["Strategy", "Unit", "choose_strategy", "cores", "quality", "run_units"]
