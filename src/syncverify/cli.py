"""The ``syncverify`` command: a thin layer over the Python API.

Every subcommand returns an :class:`~syncverify.exitcodes.ExitCode`. Errors on bad input print
one line on stderr (no traceback, secrets masked) and exit 2; set ``SYNCVERIFY_DEBUG=1`` to see
the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from syncverify import __version__
from syncverify.errors import SyncverifyError
from syncverify.exitcodes import ExitCode

# Areas that add their own subcommands with ``register(subparsers)``, in help order.
AREAS = (
    "syncverify.catalog.cli",      # catalog import
    "syncverify.compare.cli",      # diff
    "syncverify.runner.cli",       # run, schema check (and schema gate from schema/cli.py)
    "syncverify.sandbox.cli",      # sandbox, demo
    "syncverify.kafka.cli",        # kafka
    "syncverify.quality.cli",      # quality
    "syncverify.synclog.cli",      # synclog
    "syncverify.tickets.cli",      # tickets
    "syncverify.report.cli",       # report
    "syncverify.dagkit.cli",       # airflow-pools
)


def _topology(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog, render

    catalog = load_catalog(args.catalog)
    text = {"tree": render.as_tree, "json": render.as_json, "dot": render.as_dot}[args.format](catalog)
    print(text)
    return ExitCode.OK


def _discover(args: argparse.Namespace) -> int:
    from syncverify.catalog.discover import discover
    from syncverify.connect.engine import make_engine
    from syncverify.connect.existing import require_existing

    source = make_engine(require_existing(args.source_url), name="source")
    target = make_engine(require_existing(args.target_url), name="target")
    try:
        found = discover(source, target, schema=args.schema, target_schema=args.target_schema,
                         include=args.include, exclude=args.exclude)
    finally:
        source.dispose()
        target.dispose()
    link = None
    if args.link_id:
        if not (args.source_node and args.target_node):
            raise SyncverifyError("--link-id needs --source-node and --target-node")
        link = {"id": args.link_id, "kind": args.link_kind, "source": args.source_node, "target": args.target_node}
    text = found.to_yaml(link=link)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(found.tables)} table entries to {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return ExitCode.OK


def _connections(args: argparse.Namespace) -> int:
    from syncverify.catalog import load_catalog
    from syncverify.connect.resolve import resolve_node

    catalog = load_catalog(args.catalog)
    missing = 0
    for node in catalog.nodes.values():
        try:
            conn = resolve_node(node.id, profile=args.profile)
            print(f"{node.id:22} {conn.storage:9} {conn.describe()}  ({conn.source})")
        except SyncverifyError as exc:
            missing += 1
            print(f"{node.id:22} MISSING   {exc}")
    return ExitCode.ERROR if missing else ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncverify",
        description="Verify that e-invoice data carried between headquarters (总局) and the province (省局) "
                    "stays complete and identical.",
        epilog="Exit status: 0 consistent / done, 1 differences found, 2 error.")
    parser.add_argument("--version", action="version", version=f"syncverify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("topology", help="print the flows, links and nodes of the catalog",
                       description="Print the topology catalog (checks/*.yaml) as a tree, JSON or Graphviz dot.")
    p.add_argument("--catalog", default="checks", help="catalog folder or file (default: checks)")
    p.add_argument("--format", choices=("tree", "json", "dot"), default="tree")
    p.set_defaults(func=_topology)

    p = sub.add_parser("discover", help="generate catalog table entries from two databases",
                       description="Introspect both databases and print catalog table entries (YAML): keys "
                                   "from primary/unique keys, common columns, warnings for tables without a key.")
    p.add_argument("source_url", metavar="SOURCE_URL")
    p.add_argument("target_url", metavar="TARGET_URL")
    p.add_argument("--schema", help="source schema (and target schema unless --target-schema)")
    p.add_argument("--target-schema")
    p.add_argument("--include", action="append", metavar="PATTERN", help="table name glob (repeatable)")
    p.add_argument("--exclude", action="append", metavar="PATTERN", help="table name glob to skip (repeatable)")
    p.add_argument("--out", help="write the fragment to this file (e.g. checks/discovered_zz11.yaml)")
    p.add_argument("--link-id", help="also write a link entry carrying the tables")
    p.add_argument("--link-kind", default="dsg", choices=("dsg", "kafka-consumer", "kafka-producer", "app"))
    p.add_argument("--source-node")
    p.add_argument("--target-node")
    p.set_defaults(func=_discover)

    p = sub.add_parser("connections", help="show how every catalog node resolves to a connection",
                       description="List every node with the connection it resolves to (passwords masked).")
    p.add_argument("--catalog", default="checks")
    p.add_argument("--profile", help="connection profile name or YAML path (default: embedded)")
    p.set_defaults(func=_connections)

    for area in AREAS:
        importlib.import_module(area).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``syncverify`` command; a reader that closes the pipe early ends it quietly.

    ``syncverify … | head -1``: the next write fails with ``BrokenPipeError`` (Python ignores
    SIGPIPE). That is not an error of the command, so nothing is printed; stdout is pointed at
    /dev/null so that the interpreter's final flush cannot fail again, and the exit status is
    141 (128 + SIGPIPE), what a tool killed by SIGPIPE reports: the output was cut short, so it is
    neither "done" (0) nor a verdict (1, 2) — see :mod:`syncverify.exitcodes`.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()      # inside the try: a closed pipe may only show at the last flush
        return code
    except BrokenPipeError:
        return _closed_pipe()


def console() -> None:
    """The installed ``syncverify`` command: :func:`main` with the command's own logging.

    Its log lines go to stderr at WARNING (``SYNCVERIFY_LOG_LEVEL`` to change it) and never to
    stdout, whatever logging an imported library set up (Airflow's configures the root logger to
    print on stdout): stdout carries the results, and ``--json`` output must parse. Calling
    :func:`main` in-process (tests, other programs) leaves their logging as it is.
    """
    import logging

    logger = logging.getLogger("syncverify")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("syncverify: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    try:
        logger.setLevel(os.environ.get("SYNCVERIFY_LOG_LEVEL", "WARNING").upper())
    except ValueError:          # an unknown level name: the default, not a crash
        logger.setLevel(logging.WARNING)
    logger.propagate = False
    sys.exit(main())


def _closed_pipe() -> int:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):   # stdout is not a file (tests capturing it)
        pass
    return ExitCode.CLOSED_PIPE


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)      # --help and usage errors end here, before SQLAlchemy loads
    # Masking needs SQLAlchemy's URL parser: loaded once a command runs, not for --help.
    from syncverify.logmask import install as mask_logs
    from syncverify.masking import mask_text

    mask_logs()     # every syncverify log record (and logged traceback) masked before any handler
    try:
        return int(args.func(args))
    except BrokenPipeError:
        raise                   # not an error: main() ends quietly
    except SyncverifyError as exc:
        print(f"syncverify: error: {mask_text(str(exc))}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        print("syncverify: interrupted", file=sys.stderr)
        return ExitCode.ERROR
    except Exception as exc:
        if os.environ.get("SYNCVERIFY_DEBUG"):
            print(mask_text(traceback.format_exc()), end="", file=sys.stderr)
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"syncverify: error: {exc.__class__.__name__}: {mask_text(first)}", file=sys.stderr)
        return ExitCode.ERROR


if __name__ == "__main__":
    sys.exit(main())
