"""Exact differences located by hash buckets, inside the databases.

Round 1 runs one ``GROUP BY bucket`` scan per side, both sides at once, returning (row count,
sum of hash slice 1, sum of hash slice 2) per bucket of the key's hash. Buckets whose triples
differ hold every difference. While they still hold many rows, the next round splits only those
buckets (a finer modulus that is a multiple of the coarser one, filtered by the coarse bucket
numbers). Once small, their rows travel as (key canonical text, two hash slices) in batches of
bounded size and are compared in Python. No index is needed; no ordering or range comparison is
done in the database, so collations never matter.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from syncverify.compare.buckets import MAX_RANGE_SPAN, HashLevel, KeyRanges, Level, RangeLevel
from syncverify.compare.plan import InternalKey, Pair, RangeBounds, SidePlan
from syncverify.compare.spec import CompareSpec
from syncverify.dialects import ValueKind

T = TypeVar("T")
Triple = tuple[int, ...]          # (row count, sum of slice 1[, sum of slice 2])
RowHash = tuple[int, ...]         # the row's hash slices

KINDS = ("missing", "extra", "changed", "duplicate")
_MAX_ROUNDS = 6
_MAX_SPLIT_BUCKETS = 1_000_000     # aggregate rows one refining round may return per side
_MAX_KEY_RANGES = 65_536           # key ranges of a text or composite key (aggregate rows per side)
_RANGES_PER_QUERY = 64             # UNION ALL branches per statement: fewer round trips, bounded SQL text
_RANGE_KINDS = (ValueKind.TEXT, ValueKind.INT)


@dataclass
class Findings:
    """Differences found so far: exact counts, keys held up to ``cap`` per kind."""

    cap: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    keys: dict[str, dict[InternalKey, None]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, key: InternalKey) -> None:
        held = self.keys[kind]
        if key in held:
            return
        self.counts[kind] += 1
        if len(held) < self.cap:
            held[key] = None

    def held(self, kind: str) -> list[InternalKey]:
        return list(self.keys[kind])

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class DiffStats:
    seconds: dict[str, float] = field(default_factory=lambda: {"source": 0.0, "target": 0.0})
    rows_fetched: dict[str, int] = field(default_factory=lambda: {"source": 0, "target": 0})
    queries: int = 0
    rounds: int = 0
    first_buckets: int = 0
    mismatched_buckets: int = 0
    final_modulus: int = 0
    bucketing: str = "hash"
    duplicate_scan: dict[str, bool] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)     # wall seconds per step, both sides at once

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "rows_fetched": dict(self.rows_fetched), "queries": self.queries, "rounds": self.rounds,
                "bucketing": self.bucketing, "buckets": self.first_buckets, "mismatched_buckets": self.mismatched_buckets,
                "final_modulus": self.final_modulus, "duplicate_scan": dict(self.duplicate_scan),
                "steps": {k: round(v, 3) for k, v in self.steps.items()}}


def on_both(pair: Pair, stats: DiffStats, work: Callable[[SidePlan], T], step: str) -> tuple[T, T]:
    """Run ``work`` on the source and the target concurrently; time each side, and the step
    (named, summed over repeats) as both together."""
    def timed(side: str, plan: SidePlan) -> T:
        started = time.perf_counter()
        try:
            return work(plan)
        finally:
            stats.seconds[side] += time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="syncverify-diff") as pool:
        fs = pool.submit(timed, "source", pair.source)
        ft = pool.submit(timed, "target", pair.target)
        wait([fs, ft])
    stats.steps[step] = stats.steps.get(step, 0.0) + time.perf_counter() - started
    stats.queries += 2
    return fs.result(), ft.result()


def bucket_sums(plan: SidePlan, level: Level, parent: tuple[Level, Sequence[int]] | None) -> dict[int, Triple]:
    sql, params = plan.bucket_sums_sql(level, parent)
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in plan.run(sql, params)}


def split_points(buckets: int, parts: int) -> list[range]:
    """``range(buckets)`` cut into ``parts`` contiguous pieces of nearly equal size."""
    parts = max(1, min(parts, buckets))
    return [range(buckets * i // parts, buckets * (i + 1) // parts) for i in range(parts)]


def first_sums(plan: SidePlan, level: Level, parts: int) -> dict[int, Triple]:
    """Round 1 on one side. Over key ranges, as ``parts`` concurrent queries on consecutive
    ranges (each served by the key's index): MariaDB and MySQL run a query on one thread, so one
    query per side leaves a production server's other cores idle. The side's pool caps ``parts``."""
    n = min(parts, plan.concurrency)
    if not isinstance(level, RangeLevel) or n <= 1 or any(c.nullable for c in plan.key_cols):
        # A NULL key is in no range: nullable keys are grouped by one query (bucket NULL).
        return bucket_sums(plan, level, None)
    pieces = split_points(level.buckets, n)
    with ThreadPoolExecutor(max_workers=len(pieces), thread_name_prefix="syncverify-range") as pool:
        found = list(pool.map(lambda r: bucket_sums(plan, level, (level, list(r))), pieces))
    out: dict[int, Triple] = {}
    for part in found:
        out.update(part)
    return out


def _integer(value: Any) -> int | None:
    """An integer key bound; None for no rows, or a value that is not an integer (SQLite
    columns may hold anything, and then hash buckets are used)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return int(value) if value == int(value) else None


def first_level(pair: Pair, spec: CompareSpec, stats: DiffStats) -> Level:
    """Key ranges for one integer key column (later rounds read only the differing ranges
    through the key's index), else hash buckets."""
    if pair.source.int_key:
        src, tgt = on_both(pair, stats, lambda p: p.run(*p.key_range_sql())[0], "key range")
        lows = [v for v in (_integer(src[0]), _integer(tgt[0])) if v is not None]
        highs = [v for v in (_integer(src[1]), _integer(tgt[1])) if v is not None]
        if lows and highs and max(highs) - min(lows) < MAX_RANGE_SPAN:
            stats.bucketing = "range"
            return RangeLevel.spanning(min(lows), max(highs), spec.bucket_count)
    stats.bucketing = "hash"
    return HashLevel(spec.bucket_count)


def rows_of(plan: SidePlan, rows: Iterable[Sequence[Any]]) -> dict[InternalKey, list[RowHash]]:
    out: dict[InternalKey, list[RowHash]] = defaultdict(list)
    n = len(plan.key_cols)
    for row in rows:
        out[tuple(row[:n])].append(tuple(int(v) for v in row[n:]))
    return out


def classify(src: dict[InternalKey, list[RowHash]], tgt: dict[InternalKey, list[RowHash]],
             findings: Findings, only: set[InternalKey] | None = None) -> set[InternalKey]:
    """Record the differences between two sets of fetched rows; returns the keys that agree."""
    agree = set()
    keys = only if only is not None else src.keys() | tgt.keys()
    for key in keys:
        s, t = src.get(key, []), tgt.get(key, [])
        if len(s) > 1 or len(t) > 1:
            findings.add("duplicate", key)
        if not t and s:
            findings.add("missing", key)
        elif not s and t:
            findings.add("extra", key)
        elif not s and not t:
            agree.add(key)        # gone on both sides: nothing to report
        elif set(s) != set(t):
            findings.add("changed", key)
        elif len(s) == 1 and len(t) == 1:
            agree.add(key)
    return agree


def _mismatched(src: dict[int, Triple], tgt: dict[int, Triple]) -> dict[int, int]:
    """Mismatched buckets and the rows they hold on both sides."""
    zero: Triple = (0,)
    return {b: src.get(b, zero)[0] + tgt.get(b, zero)[0]
            for b in src.keys() | tgt.keys() if src.get(b, zero) != tgt.get(b, zero)}


def _batches(buckets: dict[int, int], limit: int) -> list[list[int]]:
    out: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for b in sorted(buckets):
        if current and rows + buckets[b] > limit:
            out.append(current)
            current, rows = [], 0
        current.append(b)
        rows += buckets[b]
    if current:
        out.append(current)
    return out


def key_ranges_apply(pair: Pair) -> bool:
    """Whether a key other than one integer column can be bucketed by key ranges: every key
    column NOT NULL (a NULL is in no range) and stored as the kind it is compared as, text or
    integer, on both sides (the bounds are raw values compared in the column's own type)."""
    if pair.source.int_key:
        return False
    return all(not c.nullable and not c.is_boolean and c.kind is k and k in _RANGE_KINDS
               for plan in pair.sides for c, k in zip(plan.key_cols, plan.key_kinds, strict=True))


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _range_sums(plan: SidePlan, ranges: list[RangeBounds]) -> dict[int, Triple]:
    """Round 1 over key ranges on one side: statements of a few dozen ranges, as many at once
    as the side's pool allows (MariaDB and MySQL run each statement on one thread)."""
    def one(part: Sequence[RangeBounds]) -> dict[int, Triple]:
        sql, params = plan.range_sums_sql(part)
        return {int(r[0]): tuple(int(v) for v in r[1:]) for r in plan.run(sql, params) if r[1]}

    parts = _chunks(ranges, _RANGES_PER_QUERY)
    out: dict[int, Triple] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(plan.concurrency, len(parts))),
                            thread_name_prefix="syncverify-range") as pool:
        for found in pool.map(one, parts):
            out.update(found)
    return out


