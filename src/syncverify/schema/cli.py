"""``syncverify schema gate`` (pre-release compatibility) and ``syncverify schema check`` (the
schema depth of a run, with its tickets)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from syncverify.exitcodes import ExitCode


def _csv(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _gate(args: argparse.Namespace) -> int:
    from syncverify.schema.gate import release_gate

    report = release_gate(args.candidate, args.node, catalog_path=args.catalog, profile=args.profile)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return report.exit_code
    verdict = {ExitCode.OK: "compatible", ExitCode.DIFFERENCES: "BREAKING",
               ExitCode.ERROR: "not checked completely"}[report.exit_code]
    print(f"schema gate for {report.node} ({report.candidate}): {verdict}; {len(report.results)} link checks")
    for b in report.breaking:
        print(f"  error  {b['check']}: {b['column']} {b['what']}: {b.get('source')} -> {b.get('target')}")
    for r in report.results:
        for f in (r.details or {}).get("findings") or []:
            if f.get("severity") == "warning":
                print(f"  warn   {r.check_id}: {f['column']} {f['what']}: {f.get('source')} -> {f.get('target')}")
        for statement in (r.details or {}).get("align_ddl") or []:
            print(f"  ddl    {r.check_id}: {statement}")
    for r in report.not_run:
        print(f"  not run {r.check_id}: {r.error}")
    for s in report.skipped:
        print(f"  skipped {s}")
    return report.exit_code


def _check(args: argparse.Namespace) -> int:
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
    p = sub.add_parser("schema", help="schema compatibility: the pre-release gate and the schema check of the links",
                       description="Compare column types, lengths, precision, nullability and keys of the copies "
                                   "a link carries (reflection only; no row is read). See docs/schema.md.")
    s = p.add_subparsers(dest="schema_command", metavar="SUBCOMMAND", required=True)

    g = s.add_parser("gate", help="check a candidate schema (DDL file or database URL) against every link of a node",
                     description="Compare a release's schema of one node with the live copies at the other end of "
                                 "every link the node feeds or is fed by. Exit 0 compatible, 1 breaking changes "
                                 "(listed), 2 a side could not be read.")
    g.add_argument("--candidate", required=True, metavar="FILE_OR_URL",
                   help="DDL file of CREATE TABLE statements (read in the node's dialect) or a pre-production "
                        "database URL")
    g.add_argument("--node", help="the catalog node the candidate is for (default: the one node holding every "
                                  "table the DDL defines)")
    g.add_argument("--catalog", default="checks", help="catalog folder or file (default: checks)")
    g.add_argument("--profile", help="connection profile for the live sides (default: embedded)")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=_gate)

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
    c.set_defaults(func=_check)

