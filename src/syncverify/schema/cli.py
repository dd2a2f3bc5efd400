"""``syncverify schema gate``: the pre-release compatibility of a candidate schema.

The ``schema`` command itself and ``schema check`` (a run at the schema depth, with its tickets)
are registered by :mod:`syncverify.runner.cli`, which calls :func:`register_gate`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from syncverify.exitcodes import ExitCode


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


def register_gate(s: Any) -> None:
    """Add ``gate`` to the ``schema`` subcommands (the ``schema`` command and its ``check`` are the
    runner's: :mod:`syncverify.runner.cli`)."""
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
