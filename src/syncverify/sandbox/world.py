"""Build the sandbox world: origins -> propagation with faults -> storage, manifest, logs.

``build_world`` writes into ``out_dir``:

- the node databases (see :mod:`.storage`),
- ``connections.yaml``: a connection profile mapping every node to its URL,
- ``manifest.json``: month, seed, scale, backend, faults, in-flight rows, log incidents, counts
  (read only by the demo's final comparison and the tests, never by the verifier),
- ``in_flight.json``: the rows still in flight, which :func:`land_in_flight` writes later,
- ``logs/``: the month's DSG and consumer logs with incidents that line up with the faults.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from syncverify.catalog import Catalog, LinkKind, load_catalog
from syncverify.catalog.table_refs import MESSAGE_COLUMNS
from syncverify.sandbox.faults import DEFAULT_FAULTS, FaultPlanError, FaultPlanner, FaultSpec, key_json
from syncverify.sandbox.generate import columns, generate_origins, month_range
from syncverify.sandbox.messages import end_offsets, layout
from syncverify.sandbox.propagate import State, key_function, origin_state, propagate
from syncverify.sandbox.storage import (
    OFFSETS_TABLE,
    Backend,
    RowCache,
    ServicesBackend,
    bulk_insert,
    make_backend,
    offsets_table,
    open_engine,
    table_for,
)

MANIFEST = "manifest.json"
PENDING = "in_flight.json"
CONNECTIONS = "connections.yaml"


@dataclass
class World:
    """A built world: where it is and what it holds."""

    dir: Path
    backend: str
    manifest: dict[str, Any]
    connections: Path
    node_urls: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def logs_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def pending_path(self) -> Path:
        return self.dir / PENDING

    @classmethod
    def open(cls, world_dir: str | Path) -> World:
        """A world built earlier (reads its manifest and connection profile)."""
        d = Path(world_dir)
        manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        profile = yaml.safe_load((d / CONNECTIONS).read_text(encoding="utf-8"))
        urls = {n: e["url"] for n, e in profile["nodes"].items()}
        return cls(d, manifest["backend"], manifest, d / CONNECTIONS, urls)


def _local_volatile(catalog: Catalog) -> dict[str, Any]:
    """Columns the catalog excludes from comparison change locally in province copies (view
    counters grow as people read): the verifier must ignore them, so the world exercises that."""
    out: dict[str, Any] = {}
    for lc in catalog.link_checks():
        excluded = [c for c in lc.table.exclude_columns if c in columns(lc.table.name)]
        if not excluded or lc.target.side.value != "province" or lc.target.is_kafka:
            continue
        idx = [columns(lc.table.name).index(c) for c in excluded]

        def bump(row: tuple[Any, ...], idx: list[int] = idx) -> tuple[Any, ...]:
            values = list(row)
            last = str(values[0])[-1:]
            for i in idx:
                if isinstance(values[i], int):
                    values[i] += 1 + (int(last) if last.isdigit() else 0)
            return tuple(values)

        out[lc.id] = bump
    return out


def build_world(out_dir: str | Path, *, backend: str = "sqlite", scale: float = 1.0, seed: int = 20261,
                month: str = "2026-10", catalog_path: str | Path = "checks",
                faults: bool | Sequence[FaultSpec] = True, logs: bool = True, **backend_options: Any) -> World:
    """Generate, propagate with faults, and store a month of the world in ``out_dir``.

    ``faults``: True for the demo's faults (:data:`DEFAULT_FAULTS`), False for none, or the
    faults to inject (a test's own). ``backend_options`` go to the services backend:
    ``postgres_url``, ``mariadb_url`` (admin URLs) and ``db_prefix`` (default ``svw_``).
    """
    specs = DEFAULT_FAULTS if faults is True else tuple(faults) if faults else ()
    faults = bool(specs)
    timings: dict[str, float] = {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    catalog = load_catalog(catalog_path)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    store = make_backend(backend, out, **backend_options)
    if isinstance(store, ServicesBackend):
        store.check()
    start, end = month_range(month)

    origins = generate_origins(catalog, rng=random.Random(seed), scale=scale, month=month)
    planner = FaultPlanner(catalog, origins, seed=seed, month_start=start, month_end=end, faults=specs)
    if faults:
        planner.apply_quality()
    state = origin_state(catalog, origins)
    hooks = planner.hooks(state) if faults else {}
    timings["generate"] = time.perf_counter() - t0
    propagate(catalog, state, hooks, _local_volatile(catalog))
    planner.after_propagation(state, with_faults=faults)
    timings["propagate"] = time.perf_counter() - t0 - timings["generate"]

    t1 = time.perf_counter()
    urls, counts = _store(catalog, state, store, planner, timings)
    timings["store"] = time.perf_counter() - t1

    for item in planner.pending:
        for node, _table, _row in item["rows"]:
            if catalog.nodes[node].is_kafka:
                raise FaultPlanError(f"in-flight rows of {item['link']} would land in Kafka node {node}")
    pending = {"landed": False, "items": [
        {"link": p["link"], "table": p["table"], "keys": p["keys"],
         "rows": [{"node": n, "table": t, "values": [_encode(v) for v in r]} for n, t, r in p["rows"]]}
        for p in planner.pending],
        "offsets": [{"node": n, "group_id": g, "topic": t, "partition": p, "committed_offset": o}
                    for (n, g, t, p), o in planner.landed_offsets.items()]}
    (out / PENDING).write_text(json.dumps(pending, ensure_ascii=False, indent=1), encoding="utf-8")

    incidents = build_incidents(catalog, planner, start, end) if faults else []
    manifest = {"month": month, "seed": seed, "scale": scale, "backend": backend,
                "faults": planner.manifest_faults() if faults else [],
                "in_flight": planner.manifest_in_flight(),
                "incidents": [{"id": f"L{n:02d}", **i.to_dict(), "fault": i.extra.get("fault"),
                               "source": "consumer" if catalog.links[i.link].kind is LinkKind.KAFKA_CONSUMER else "dsg"}
                              for n, i in enumerate(incidents, 1)],
                "counts": counts}
    if isinstance(store, ServicesBackend):
        manifest["db_prefix"] = store.prefix
    profile = {"profile": f"sandbox-{backend}", "synclog_dir": str((out / "logs").resolve()),
               "nodes": {n: ({"url": u, "storage": "tables"} if catalog.nodes[n].is_kafka else {"url": u})
                         for n, u in urls.items()}}
    (out / CONNECTIONS).write_text(yaml.safe_dump(profile, sort_keys=False, allow_unicode=True), encoding="utf-8")
    world = World(out, backend, manifest, out / CONNECTIONS, urls, timings)
    if logs:
        t2 = time.perf_counter()
        write_logs(world, catalog, incidents, seed=seed)
        timings["logs"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    timings["cpu"] = time.process_time() - cpu0
    manifest["build_seconds"] = {k: round(v, 2) for k, v in timings.items()}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    store.dispose()
    return world


def _store(catalog: Catalog, state: State, store: Backend, planner: FaultPlanner,
           timings: dict[str, float]) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Write every node. Two nodes load at a time: while one waits on its server (or on SQLite's
    B-tree inserts, which release the GIL) the other converts rows in Python."""
    by_node: dict[str, list[str]] = {}
    for (nid, table) in sorted(state.copies):
        by_node.setdefault(nid, []).append(table)
    cache = RowCache()
    # Biggest nodes first, so the two workers finish together.
    order = sorted(catalog.nodes, key=lambda n: -sum(
        len(state.copies[(n, t)].rows) for t in by_node.get(n, [])))
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sv-sandbox-store") as pool:
        done = dict(zip(order, pool.map(
            lambda n: _store_node(catalog, state, store, planner, n, by_node.get(n, []), cache), order),
            strict=True))
    for n, (_url, _counts, seconds) in done.items():
        timings[f"store:{n}"] = seconds
    return ({n: done[n][0] for n in sorted(done)}, {n: done[n][1] for n in sorted(done)})


def _store_node(catalog: Catalog, state: State, store: Backend, planner: FaultPlanner, node_id: str,
                tables: list[str], cache: RowCache) -> tuple[str, dict[str, int], float]:
    t0 = time.perf_counter()
    node = catalog.nodes[node_id]
    store.reset(node)
    url = store.url(node)
    engine = open_engine(url)
    md = sa.MetaData()
    counts: dict[str, int] = {}
    offsets: list[tuple[str, str, int, int]] = []
    try:
        plans = []
        for table in tables:
            copy = state.copies[(node_id, table)]
            suffixes: list[tuple[Any, ...]] | None = None
            if node.is_kafka:
                topic = node.physical(table)
                t = table_for(table, physical=topic, messages=True, metadata=md)
                msgs = layout(table, list(copy.rows.values()) + copy.duplicates,
                              key_function(catalog, table), node=node_id)
                rows = [m.row for m in msgs]
                suffixes = [(m.partition, m.offset, m.ts) for m in msgs]
                cols = [*columns(table), *MESSAGE_COLUMNS]
                ends = end_offsets(msgs)
                for lc in catalog.link_checks():
                    if lc.source.id == node_id and lc.table.name == table and lc.link.consumer_group:
                        for p, e in ends.items():
                            committed = planner.offsets.get((node_id, lc.link.consumer_group, topic, p), e)
                            offsets.append((lc.link.consumer_group, topic, p, committed))
            else:
                t = table_for(table, primary_key=not copy.no_pk, metadata=md)
                rows = list(copy.rows.values()) + copy.duplicates
                cols = columns(table)
            plans.append((t.name, cols, rows, suffixes))
            counts[table] = len(rows)
        if node.is_kafka:
            offsets_table(md)
        md.create_all(engine)
        with engine.begin() as conn:
            for name, cols, rows, sfx in plans:
                bulk_insert(conn, name, cols, rows, sfx, cache)
            if node.is_kafka:
                bulk_insert(conn, OFFSETS_TABLE, ["group_id", "topic", "partition", "committed_offset"],
                            sorted(set(offsets)))
    finally:
        engine.dispose()
    return url, counts, time.perf_counter() - t0


# ---------------------------------------------------------------------------- in flight

def _encode(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if isinstance(v, Decimal):
        return {"decimal": str(v)}
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict):
        ((kind, text),) = v.items()
        parsers: dict[str, Callable[[str], Any]] = {"datetime": datetime.fromisoformat,
                                                     "date": date.fromisoformat, "decimal": Decimal}
        return parsers[kind](text)
    return v


def land_in_flight(world: World) -> int:
    """Write the rows that were still in flight at build time (and advance the consumer groups'
    committed offsets over them). Idempotent: a second call lands nothing. Returns rows landed."""
    path = world.pending_path
    if not path.exists():
        return 0
    pending = json.loads(path.read_text(encoding="utf-8"))
    if pending.get("landed"):
        return 0
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for item in pending["items"]:
        for r in item["rows"]:
            grouped.setdefault((r["node"], r["table"]), []).append(tuple(_decode(v) for v in r["values"]))
    nodes = {n for n, _t in grouped} | {o["node"] for o in pending["offsets"]}
    landed = 0
    for node in sorted(nodes):
        engine = open_engine(world.node_urls[node])
        try:
            with engine.begin() as conn:
                for (n, table), rows in grouped.items():
                    if n == node:
                        bulk_insert(conn, table, columns(table), rows)
                        landed += len(rows)
                quote = conn.dialect.identifier_preparer.quote
                for o in pending["offsets"]:
                    if o["node"] == node:
                        conn.execute(sa.text(
                            f"UPDATE {quote(OFFSETS_TABLE)} SET {quote('committed_offset')} = :o "
                            f"WHERE {quote('group_id')} = :g AND {quote('topic')} = :t "
                            f"AND {quote('partition')} = :p"),
                            {"o": o["committed_offset"], "g": o["group_id"], "t": o["topic"], "p": o["partition"]})
        finally:
            engine.dispose()
    pending["landed"] = True
    path.write_text(json.dumps(pending, ensure_ascii=False, indent=1), encoding="utf-8")
    return landed


# ---------------------------------------------------------------------------- sync logs

def build_incidents(catalog: Catalog, planner: FaultPlanner, start: datetime, end: datetime) -> list[Any]:
    """Incidents for the month's logs that line up with the faults: an error burst where rows
    were lost, a stall where a consumer fell behind, a restart loop, a latency spike at the peak."""
    from syncverify.sandbox.synclogs import Incident

    out: list[Incident] = []
    logged = {lc.link.id for lc in catalog.link_checks() if lc.link.kind in (LinkKind.DSG, LinkKind.KAFKA_CONSUMER)}
    for fault in planner.placed:
        spec = fault.spec
        if not fault.done or spec.link not in logged:
            continue
        window = catalog.table(spec.table).window_column
        if spec.kind == "missing" and window:
            idx = columns(spec.table).index(window)
            key = key_function(catalog, spec.table)
            times = [r[idx] for (_n, t), c in planner_rows(planner, spec.table) for r in c
                     if t == spec.table and key(r) in set(fault.keys)]
            if times:
                out.append(Incident("error_burst", spec.link, min(times) - timedelta(minutes=3),
                                    max(times) + timedelta(minutes=3), table=spec.table,
                                    extra={"code": "1406", "per_minute": 4.0, "fault": spec.id,
                                           "msg": "Data too long for column 'bz' at row 1 ({table})"}))
        elif spec.kind == "missing":
            day = start + timedelta(days=11, hours=3)
            out.append(Incident("restart_loop", spec.link, day, day + timedelta(minutes=90), table=spec.table,
                                extra={"every_minutes": 4, "reason": "apply process exited, code 137 (OOM)",
                                       "fault": spec.id}))
        elif spec.kind == "lagging_consumer":
            lag_from = end - timedelta(hours=6)
            out.append(Incident("stall", spec.link, lag_from, end - timedelta(seconds=1), table=spec.table,
                                extra={"fault": spec.id}))
    if "ZJJF-QUERY" in logged:
        day = start + timedelta(days=8)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        out.append(Incident("latency_spike_peak", "ZJJF-QUERY", day + timedelta(hours=9),
                            day + timedelta(hours=11), table="fp_fpxx", extra={"factor": 15}))
    if "ZS01" in logged:
        day = start + timedelta(days=16, hours=14)
        out.append(Incident("stall", "ZS01", day, day + timedelta(minutes=90), table="yp_ypxx"))
    return out


def planner_rows(planner: FaultPlanner, table: str) -> list[tuple[tuple[str, str], list[tuple[Any, ...]]]]:
    """Origin rows of ``table`` (the lost rows' times come from there)."""
    return [(k, rows) for k, rows in planner.origins.rows.items() if k[1] == table]


def write_logs(world: World, catalog: Catalog | None = None, incidents: list[Any] | None = None, *,
               seed: int | None = None) -> list[Path]:
    """Write the month's DSG and consumer-application logs to ``<world>/logs`` with the manifest's
    incidents, through :func:`syncverify.sandbox.synclogs.generate_month_logs`."""
    from syncverify.sandbox.synclogs import Incident, generate_month_logs

    catalog = catalog or load_catalog("checks")
    if incidents is None:
        incidents = [Incident(i["kind"], i["link"], datetime.fromisoformat(i["start"]),
                              datetime.fromisoformat(i["end"]), i.get("table"), i.get("extra") or {})
                     for i in world.manifest.get("incidents", [])]
    links = []
    for link in catalog.links.values():
        if link.kind not in (LinkKind.DSG, LinkKind.KAFKA_CONSUMER):
            continue
        tables = tuple(dict.fromkeys(t.table for t in link.tables))
        rate = 1.0 if "fp_fpxx" in tables or "yp_ypxx" in tables else 0.3
        links.append((link.id, link.kind.value, tables, rate))
    return generate_month_logs(world.logs_dir, world.manifest["month"], links, incidents,
                               seed=world.manifest["seed"] if seed is None else seed)


def drop_world(world: World, catalog_path: str | Path = "checks", **backend_options: Any) -> None:
    """Drop a services world's databases (SQLite worlds are files: delete the folder)."""
    if world.backend != "services":
        return
    backend_options.setdefault("db_prefix", world.manifest.get("db_prefix", "svw_"))
    store = ServicesBackend(**backend_options)
    try:
        store.drop(load_catalog(catalog_path).nodes.values())
    finally:
        store.dispose()


__all__ = ["World", "build_incidents", "build_world", "drop_world", "key_json", "land_in_flight", "write_logs"]
