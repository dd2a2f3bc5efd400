"""``syncverify run``, ``syncverify demo`` and ``syncverify airflow-pools``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from syncverify.exitcodes import ExitCode


def _csv(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _run(args: argparse.Namespace) -> int:
    from syncverify.runner import jobs
    from syncverify.runner.verify import replay_spools, verify
    from syncverify.store import Store

    store = Store(args.store)
    if args.replay_spool:
        replayed = replay_spools(store)
        print(f"replayed {len(replayed)} spooled run(s): {', '.join(replayed) or '-'}")
        return ExitCode.OK
    if not args.month:
        print("syncverify: error: --month is required (or --replay-spool)", file=sys.stderr)
        return ExitCode.ERROR
    params: dict[str, Any] = {"month": args.month, "flows": _csv(args.flows), "links": _csv(args.links),
                              "tables": _csv(args.tables), "depth": args.depth, "profile": args.profile,
                              "catalog_path": args.catalog, "run_id": args.resume, "kind": "adhoc",
                              "confirm_delay_s": args.confirm_delay}
    options = jobs.options_from(params)
    options.workers = args.workers
    summary = verify(options, store)
    out = summary.to_dict()
    if args.tickets:
        out["tickets"] = jobs.open_tickets({**params, "run_id": summary.run_id}, store=store)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"run {summary.run_id}: {summary.status}; {out['checks']} checks, {out['consistent']} consistent, "
              f"{out['anomalies']} anomalies, {len(out['not_run'])} not run")
        for result in summary.results:
            if result.is_anomaly or result.error:
                what = result.error or (f"missing {result.missing_count}, extra {result.extra_count}, "
                                        f"changed {result.changed_count}, duplicates {result.duplicate_count}")
                print(f"  {result.outcome.value:12} {result.check_id}: {what}")
    if summary.not_run:
        return ExitCode.ERROR
    return ExitCode.DIFFERENCES if summary.anomalies else ExitCode.OK


def _demo(args: argparse.Namespace) -> int:
    from syncverify.demo import run_demo

    outcome = run_demo(backend=args.backend, scale=args.scale, seed=args.seed, month=args.month,
                       reports=args.out, home=args.home)
    return ExitCode.OK if outcome.ok else ExitCode.DIFFERENCES


def _pools(args: argparse.Namespace) -> int:
    from syncverify.airflow_support import ensure_pools
    from syncverify.catalog import load_catalog

    for name, slots in ensure_pools(load_catalog(args.catalog)).items():
        print(f"{name}: {slots} slots")
    return ExitCode.OK


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="verify one month: every (link, table) of the catalog, or a selection",
                       description="Run the monthly verification (or a part of it) and record the results in the "
                                   "store. Exit 0 consistent, 1 anomalies, 2 some checks did not run.")
    p.add_argument("--month", help="YYYY-MM")
    p.add_argument("--flows", help="comma-separated flow ids (F1,F3)")
    p.add_argument("--links", help="comma-separated link ids (zz11,ZS01)")
    p.add_argument("--tables", help="comma-separated table names")
    p.add_argument("--depth", choices=("count", "totals", "checksum", "diff"), default="diff")
    p.add_argument("--profile", help="connection profile name or YAML path (default: embedded)")
    p.add_argument("--catalog", default="checks")
    p.add_argument("--store", help="results store URL (default: $SYNCVERIFY_STORE_URL or the embedded SQLite)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue this run; finished checks are not redone")
    p.add_argument("--confirm-delay", type=float, help="seconds before differing keys are re-checked")
    p.add_argument("--workers", type=int, default=4, help="link checks in flight at once (default 4)")
    p.add_argument("--tickets", action="store_true", help="open or update repair tickets for the anomalies")
    p.add_argument("--replay-spool", action="store_true", help="write spooled results to the store (after an outage)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run)

    p = sub.add_parser("demo", help="the main job on the embedded sandbox: build, verify, tickets, reports",
                       description="Build the sandbox world, run the full monthly verification through the same "
                                   "functions the Airflow DAG calls, work the tickets, write both reports, and compare "
                                   "the findings with the injected faults.")
    p.add_argument("--backend", choices=("sqlite", "services"), default="sqlite")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=20261)
    p.add_argument("--month", default="2026-10")
    p.add_argument("--out", default="reports", help="reports folder (default: reports)")
    p.add_argument("--home", help="where the world and the store go (default: $SYNCVERIFY_HOME or .syncverify)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("airflow-pools", help="create one Airflow pool per database node",
                       description="Create or resize the Airflow pools (sv_<node>) that cap concurrent checks per "
                                   "node; run after `airflow db migrate`.")
    p.add_argument("--catalog", default="checks")
    p.set_defaults(func=_pools)
