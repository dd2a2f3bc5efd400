"""``syncverify run`` and ``syncverify schema``: ``schema check`` is a run at the schema depth (with its
tickets); ``schema gate`` is added by :mod:`syncverify.schema.cli`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from syncverify.exitcodes import ExitCode
from syncverify.schema.cli import register_gate
from syncverify.timefmt import iso_time, local_time


def _csv(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _run(args: argparse.Namespace) -> int:
    from syncverify.calendar import check_month
    from syncverify.progress import progress, wanted
    from syncverify.runner.pipeline import run_pipeline, steps
    from syncverify.runner.verify import replay_spools
    from syncverify.store import Store

    if args.month:
        check_month(args.month)   # before the store is opened or created
    store = Store(args.store)
    if args.replay_spool:
        replayed = replay_spools(store)
        print(f"replayed {len(replayed)} spooled run(s): {', '.join(replayed) or '-'}")
        return ExitCode.OK
    if not args.month:
        print("syncverify: error: --month is required (or --replay-spool)", file=sys.stderr)
        return ExitCode.ERROR
    config = _pipeline_config(args)
    with progress(wanted(args.json)) as bar:
        done = run_pipeline(config, store, progress=bar)
    summary = whole_run(done)
    out = {**summary.to_dict(), "steps": [s.name for s in steps(config)], "seconds": done.seconds,
           "finished_at": iso_time(datetime.now(UTC))}
    for name in ("quality", "sync_logs", "tickets", "reports"):
        if name in done.outputs:
            out[name] = done.outputs[name]
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        _print_run(summary, out, done)
    if summary.not_run:
        return ExitCode.ERROR
    return ExitCode.DIFFERENCES if summary.anomalies else ExitCode.OK


def _pipeline_config(args: argparse.Namespace) -> Any:
    """The whole month by default: checks, GX suites, sync logs (with --logs), tickets, reports."""
    from syncverify.runner.pipeline import PipelineConfig, Strategy

    checks_only = args.checks_only
    tickets = args.tickets if args.tickets is not None else not checks_only
    quality = args.quality if args.quality is not None else not checks_only
    reports = None if (args.no_reports or (checks_only and args.reports is None)) else (args.reports or "reports")
    return PipelineConfig(month=args.month, kind="adhoc", flows=_csv(args.flows), links=_csv(args.links),
                          tables=_csv(args.tables), depth=args.depth, profile=args.profile, catalog_path=args.catalog,
                          confirm_delay_s=args.confirm_delay, run_id=args.resume, quality=quality,
                          logs_dir=None if checks_only and args.logs is None else args.logs, tickets=tickets,
                          reports_dir=reports, lang=args.lang, strategy=Strategy(args.strategy), workers=args.workers)


def whole_run(done: Any) -> Any:
    """The run as a whole — every result it holds (link checks, traces, GX suites), earlier
    attempts' included — with what this attempt skipped and redid."""
    from syncverify.runner.verify import RunSummary

    checks = done.checks
    earlier = {r.check_id for r in checks.earlier} if checks else set()
    return RunSummary(run_id=done.run_id, status=done.outputs["finish"]["status"],
                      skipped=checks.skipped if checks else [],
                      earlier=[r for r in done.results if r.check_id in earlier],
                      results=[r for r in done.results if r.check_id not in earlier])


def _print_run(summary: Any, out: dict[str, Any], done: Any) -> None:
    resumed = f" ({out['skipped']} finished earlier, {out['redone']} run now)" if summary.skipped else ""
    print(f"run {summary.run_id}: {summary.status}; {out['checks']} checks{resumed}, {out['consistent']} consistent, "
          f"{out['anomalies']} anomalies, {len(out['not_run'])} not run")
    for result in summary.run_results:
        if result.is_anomaly or result.error:
            what = result.error or (f"missing {result.missing_count}, extra {result.extra_count}, "
                                    f"changed {result.changed_count}, duplicates {result.duplicate_count}")
            print(f"  {result.outcome.value:12} {result.check_id}: {what}")
    if "quality" in out:
        q = out["quality"]
        print(f"quality: {q.get('suites', 0)} suites, {q.get('failed_suites', 0)} failing "
              f"({q.get('failed', 0)} expectations), {len(q.get('not_run') or [])} not run")
    if "sync_logs" in out:
        s = out["sync_logs"]
        print(f"sync logs: {s['links']} links, {s['findings']} findings" if s.get("analysed")
              else f"sync logs: not analysed ({s.get('reason')}); the month's stored analysis is kept")
    else:
        print("sync logs: not analysed (no --logs); the month's stored analysis is kept")
    if "tickets" in out:
        t = out["tickets"]
        print(f"tickets: {len(t.get('tickets') or [])} opened or updated, {t.get('open', 0)} open")
    for path in (out.get("reports") or {}).get("files", []):
        if str(path).endswith(".html"):
            print(f"report: {path}")
    took = sum(done.seconds.values())
    print(f"finished {local_time(datetime.now(UTC))} (took {took:.0f} s)")


