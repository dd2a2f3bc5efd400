"""``syncverify sandbox build|land`` (the embedded demo world) and ``syncverify demo`` (the monthly
job on it, end to end, scored against the injected faults)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from syncverify.errors import SyncverifyError

# sandbox.storage.BACKENDS, spelled here so that building the parser does not import SQLAlchemy
# (tests/unit/test_cli_startup.py keeps the two equal).
BACKENDS = ("sqlite", "services")


def default_world_dir() -> Path:
    return Path(os.environ.get("SYNCVERIFY_HOME", ".syncverify")) / "world"


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale {text!r} is not a number") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"scale must be in (0, 100], got {text}")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sandbox", help="the embedded demo world (synthetic invoices with injected faults)",
                              description="Build and manage the embedded sandbox world.")
    sub = p.add_subparsers(dest="sandbox_command", required=True)
    b = sub.add_parser("build", help="build one month of the world: every node, faults, manifest, logs",
                       description="Generate a month of invoice traffic along every flow of the catalog, "
                                   "inject faults, and store every node; writes manifest.json, "
                                   "connections.yaml and logs/ into the output folder.")
    b.add_argument("--backend", choices=BACKENDS, default="sqlite",
                   help="sqlite files (default) or the real PostgreSQL / MariaDB servers")
    b.add_argument("--scale", type=_scale, default=1.0, help="multiplies the volume (1.0: ~105,000 invoices)")
    b.add_argument("--seed", type=int, default=20261, help="random seed (same seed, same world)")
    b.add_argument("--month", default="2026-10", help="the month to generate, YYYY-MM")
    b.add_argument("--out", default=None, help="output folder (default $SYNCVERIFY_HOME/world)")
    b.add_argument("--catalog", default="checks", help="catalog folder (default checks)")
    b.add_argument("--no-faults", action="store_true", help="a clean world: no faults, no rows in flight")
    b.add_argument("--no-logs", action="store_true", help="skip writing the month's sync logs")
    b.add_argument("--db-prefix", default="svw_", help="database name prefix for --backend services")
    b.set_defaults(func=build_command, handler=build_command)
    land = sub.add_parser("land", help="land the rows that were in flight at build time")
    land.add_argument("--out", default=None, help="world folder (default $SYNCVERIFY_HOME/world)")
    land.set_defaults(func=land_command, handler=land_command)

    d = subparsers.add_parser("demo", help="the main job on the embedded sandbox: build, verify, tickets, reports",
                              description="Build the sandbox world, run the full monthly verification through the "
                                          "same functions the Airflow DAG calls, work the tickets, write both "
                                          "reports, and compare the findings with the injected faults.")
    d.add_argument("--backend", choices=("sqlite", "services"), default="sqlite")
    d.add_argument("--scale", type=float, default=1.0)
    d.add_argument("--seed", type=int, default=20261)
    d.add_argument("--month", default="2026-10")
    d.add_argument("--out", default="reports", help="reports folder (default: reports)")
    d.add_argument("--home", help="where the world and the store go (default: $SYNCVERIFY_HOME or .syncverify)")
    d.set_defaults(func=demo_command)


def build_command(args: argparse.Namespace) -> int:
    from syncverify.calendar import check_month
    from syncverify.sandbox.world import build_world

    check_month(args.month)   # strict YYYY-MM, one line on stderr like every --month
    out = Path(args.out) if args.out else default_world_dir()
    options: dict[str, Any] = {}
    if args.backend == "services":
        options["db_prefix"] = args.db_prefix
    elif args.db_prefix != "svw_":
        raise SyncverifyError("--db-prefix applies to --backend services only")
    world = build_world(out, backend=args.backend, scale=args.scale, seed=args.seed, month=args.month,
                        catalog_path=args.catalog, faults=not args.no_faults, logs=not args.no_logs, **options)
    m = world.manifest
    rows = sum(sum(t.values()) for t in m["counts"].values())
    kinds = sorted({f["kind"] for f in m["faults"]})
    links = sorted({f["link"] for f in m["faults"] if f["link"]})
    print(f"world {world.dir} ({world.backend}, {m['month']}, seed {m['seed']}, scale {m['scale']}): "
          f"{len(m['counts'])} nodes, {rows} rows, {len(m['faults'])} faults of {len(kinds)} kinds on "
          f"{len(links)} links, {sum(len(i['keys']) for i in m['in_flight'])} rows in flight; "
          f"built in {m['build_seconds']['total']:.1f} s", file=sys.stdout)
    print(f"connection profile: {world.connections}")
    return 0


def land_command(args: argparse.Namespace) -> int:
    from syncverify.sandbox.world import World, land_in_flight

    out = Path(args.out) if args.out else default_world_dir()
    if not (out / "manifest.json").exists():
        raise SyncverifyError(f"no sandbox world in {str(out)!r}: run `syncverify sandbox build` first")
    n = land_in_flight(World.open(out))
    print(f"landed {n} rows in flight")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from syncverify.calendar import check_month
    from syncverify.exitcodes import ExitCode
    from syncverify.sandbox.demo import run_demo

    check_month(args.month)
    outcome = run_demo(backend=args.backend, scale=args.scale, seed=args.seed, month=args.month,
                       reports=args.out, home=args.home)
    return ExitCode.OK if outcome.ok else ExitCode.DIFFERENCES
