"""``syncverify kafka backlog|volume|keys``: the Kafka checks from the command line.

A thin layer over :mod:`syncverify.kafka`: it builds a :class:`KafkaSource` and a
:class:`DbSide` from the options, runs one check and prints its result (``--json``: the
result's dict). Exit status: 0 consistent, 1 anomaly, 2 not run / bad input. Client settings
such as SASL credentials go in ``--kafka-config key=value``; they never appear in the output.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from syncverify.errors import SyncverifyError
from syncverify.exitcodes import ExitCode
from syncverify.results import CheckResult, Outcome

# The Kafka client and SQLAlchemy load when a command runs, not when the parser is built.
if TYPE_CHECKING:
    from syncverify.kafka.client import KafkaSource
    from syncverify.kafka.dbside import DbSide


def register(subparsers: Any) -> None:
    """Add ``kafka`` with its ``backlog``, ``volume`` and ``keys`` subcommands."""
    kafka = subparsers.add_parser("kafka", help="Kafka hops: consumer backlog, windowed volume, key reconciliation",
                                  description="Checks of one topic against a consumer group or a database. "
                                              "Exit status: 0 consistent, 1 anomaly, 2 not run or bad input.")
    sub = kafka.add_subparsers(dest="kafka_command", required=True)

    p = sub.add_parser("backlog", help="end offset minus the group's committed offset, per partition")
    _common(p)
    p.add_argument("--group", required=True, help="consumer group id of the consumer application")
    p.add_argument("--threshold", type=int, default=0, help="total backlog above which it is an anomaly")
    p.set_defaults(func=run_backlog)

    p = sub.add_parser("volume", help="messages in a window against rows landed in the same window")
    _common(p)
    _db(p)
    p.set_defaults(func=run_volume)

    p = sub.add_parser("keys", help="keys of a window's messages against the database's keys")
    _common(p)
    _db(p)
    p.add_argument("--key-path", required=True,
                   help="JSON path(s) of the key in the message, comma-separated (fpdm,fphm or data.fphm)")
    p.add_argument("--spill-dir", help="directory for the key spill files (default: the system temp dir)")
    p.set_defaults(func=run_keys)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", required=True, help="bootstrap servers, host:port[,host:port]")
    p.add_argument("--topic", required=True)
    p.add_argument("--kafka-config", action="append", default=[], metavar="KEY=VALUE",
                   help="extra client setting (security.protocol, sasl.mechanism, sasl.username, "
                        "sasl.password ...), repeatable")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per broker request (default 10)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", nargs=2, required=True, metavar=("START", "END"),
                   help="window [START, END), ISO datetimes ('2026-03-01' or '2026-03-01 08:00:00')")
    p.add_argument("--db-url", required=True, help="SQLAlchemy URL of the database side")
    p.add_argument("--table", required=True, help="table (schema.table allowed)")
    p.add_argument("--key", default="",
                   help="key column(s), comma-separated, in --key-path order (keys: default from --key-path)")
    p.add_argument("--window-column", required=True, help="the table's column the window applies to")
    p.add_argument("--where", help="SQL predicate on the database side (e.g. a routing rule)")
    p.add_argument("--direction", choices=("consumer", "producer"), default="consumer",
                   help="consumer: topic -> database (default); producer: database -> topic")
    p.add_argument("--window-field", help="window messages by this JSON field instead of their timestamp")
    p.add_argument("--slack", type=float, default=0.0, metavar="SECONDS",
                   help="with --window-field: read messages stamped this much beyond the window")


def _source(args: argparse.Namespace) -> KafkaSource:
    from syncverify.kafka.client import KafkaSource

    config: dict[str, str] = {}
    for item in args.kafka_config:
        if "=" not in item:
            raise SyncverifyError(f"--kafka-config {item.split('=')[0]!r} must be KEY=VALUE")
        key, value = item.split("=", 1)
        config[key.strip()] = value
    return KafkaSource(args.bootstrap, args.topic, config, args.timeout)


def _window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    try:
        start, end = (datetime.fromisoformat(v) for v in args.window)
    except ValueError as exc:
        raise SyncverifyError(f"--window: {exc}") from None
    if not start < end:
        raise SyncverifyError(f"--window start {start} is not before its end {end}")
    return start, end


def _db_side(args: argparse.Namespace) -> DbSide:
    from syncverify.compare.predicate import validate_predicate
    from syncverify.connect.engine import make_engine
    from syncverify.dialects import for_url
    from syncverify.kafka.dbside import DbSide

    schema, _, table = args.table.rpartition(".")
    keys = tuple(k.strip() for k in args.key.split(",") if k.strip())
    where = validate_predicate(args.where, "--where", for_url(args.db_url))   # parsed, checked, rendered
    return DbSide(make_engine(args.db_url, name="database"), table, keys, args.window_column,
                  where, schema or None)


def _emit(result: CheckResult, args: argparse.Namespace) -> int:
    from syncverify.masking import mask_taxpayer_ids_in_text

    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
    else:
        print(mask_taxpayer_ids_in_text(describe(result)))
    if result.outcome is Outcome.NOT_RUN:
        if not args.json:
            print(f"error: {result.error}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.DIFFERENCES if result.is_anomaly else ExitCode.OK


def describe(result: CheckResult) -> str:
    """A few lines for people: outcome, counts, per-partition backlog, key samples."""
    lines = [f"{result.check_id}: {result.outcome.value}"]
    if result.outcome is Outcome.NOT_RUN:
        lines.append(f"  not run: {result.error}")
        return "\n".join(lines)
    d = result.details
    if "total_lag" in d:
        for p in d["partitions"]:
            lines.append(f"  partition {p['partition']}: end {p['end_offset']}, committed {p['committed']}, "
                         f"lag {p['lag']}")
        lines.append(f"  total backlog {d['total_lag']} (threshold {d['threshold']})")
        return "\n".join(lines)
    lines.append(f"  source {result.source_rows}, target {result.target_rows}")
    for label, count, keys in (("missing in target", result.missing_count, result.missing_keys),
                               ("extra in target", result.extra_count, result.extra_keys),
                               ("duplicated", result.duplicate_count, result.duplicate_keys)):
        if count:
            shown = ", ".join("|".join(k) if isinstance(k, tuple) else k for k in keys[:20])
            more = f" (first {min(20, len(keys))})" if count > 20 else ""
            lines.append(f"  {label}: {count}{more}" + (f": {shown}" if shown else ""))
    return "\n".join(lines)


def run_backlog(args: argparse.Namespace) -> int:
    from syncverify.kafka.backlog import check_backlog

    return _emit(check_backlog(_source(args), args.group, threshold=args.threshold), args)


def run_volume(args: argparse.Namespace) -> int:
    from syncverify.kafka.volume import check_volume

    db = _db_side(args)
    try:
        result = check_volume(_source(args), db, _window(args), direction=args.direction,
                              window_field=args.window_field, slack=timedelta(seconds=args.slack))
    finally:
        db.engine.dispose()
    return _emit(result, args)


def run_keys(args: argparse.Namespace) -> int:
    from syncverify.kafka.reconcile import check_keys

    if not args.key:   # default: the key path's last segments name the columns
        args.key = ",".join(p.strip().rsplit(".", 1)[-1] for p in args.key_path.split(","))
    db = _db_side(args)
    try:
        result = check_keys(_source(args), db, _window(args), key_path=args.key_path,
                            direction=args.direction, window_field=args.window_field,
                            slack=timedelta(seconds=args.slack), spill_dir=args.spill_dir)
    finally:
        db.engine.dispose()
    return _emit(result, args)