def _range_rows(plan: SidePlan, ranges: list[RangeBounds]) -> dict[InternalKey, list[RowHash]]:
    out: dict[InternalKey, list[RowHash]] = defaultdict(list)
    for part in _chunks(ranges, _RANGES_PER_QUERY):
        sql, params = plan.range_rows_sql(part)
        for key, hashes in rows_of(plan, plan.stream(sql, params)).items():
            out[key].extend(hashes)
    return out


def range_diff(pair: Pair, spec: CompareSpec, findings: Findings, stats: DiffStats) -> tuple[int, int] | None:
    """The exact diff over key ranges (:class:`~syncverify.compare.buckets.KeyRanges`); None when
    a side did not count every row exactly once in its ranges (its collation orders the sampled
    bounds differently), and hash buckets must be used instead. Nothing is recorded before that
    check passes.

    Round 1 sums each range on both sides, every range read through the key's index; then the
    rows of the differing ranges, again through the index, instead of a second scan that hashes
    every key. A key that two collations place in different ranges shows up in one batch on
    one side and in another on the other: keys seen on one side only are held until every batch
    is in, then classified together.
    """
    src_n, tgt_n = on_both(pair, stats, lambda p: int(p.run(*p.count_sql())[0][0]), "count")
    rows = src_n or tgt_n
    sampled = pair.source if src_n else pair.target
    wanted = min(_MAX_KEY_RANGES, max(1, math.ceil(rows / spec.range_rows)))
    started = time.perf_counter()
    bounds: list[tuple[Any, ...]] = []
    if wanted > 1:
        for row in sampled.run(*sampled.key_sample_sql(max(1, math.ceil(rows / wanted)))):
            if not bounds or tuple(row) != bounds[-1]:
                bounds.append(tuple(row))
    stats.steps["key sample"] = time.perf_counter() - started
    stats.queries += 1
    level = KeyRanges(tuple(bounds))
    everything = level.ranges(range(level.buckets))
    src, tgt = on_both(pair, stats, lambda p: _range_sums(p, everything), "round 1")
    if sum(v[0] for v in src.values()) != src_n or sum(v[0] for v in tgt.values()) != tgt_n:
        return None
    mismatched = _mismatched(src, tgt)
    stats.bucketing = "key ranges"
    stats.rounds, stats.first_buckets, stats.mismatched_buckets = 1, level.buckets, len(mismatched)
    stats.final_modulus = level.buckets
    one_side: tuple[dict[InternalKey, list[RowHash]], dict[InternalKey, list[RowHash]]] = ({}, {})
    for batch in _batches(mismatched, spec.fetch_limit):
        wanted_ranges = level.ranges(batch)
        s_rows, t_rows = on_both(pair, stats, lambda p, r=wanted_ranges: _range_rows(p, r),  # type: ignore[misc]
                                 "fetch rows")
        stats.rows_fetched["source"] += sum(len(v) for v in s_rows.values())
        stats.rows_fetched["target"] += sum(len(v) for v in t_rows.values())
        both = s_rows.keys() & t_rows.keys()
        classify(s_rows, t_rows, findings, only=set(both))
        for held, got in zip(one_side, (s_rows, t_rows), strict=True):
            for key in got.keys() - both:
                held.setdefault(key, []).extend(got[key])
    classify(*one_side, findings)
    return src_n, tgt_n


