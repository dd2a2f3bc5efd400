"""``syncverify quality``: run Great Expectations suites on one node's tables for a month."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from syncverify.errors import SyncverifyError
from syncverify.exitcodes import ExitCode


def month_window(text: str) -> tuple[datetime, datetime]:
    """``2026-10`` -> (2026-10-01 00:00, 2026-11-01 00:00); strict, as every ``--month``."""
    from syncverify.calendar import month_window

    return month_window(text)


def register(subparsers: Any) -> None:
    """Add the ``quality`` subcommand to the ``syncverify`` parser."""
    p = subparsers.add_parser(
        "quality", help="run Great Expectations suites on a node's tables",
        description="Validate a node's tables with the suites in expectations/ for one month, inside the "
                    "database. Exit status: 0 all passed, 1 an expectation failed, 2 a suite could not run.")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--node", help="catalog node id, e.g. gx.query_db (connection from the profile)")
    target.add_argument("--url", help="SQLAlchemy database URL instead of a node")
    p.add_argument("--suite", action="append", metavar="NAME",
                   help="suite name or JSON path (repeatable; default: every suite whose table is on the node)")
    p.add_argument("--month", help="YYYY-MM window on each suite's window column (default: whole table)")
    p.add_argument("--table", help="physical table name (only with a single --suite)")
    p.add_argument("--schema", help="database schema of the tables")
    p.add_argument("--suites-dir", default="expectations", help="folder of the suite files (default: expectations)")
    p.add_argument("--profile", help="connection profile for --node")
    p.add_argument("--samples", type=int, default=5, help="masked sample keys per failed rule (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _suites_for(engine: Any, args: argparse.Namespace) -> list[str]:
    import sqlalchemy as sa

    from syncverify.quality.suites import available_suites, load_suite, suite_path

    if args.suite:
        return list(args.suite)
    names = available_suites(args.suites_dir)
    if not names:
        raise SyncverifyError(f"no suite files in {args.suites_dir}")
    inspector = sa.inspect(engine)
    present = []
    for name in names:
        try:
            table = load_suite(suite_path(name, args.suites_dir)).table
        except SyncverifyError:
            present.append(name)       # run it anyway: its result records the broken file
            continue
        if inspector.has_table(table, schema=args.schema):
            present.append(name)
    if not present:
        raise SyncverifyError("none of the suites' tables is on this database")
    return present


def run(args: argparse.Namespace) -> int:
    """Handler of ``syncverify quality``."""
    from syncverify.quality.model import SuiteStatus, to_check_results
    from syncverify.quality.runner import read_only_engine, run_suite

    window = month_window(args.month) if args.month else None
    if args.table and (not args.suite or len(args.suite) != 1):
        raise SyncverifyError("--table needs exactly one --suite")
    if args.url:
        from syncverify.connect.existing import require_existing

        engine = read_only_engine(require_existing(args.url))
        owned = True
    else:
        from syncverify.connect.resolve import engine_for_node

        engine = engine_for_node(args.node, profile=args.profile)
        owned = False
    try:
        results = [run_suite(engine, args.table, s, window=window, sample_keys=args.samples, schema=args.schema,
                             suites_dir=args.suites_dir) for s in _suites_for(engine, args)]
    finally:
        if owned:
            engine.dispose()

    node = args.node or "url"
    if args.json:
        print(json.dumps({
            "node": node, "month": args.month,
            "suites": [r.to_dict() for r in results],
            "check_results": [c.to_dict() for r in results for c in to_check_results(r, node)],
        }, ensure_ascii=False, default=str, indent=1))
    else:
        for r in results:
            _print_text(r, node)
    if any(r.status in (SuiteStatus.NOT_RUN, SuiteStatus.INCOMPLETE) for r in results):
        return ExitCode.ERROR
    if any(r.status is SuiteStatus.FAILED for r in results):
        return ExitCode.DIFFERENCES
    return ExitCode.OK


def _print_text(r: Any, node: str) -> None:
    from syncverify.quality.model import ExpectationStatus

    window = f" {r.window_column} in [{r.window_start:%Y-%m-%d}, {r.window_end:%Y-%m-%d})" if r.window_start else ""
    head = f"{r.suite:15} {r.table}@{node}{window}: {r.status.value.upper()}"
    if r.row_count is not None:
        head += f", {r.row_count} rows"
    if r.expectations:
        head += (f", {r.count(ExpectationStatus.PASSED)} passed, {r.count(ExpectationStatus.FAILED)} failed"
                 f", {r.count(ExpectationStatus.SKIPPED)} skipped, {r.seconds:.1f}s")
    print(head)
    if r.error:
        print(f"  error: {r.error}")
    for e in r.expectations:
        if e.status is ExpectationStatus.PASSED:
            continue
        line = f"  {e.status.value:7} #{e.index + 1} {e.rule}"
        if e.unexpected_count:
            line += f": {e.unexpected_count} of {e.element_count} rows"
        if e.sample_keys:
            line += "; e.g. " + ", ".join("/".join(k) if isinstance(k, tuple) else k for k in e.sample_keys)
        if e.reason:
            line += f" ({e.reason})"
        print(line)
