"""``syncverify synclog analyse``: a thin command over :func:`syncverify.synclog.analyse`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from syncverify.errors import SyncverifyError
from syncverify.exitcodes import ExitCode


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``synclog`` command (with its own subcommands) to the main parser."""
    parser = subparsers.add_parser("synclog", help="analyse the sync logs of the DSG links and consumers")
    sub = parser.add_subparsers(dest="synclog_command", required=True)
    p = sub.add_parser("analyse", aliases=["analyze"], help="analyse one month of logs")
    p.add_argument("--logs", required=True, type=Path, help="directory (or file) of log files")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--formats", type=Path, default=None, help="formats file (default checks/synclog.yaml)")
    p.add_argument("--out", type=Path, default=None, help="write JSON + Parquet results here")
    p.add_argument("--json", action="store_true", help="print the whole analysis as JSON")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: 2 for big inputs)")
    # the main `syncverify` command dispatches on `func`; `handler` is kept for direct callers
    p.set_defaults(func=run_analyse, handler=run_analyse)
    return parser


def run_analyse(args: argparse.Namespace) -> int:
    """Exit 0: no finding; 1: findings; 2: bad input (one line on stderr)."""
    # pandas and pyarrow load when the analysis runs, not when the parser is built.
    from syncverify.synclog.analysis import analyse
    from syncverify.synclog.formats import load_formats
    from syncverify.synclog.output import write_analysis

    try:
        formats = load_formats(args.formats)
        result = analyse(args.logs, args.month, formats, workers=args.workers)
        written = write_analysis(result, args.out) if args.out else {}
    except SyncverifyError as exc:
        print(f"syncverify: error: {exc}", file=sys.stderr)
        return int(ExitCode.ERROR)
    for warning in result.parse_stats.warnings:   # files skipped or cut short, by name
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        st = result.parse_stats
        print(
            f"{result.month}: {len(result.links)} links, {st.lines} lines, {st.events} events, "
            f"{st.malformed_total} malformed {dict(st.malformed)}, encodings {dict(st.encodings)}"
        )
        for f in result.findings:
            print(f"[{f.severity}] {f.title}\n    -> {f.action}")
        if not result.findings:
            print("no findings")
        if written:
            print(f"written: {written['json'].parent}")
    return int(ExitCode.DIFFERENCES if result.findings else ExitCode.OK)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (the ``syncverify`` command registers the same parser)."""
    parser = argparse.ArgumentParser(prog="syncverify")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