def bucket_diff(pair: Pair, spec: CompareSpec, findings: Findings, stats: DiffStats) -> tuple[int, int]:
    """Find every missing, extra, changed and duplicated key; returns the row count per side."""
    overlapped = False
    if spec.key_ranges and key_ranges_apply(pair):
        counted = range_diff(pair, spec, findings, stats)
        if counted is not None:
            return counted
        overlapped = True
    level = first_level(pair, spec, stats)
    if overlapped:
        stats.bucketing += " (key ranges overlapped)"
    src, tgt = on_both(pair, stats, lambda p: first_sums(p, level, spec.parallel), "round 1")
    source_rows = sum(v[0] for v in src.values())
    target_rows = sum(v[0] for v in tgt.values())
    mismatched = _mismatched(src, tgt)
    stats.rounds, stats.first_buckets, stats.mismatched_buckets = 1, level.buckets, len(mismatched)
    while mismatched:
        rows, biggest = sum(mismatched.values()), max(mismatched.values())
        widespread = len(mismatched) > level.buckets // 2     # differences everywhere: splitting won't narrow
        if rows <= spec.fetch_limit or biggest <= 2 * spec.leaf_rows or widespread or stats.rounds >= _MAX_ROUNDS:
            break
        factor = max(2, math.ceil(biggest / spec.leaf_rows))
        factor = min(factor, max(2, _MAX_SPLIT_BUCKETS // len(mismatched)))
        finer = level.finer(factor)
        if finer == level:            # one key per bucket already
            break
        parent = (level, sorted(mismatched))
        src, tgt = on_both(pair, stats, lambda p, f=finer, pa=parent: bucket_sums(p, f, pa),  # type: ignore[misc]
                           f"round {stats.rounds + 1}")
        level, mismatched = finer, _mismatched(src, tgt)
        stats.rounds += 1
    stats.final_modulus = level.buckets
    for batch in _batches(mismatched, spec.fetch_limit):
        def fetch(plan: SidePlan, b: list[int] = batch) -> dict[InternalKey, list[RowHash]]:
            sql, params = plan.rows_sql(level, b)
            return rows_of(plan, plan.stream(sql, params))

        s_rows, t_rows = on_both(pair, stats, fetch, "fetch rows")
        stats.rows_fetched["source"] += sum(len(v) for v in s_rows.values())
        stats.rows_fetched["target"] += sum(len(v) for v in t_rows.values())
        classify(s_rows, t_rows, findings)
    return source_rows, target_rows


def duplicate_scan(pair: Pair, spec: CompareSpec, findings: Findings, stats: DiffStats) -> None:
    """Keys repeated on either side, also where both sides repeat them identically (which the
    bucket sums cannot see). Skipped on a side whose unique index already forbids repeats."""
    def scan(plan: SidePlan) -> list[InternalKey]:
        wanted = spec.check_duplicates if spec.check_duplicates is not None else not plan.key_unique
        stats.duplicate_scan[plan.label] = bool(wanted)
        if not wanted:
            return []
        sql, params = plan.duplicates_sql()
        n = len(plan.key_cols)
        return [tuple(r[:n]) for r in plan.stream(sql, params)]

    src, tgt = on_both(pair, stats, scan, "duplicate scan")
    for key in [*src, *tgt]:
        findings.add("duplicate", key)


def fetch_keys(pair: Pair, keys: Sequence[InternalKey], stats: DiffStats, chunk: int = 500
               ) -> tuple[dict[InternalKey, list[RowHash]], dict[InternalKey, list[RowHash]]]:
    """Rows of the given keys on both sides (looked up in chunks; look-alikes dropped)."""
    wanted = set(keys)
    src: dict[InternalKey, list[RowHash]] = defaultdict(list)
    tgt: dict[InternalKey, list[RowHash]] = defaultdict(list)
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]

        def fetch(plan: SidePlan, part: Sequence[InternalKey] = part) -> dict[InternalKey, list[RowHash]]:
            sql, params = plan.rows_by_keys_sql(part)
            return rows_of(plan, plan.stream(sql, params))

        s, t = on_both(pair, stats, fetch, "fetch keys")
        for mine, got in ((src, s), (tgt, t)):
            for key, hashes in got.items():
                if key in wanted:
                    mine[key].extend(hashes)
    return src, tgt
