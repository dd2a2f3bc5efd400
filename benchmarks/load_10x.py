"""Load test: the monthly verification of the sandbox world at 10x the default scale on the
services backend (MariaDB + PostgreSQL), measuring per-node concurrency and peak memory.

    .venv/bin/python benchmarks/load_10x.py [--scale 10] [--month 2026-10] [--workers 8] [--keep]

Steps: build the world (``syncverify.sandbox.build_world``, databases prefixed ``svrel_load_``),
then run ``syncverify.runner.verify`` (depth diff, the whole catalog) in a child process while
the parent polls both servers every 20 ms for the verifier's active queries per node database
(PostgreSQL client backends; parallel workers of those queries are reported apart).
The child also counts checked-out connections per node engine (pool checkout/checkin events) —
the exact concurrency each node saw — and reports its peak RSS. Prints one JSON object; exits 1
if any node went above its catalog cap.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("SYNCVERIFY_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MY_ADMIN = os.environ.get("SYNCVERIFY_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
PREFIX = "svrel_load_"

CHILD = r"""
import json, sys, threading, time
import sqlalchemy as sa
from sqlalchemy import event
from syncverify.catalog import load_catalog
from syncverify.runner.options import RunOptions
from syncverify.runner.verify import verify
from syncverify.store import Store

catalog_path, profile, month, workers, store_url = sys.argv[1:6]
lock = threading.Lock()
current, peak = {}, {}

def _node(dbapi_con):
    # the node's database name (the services backend gives every node its own database)
    info = getattr(dbapi_con, "info", None)
    name = getattr(info, "dbname", None) or getattr(dbapi_con, "db", None) or b"(results store)"
    return name.decode() if isinstance(name, bytes) else str(name)

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

@event.listens_for(sa.pool.Pool, "checkout")
def _out(dbapi_con, record, proxy):
    with lock:
        n = _node(dbapi_con)
        record.info["sv_node"] = n
        current[n] = current.get(n, 0) + 1
        peak[n] = max(peak.get(n, 0), current[n])

@event.listens_for(sa.pool.Pool, "checkin")
def _in(dbapi_con, record):
    with lock:
        n = record.info.pop("sv_node", None)
        if n is not None:
            current[n] -= 1

base = hwm_mb()
t0 = time.perf_counter()
options = RunOptions(month=month, catalog_path=catalog_path, profile=profile, workers=int(workers),
                     confirm_delay_s=0, kind="monthly", open_tickets=False)
summary = verify(options, Store(store_url))
elapsed = time.perf_counter() - t0
catalog = load_catalog(catalog_path)
print(json.dumps({
    "elapsed_s": round(elapsed, 1), "summary": summary.to_dict(),
    "rows_compared": sum((r.source_rows or 0) + (r.target_rows or 0) for r in summary.results),
    "pool_peak_per_db": peak,
    "rss_base_mb": round(base, 1), "rss_peak_mb": round(hwm_mb(), 1),
}))
"""


class Watch:
    """Polls pg_stat_activity and the MariaDB processlist for active queries per database."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.peak, self.parallel_peak, self.samples = prefix, {}, {}, 0
        self.stop = threading.Event()
        self.pg = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        self.my = sa.create_engine(MY_ADMIN, isolation_level="AUTOCOMMIT")
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        with self.pg.connect() as pg, self.my.connect() as my:
            while not self.stop.is_set():
                # client backends are the verifier's queries; parallel workers are counted apart
                both = pg.execute(sa.text(
                    "SELECT datname, backend_type = 'client backend', count(*) FROM pg_stat_activity "
                    "WHERE datname LIKE :p AND state = 'active' AND pid <> pg_backend_pid() "
                    "GROUP BY datname, backend_type = 'client backend'"), {"p": self.prefix + "%"}).all()
                rows = [(db, n) for db, client, n in both if client]
                for db, client, n in both:
                    if not client:
                        self.parallel_peak[db] = max(self.parallel_peak.get(db, 0), int(n))
                rows += my.execute(sa.text(
                    "SELECT db, count(*) FROM information_schema.processlist WHERE db LIKE :p "
                    "AND command = 'Query' AND id <> CONNECTION_ID() GROUP BY db"), {"p": self.prefix + "%"}).all()
                for db, n in rows:
                    self.peak[db] = max(self.peak.get(db, 0), int(n))
                self.samples += 1
                time.sleep(0.02)

    def __enter__(self) -> Watch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.pg.dispose()
        self.my.dispose()


def run_child(catalog: str, profile: str, month: str, workers: int, store_url: str, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, catalog, profile, month, str(workers), store_url],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"verification failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--keep", action="store_true", help="keep the world's databases")
    ap.add_argument("--out", help="write the JSON result here too")
    args = ap.parse_args(argv)

    from syncverify.catalog import load_catalog
    from syncverify.sandbox import build_world, drop_world

    work = Path(tempfile.mkdtemp(prefix="svrel-load-"))
    env = {**os.environ, "SYNCVERIFY_HOME": str(work / "home")}
    t0 = time.perf_counter()
    world = build_world(work / "world", backend="services", scale=args.scale, seed=args.seed, month=args.month,
                        catalog_path=ROOT / "checks", logs=False, postgres_url=PG_ADMIN, mariadb_url=MY_ADMIN,
                        db_prefix=PREFIX)
    build_s = time.perf_counter() - t0
    try:
        rows = sum(n for tables in world.manifest["counts"].values() for n in tables.values())
        with Watch(PREFIX) as watch:
            child = run_child(str(ROOT / "checks"), str(world.connections), args.month, args.workers,
                              f"sqlite:///{work / 'results.sqlite'}", env)
        catalog = load_catalog(ROOT / "checks")
        caps_by_db = {f"{PREFIX}{n.replace('.', '_')}": node.max_concurrency for n, node in catalog.nodes.items()}
        over_db = {db: n for db, n in watch.peak.items() if n > caps_by_db.get(db, 10**6)}
        over_pool = {db: n for db, n in child["pool_peak_per_db"].items() if n > caps_by_db.get(db, 10**6)}
        result = {
            "what": f"monthly verification of the sandbox world, scale {args.scale}, services backend",
            "rows_in_world": rows, "build_s": round(build_s, 1), **child,
            "server_peak_active_queries_per_db": watch.peak, "server_samples": watch.samples,
            "server_peak_parallel_workers_per_db": watch.parallel_peak,
            "caps_per_db": caps_by_db, "over_cap_server": over_db, "over_cap_pool": over_pool,
            "parent_rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        if not args.keep:
            drop_world(world, ROOT / "checks", postgres_url=PG_ADMIN, mariadb_url=MY_ADMIN)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 1 if (over_db or over_pool) else 0


if __name__ == "__main__":
    sys.exit(main())
