"""Per-row costs of each check depth, per database, and one side's load: the inputs of docs/capacity.md.

Builds the invoice table of ``benchmarks/diff_vs_reladiff.py`` (N rows, default 1,000,000; a copy
with under 0.01 % of its rows changed) in MariaDB and PostgreSQL, then times, in-process:

* ``count``    ``count_rows`` (COUNT(*) per side),
* ``totals``   ``business_totals`` over the amounts by day (kprq),
* ``checksum`` ``checksum`` (one GROUP BY bucket scan per side, hashes summed),
* ``diff``     ``diff_tables`` (integer key; the exact diff),
* ``empty``    ``diff_tables`` over a window holding no row (kprq in 2030): what one check costs
               whatever its size (reflection, connections, the queries' round trips), the
               price of each hourly window,

for each database compared with itself and for MariaDB -> PostgreSQL, and, for the diff on each
database, how many queries one side ran at once (the pool cap) and how many rows per second it
read. Prints one line per (depth, pair) with seconds, microseconds per row (wall, both sides at
once), rows per second, and a JSON line each.

    .venv/bin/python benchmarks/capacity_rates.py                 # 1M rows
    .venv/bin/python benchmarks/capacity_rates.py --rows 200000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diff_vs_reladiff as bench  # the table builder shared with the diff benchmark

from syncverify.compare import CompareSpec, TableRef, business_totals, checksum, count_rows, diff_tables
from syncverify.connect.engine import make_engine

DEPTHS = ("count", "totals", "checksum", "diff", "empty")


def run(depth: str, src: TableRef, tgt: TableRef) -> tuple[float, dict]:
    key = ["id"]
    columns = [c for c in bench.ALL_COLUMNS if c != "id"]
    started = time.perf_counter()
    if depth == "count":
        result = count_rows(src, tgt, CompareSpec(key=key))
    elif depth == "totals":
        result = business_totals(src, tgt, CompareSpec(key=key, window_column="kprq", totals=["je", "se", "jshj"],
                                                       window_start=datetime(2024, 1, 1),
                                                       window_end=datetime(2024, 3, 1)))
    elif depth == "checksum":
        result = checksum(src, tgt, CompareSpec(key=key, columns=columns))
    elif depth == "empty":
        result = diff_tables(src, tgt, CompareSpec(key=key, columns=columns, window_column="kprq",
                                                   window_start=datetime(2030, 1, 1), window_end=datetime(2030, 1, 2)))
    else:
        result = diff_tables(src, tgt, CompareSpec(key=key, columns=columns))
    return time.perf_counter() - started, result.details or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", default="mariadb:mariadb,postgresql:postgresql,mariadb:postgresql")
    parser.add_argument("--max-concurrency", type=int, default=4, help="pool cap per database (default 4)")
    args = parser.parse_args()
    pairs = [tuple(p.split(":")) for p in args.pairs.split(",")]
    kinds = sorted({k for p in pairs for k in p})
    tag = f"svcap_{os.getpid()}"
    urls: dict[str, tuple[str, str]] = {}
    try:
        for kind in kinds:
            urls[kind] = (bench.create_db(kind, f"{tag}_s"), bench.create_db(kind, f"{tag}_t"))
            bench.build(kind, urls[kind][0], args.rows, "inv_src", mutate=False)
            bench.build(kind, urls[kind][1], args.rows, "inv_tgt", mutate=True)
        print(f"rows={args.rows:,} pool cap={args.max_concurrency}")
        print(f"{'depth':9} {'pair':24} {'seconds':>8} {'us/row':>7} {'rows/s (per side)':>18}")
        for a, b in pairs:
            engines = [make_engine(urls[a][0], max_concurrency=args.max_concurrency),
                       make_engine(urls[b][1], max_concurrency=args.max_concurrency)]
            src, tgt = TableRef(engines[0], "inv_src"), TableRef(engines[1], "inv_tgt")
            for depth in DEPTHS:
                run(depth, src, tgt)                    # warm: buffer pools, connections
                seconds, details = run(depth, src, tgt)
                rate = args.rows / seconds
                print(f"{depth:9} {a + '->' + b:24} {seconds:8.2f} {seconds * 1e6 / args.rows:7.2f} {rate:18,.0f}",
                      flush=True)
                print(json.dumps({"depth": depth, "pair": f"{a}->{b}", "rows": args.rows, "seconds": round(seconds, 3),
                                  "us_per_row": round(seconds * 1e6 / args.rows, 3), "rows_per_s": round(rate),
                                  "pool_cap": args.max_concurrency,
                                  "steps": details.get("steps"), "queries": details.get("queries"),
                                  "side_seconds": details.get("seconds")}), flush=True)
            for e in engines:
                e.dispose()
    finally:
        for kind in urls:
            bench.drop_db(kind, f"{tag}_s")
            bench.drop_db(kind, f"{tag}_t")


if __name__ == "__main__":
    main()