def _schema_check(args: argparse.Namespace) -> int:
    from syncverify.calendar import check_month
    from syncverify.catalog import load_catalog
    from syncverify.runner.options import Depth, RunOptions
    from syncverify.runner.verify import verify
    from syncverify.schema.check import summary_line
    from syncverify.store import Store

    check_month(args.month)
    store = Store(args.store)
    catalog = load_catalog(args.catalog)
    options = RunOptions(month=args.month, kind="schema", links=_csv(args.links), tables=_csv(args.tables),
                         depth=Depth.SCHEMA, profile=args.profile, catalog_path=args.catalog,
                         open_tickets=args.tickets)
    summary = verify(options, store, catalog=catalog)
    tickets: list[int] = []
    if args.tickets:
        from syncverify.tickets import open_or_update
        tickets = open_or_update(store, summary.results, run_id=summary.run_id, catalog=catalog)
    out: dict[str, Any] = {**summary.to_dict(), "tickets": tickets,
                           "results": [_short(r) for r in summary.results]}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"schema run {summary.run_id}: {out['checks']} checks, {out['anomalies']} with errors, "
              f"{len(out['not_run'])} not run; tickets: {len(tickets)}")
        for r in summary.results:
            if r.error:
                print(f"  not_run      {r.check_id}: {r.error}")
            elif (r.details or {}).get("findings") or (r.details or {}).get("changes"):
                print(f"  {r.outcome.value:12} {r.check_id}: {summary_line(r)}")
                for c in (r.details or {}).get("changes") or []:
                    print(f"    changed on {c['node']}: {c['column']} {c['change']} {c.get('before')} -> "
                          f"{c.get('after')} (first seen {c['first_seen']})")
    if summary.not_run:
        return ExitCode.ERROR
    return ExitCode.DIFFERENCES if summary.anomalies else ExitCode.OK


def _short(r: Any) -> dict[str, Any]:
    d = r.details or {}
    return {"check_id": r.check_id, "outcome": r.outcome.value, "error": r.error, "counts": d.get("counts"),
            "findings": d.get("findings"), "changes": d.get("changes"), "align_ddl": d.get("align_ddl")}


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="verify one month end to end: checks, GX suites, sync logs, tickets, reports",
                       description="Run the monthly verification (or a part of it) end to end — the link checks "
                                   "flow by flow, the Great Expectations suites, the sync-log analysis (--logs), "
                                   "the tickets and both monthly reports of the month's state — and record every "
                                   "result in the store. Progress is drawn on stderr when it is a terminal (not "
                                   "with --json); times are Beijing time with +08:00. Exit 0 consistent, "
                                   "1 anomalies, 2 some checks or suites did not run.")
    p.add_argument("--month", help="YYYY-MM")
    p.add_argument("--flows", help="comma-separated flow ids (F1,F3)")
    p.add_argument("--links", help="comma-separated link ids (zz11,ZS01)")
    p.add_argument("--tables", help="comma-separated table names")
    p.add_argument("--depth", choices=("count", "totals", "checksum", "diff", "schema"), default="diff",
                   help="diff (default), checksum, totals, count, or schema: column types, lengths, "
                        "nullability and keys only (reflection, no row read)")
    p.add_argument("--profile", help="connection profile name or YAML path (default: embedded)")
    p.add_argument("--catalog", default="checks")
    p.add_argument("--store", help="results store URL (default: $SYNCVERIFY_STORE_URL or the embedded SQLite)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue this run; finished checks are not redone")
    p.add_argument("--confirm-delay", type=float, help="seconds before differing keys are re-checked")
    p.add_argument("--workers", type=int, default=4, help="link checks in flight at once (default 4)")
    p.add_argument("--strategy", choices=("auto", "serial", "threads", "processes"), default="auto",
                   help="auto (default): processes (one per core) when a node is an embedded SQLite database, "
                        "whose hashing runs in Python and is GIL-bound, else threads (production databases); "
                        "or threads, processes, serial")
    p.add_argument("--quality", action=argparse.BooleanOptionalAction, default=None,
                   help="run the Great Expectations suites of the nodes checked (default: yes)")
    p.add_argument("--logs", metavar="DIR", help="sync-log folder to analyse (default: none; the month's stored "
                                                 "analysis is kept)")
    p.add_argument("--reports", metavar="DIR", help="write both monthly reports here (default: reports)")
    p.add_argument("--no-reports", action="store_true", help="do not write the reports")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="report language (default zh)")
    p.add_argument("--checks-only", action="store_true",
                   help="only the link checks and flow traces: no GX suites, tickets or reports unless asked for")
    p.add_argument("--tickets", action=argparse.BooleanOptionalAction, default=None,
                   help="open or update repair tickets for the anomalies (default: yes, no with --checks-only)")
    p.add_argument("--replay-spool", action="store_true", help="write spooled results to the store (after an outage)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run)

    p = sub.add_parser("schema", help="schema compatibility: the pre-release gate and the schema check of the links",
                       description="Compare column types, lengths, precision, nullability and keys of the copies "
                                   "a link carries (reflection only; no row is read). See docs/schema.md.")
    s = p.add_subparsers(dest="schema_command", metavar="SUBCOMMAND", required=True)

    register_gate(s)

    c = s.add_parser("check", help="the schema check of the links for a month (run --depth schema, with tickets)",
                     description="Run the schema depth over the catalog's links, record the results and the schema "
                                 "snapshots, open a ticket (with the aligning DDL) per link and table with an "
                                 "error. Exit 0 compatible, 1 errors found, 2 some checks did not run.")
    c.add_argument("--month", required=True, help="YYYY-MM (the month the snapshots are filed under)")
    c.add_argument("--links", help="comma-separated link ids")
    c.add_argument("--tables", help="comma-separated table names")
    c.add_argument("--catalog", default="checks")
    c.add_argument("--profile", help="connection profile name or YAML path (default: embedded)")
    c.add_argument("--store", help="results store URL (default: $SYNCVERIFY_STORE_URL or the embedded SQLite)")
    c.add_argument("--tickets", action=argparse.BooleanOptionalAction, default=True,
                   help="open or update tickets for schema errors (default: yes)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=_schema_check)

