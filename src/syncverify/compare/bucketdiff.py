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

from syncverify.compare.buckets import MAX_RANGE_SPAN, HashLevel, Level, RangeLevel
from syncverify.compare.plan import InternalKey, Pair, SidePlan
from syncverify.compare.spec import CompareSpec

T = TypeVar("T")
Triple = tuple[int, ...]          # (row count, sum of slice 1[, sum of slice 2])
RowHash = tuple[int, ...]         # the row's hash slices

KINDS = ("missing", "extra", "changed", "duplicate")
_MAX_ROUNDS = 6
_MAX_SPLIT_BUCKETS = 1_000_000     # aggregate rows one refining round may return per side


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


def bucket_diff(pair: Pair, spec: CompareSpec, findings: Findings, stats: DiffStats) -> tuple[int, int]:
    """Find every missing, extra, changed and duplicated key; returns the row count per side."""
    level = first_level(pair, spec, stats)
    src, tgt = on_both(pair, stats, lambda p: bucket_sums(p, level, None), "round 1")
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
