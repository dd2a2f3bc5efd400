"""``syncverify diff``: ad-hoc exact comparison of one table between two databases.

A thin layer over :func:`syncverify.compare.diff_tables`. Exit status 0 consistent, 1 differences,
2 error (one line on stderr, credentials masked). A key that repeats on either side is an error
unless ``--allow-duplicates`` reports repeats as differences.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from syncverify.compare.spec import ROW_HASHES, CompareSpec
from syncverify.errors import KeyNotUniqueError, SyncverifyError
from syncverify.exitcodes import ExitCode
from syncverify.results import Key, key_to_json

# The engine (SQLAlchemy, the dialects, sqlglot) loads when the diff runs, not when the parser
# is built: `syncverify --help` and `syncverify diff --help` stay fast.
if TYPE_CHECKING:
    from syncverify.results import CheckResult

SHOWN_KEYS = 10


def _list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise SyncverifyError(f"empty column list {text!r}")
    return items


def _column_map(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        for pair in item.split(","):
            if not pair.strip():
                continue
            if "=" not in pair:
                raise SyncverifyError(f"--column-map entry {pair!r} must be SOURCE_COLUMN=TARGET_COLUMN")
            a, b = (p.strip() for p in pair.split("=", 1))
            out[a] = b
    return out


def register(subparsers: Any) -> None:
    """Add the ``diff`` subcommand to the ``syncverify`` command."""
    p = subparsers.add_parser(
        "diff", help="exact differences of one table between two databases",
        description="Compare one table between two databases inside the databases (hash buckets): "
                    "keys missing in the target, extra in the target, changed, and repeated keys. "
                    "Exit status: 0 consistent, 1 differences, 2 error.")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source_url", metavar="SOURCE_URL", help="SQLAlchemy URL of the source database")
    p.add_argument("target_url", metavar="TARGET_URL", help="SQLAlchemy URL of the target database")
    p.add_argument("--table", required=True, help="table (schema.table allowed) on the source")
    p.add_argument("--target-table", help="table on the target (default: --table)")
    p.add_argument("--key", required=True, help="key column(s), comma-separated for a composite key")
    p.add_argument("--columns", help="compared columns (default: all columns common to both sides)")
    p.add_argument("--exclude-columns", help="columns never compared")
    p.add_argument("--column-map", action="append", metavar="SRC=TGT",
                   help="renamed columns, source=target (repeatable or comma-separated)")
    p.add_argument("--where", help="SQL predicate applied on both sides")
    p.add_argument("--source-where", help="SQL predicate on the source only (e.g. a routing rule)")
    p.add_argument("--target-where", help="SQL predicate on the target only")
    p.add_argument("--float-digits", type=int, default=12, help="significant digits of floats (default 12)")
    p.add_argument("--timestamp-precision", type=int, default=0,
                   help="fractional second digits compared (default 0: whole seconds)")
    p.add_argument("--bucket-count", type=int, default=4096, help="first-level hash buckets (default 4096)")
    p.add_argument("--hash-slices", type=int, choices=(1, 2), default=1,
                   help="60-bit hash slices summed per bucket (default 1; 2 makes a missed difference "
                        "even less likely than 2**-60 per bucket, at about twice the cost)")
    p.add_argument("--row-hash", choices=ROW_HASHES, default="auto",
                   help="auto (default): a native hash both databases share and agree on (PostgreSQL to "
                        "PostgreSQL), else SHA-256; sha256: always SHA-256")
    p.add_argument("--confirm-delay", type=float, default=0, metavar="SECONDS",
                   help="re-check differing keys after this delay; converged keys are in flight")
    p.add_argument("--allow-duplicates", action="store_true",
                   help="report repeated keys as differences instead of failing")
    p.add_argument("--key-ranges", action=argparse.BooleanOptionalAction, default=False,
                   help="text and composite keys: bucket by key ranges sampled from one side, each read through "
                        "the key's index, as concurrent queries (default: off, hash buckets)")
    p.add_argument("--parallel", type=int, default=4,
                   help="concurrent key-range queries per database in the first round (default 4; at most "
                        "--max-concurrency)")
    p.add_argument("--max-concurrency", type=int, default=4, help="connections per database (default 4)")
    p.add_argument("--statement-timeout", type=float, default=300, metavar="SECONDS")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _keys(keys: list[Key]) -> list[Any]:
    return [key_to_json(k) for k in keys]


def as_json(result: CheckResult) -> dict[str, Any]:
    """The JSON of ``syncverify diff --json`` (docs/compare.md: the differences, duplicates and in-flight keys)."""
    return {
        "consistent": result.differences == 0,
        "source_rows": result.source_rows,
        "target_rows": result.target_rows,
        "missing_in_target": _keys(result.missing_keys),
        "extra_in_target": _keys(result.extra_keys),
        "changed": _keys(result.changed_keys),
        "duplicates": _keys(result.duplicate_keys),
        "in_flight": _keys(result.in_flight_keys),
        "counts": {"missing_in_target": result.missing_count, "extra_in_target": result.extra_count,
                   "changed": result.changed_count, "duplicates": result.duplicate_count,
                   "in_flight": result.in_flight_count},
        "stats": result.details,
    }


def _show(keys: list[Key]) -> str:
    def one(k: Key) -> str:
        return "(" + ", ".join(k) + ")" if isinstance(k, tuple) else k
    shown = ", ".join(one(k) for k in keys[:SHOWN_KEYS])
    return shown + (", ..." if len(keys) > SHOWN_KEYS else "")


def as_text(result: CheckResult, args: argparse.Namespace) -> str:
    from syncverify.connect.engine import redacted

    target_table = args.target_table or args.table
    lines = [
        f"source  {redacted(args.source_url)}  {args.table}: {result.source_rows} rows",
        f"target  {redacted(args.target_url)}  {target_table}: {result.target_rows} rows",
    ]
    for label, count, keys in (("missing in target", result.missing_count, result.missing_keys),
                               ("extra in target", result.extra_count, result.extra_keys),
                               ("changed", result.changed_count, result.changed_keys),
                               ("duplicate keys", result.duplicate_count, result.duplicate_keys),
                               ("in flight", result.in_flight_count, result.in_flight_keys)):
        lines.append(f"{label:18} {count:>10}" + (f"  {_show(keys)}" if keys else ""))
    verdict = "consistent" if result.differences == 0 else f"INCONSISTENT: {result.differences} differences"
    lines.append(f"result: {verdict} ({result.details.get('elapsed_s')} s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from syncverify.compare.engine import diff_tables
    from syncverify.compare.spec import TableRef
    from syncverify.connect.engine import make_engine
    from syncverify.connect.existing import require_existing

    try:
        spec = CompareSpec(
            key=_list(args.key) or [], columns=_list(args.columns),
            exclude_columns=_list(args.exclude_columns) or [],
            float_digits=args.float_digits, timestamp_precision=args.timestamp_precision,
            where=args.where, source_where=args.source_where, target_where=args.target_where,
            bucket_count=args.bucket_count, hash_slices=args.hash_slices,
            row_hash=args.row_hash, parallel=args.parallel, key_ranges=args.key_ranges)
        spec.canon  # noqa: B018 - validates the digits and precision
    except ValueError as exc:
        raise SyncverifyError(f"bad option: {exc}") from None
    require_existing(args.source_url)   # a mistyped SQLite path is an error, not a new file
    require_existing(args.target_url)
    from syncverify.progress import progress, wanted

    # A large diff takes half a minute: a spinner on stderr names the step (terminal only).
    with progress(wanted(getattr(args, "json", False))) as bar:
        bar.step("connecting to source and target")
        source = make_engine(args.source_url, name="source", max_concurrency=args.max_concurrency,
                             statement_timeout_s=args.statement_timeout)
        target = make_engine(args.target_url, name="target", max_concurrency=args.max_concurrency,
                             statement_timeout_s=args.statement_timeout)
        try:
            confirm = f", confirming after {args.confirm_delay:g} s" if args.confirm_delay else ""
            bar.step(f"comparing {args.table}: counts, bucket hashes, differing keys{confirm}")
            result = diff_tables(
                TableRef(source, args.table, label="source"),
                TableRef(target, args.target_table or args.table, columns_map=_column_map(args.column_map),
                         label="target"),
                spec, confirm_delay_s=args.confirm_delay, key_sample_cap=spec.key_cap)
        finally:
            source.dispose()
            target.dispose()
    if result.duplicate_count and not args.allow_duplicates:
        raise KeyNotUniqueError(
            f"key ({', '.join(spec.key)}) is not unique: {result.duplicate_count} key(s) repeat in "
            f"{args.table} or {args.target_table or args.table} (e.g. {_show(result.duplicate_keys[:3])}); "
            "pass --allow-duplicates to report them as differences")
    if args.json:
        print(json.dumps(as_json(result), ensure_ascii=False, default=str))
    else:
        print(as_text(result, args))
    return ExitCode.OK if result.differences == 0 else ExitCode.DIFFERENCES


def main(argv: Sequence[str] | None = None) -> int:
    """``syncverify diff`` on its own (tests, ``python -m syncverify.compare.cli``)."""
    parser = argparse.ArgumentParser(prog="syncverify diff")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except SyncverifyError as exc:
        from syncverify.masking import mask_text

        print(f"syncverify: error: {mask_text(str(exc))}", file=sys.stderr)
        return ExitCode.ERROR


if __name__ == "__main__":
    sys.exit(main())
