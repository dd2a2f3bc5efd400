"""How rows are partitioned into buckets for the exact diff: by a hash of the key, or by key range.

A level of bucketing spells two things on each side: the bucket number of a row, and a filter
that keeps only the rows of given buckets. Both sides of a comparison use the same level, so a
row has the same bucket number on both whatever the database.

* :class:`HashLevel` (any key): the key's hash modulo M. Collation-free and index-free; a finer
  level multiplies M, so each coarse bucket splits. Selecting some buckets costs a full scan
  that computes the key hash.
* :class:`RangeLevel` (one integer key column on both sides): ``(key - low) DIV width``. Still
  collation-free (integers only), and selecting buckets becomes key ranges that an index on
  the key (a primary key, typically) serves without reading the rest of the table: the rounds
  after the first scan read only the differing ranges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Level (the protocol a SidePlan buckets by) lives beside SidePlan: plan.py needs nothing from here.
from syncverify.compare.plan import Level, RangeBounds, SidePlan

__all__ = ["MAX_RANGE_SPAN", "HashLevel", "KeyRanges", "Level", "RangeLevel"]

# Key spans wider than this use hash buckets: (key - low) must not overflow a signed BIGINT.
MAX_RANGE_SPAN = 2**62



@dataclass(frozen=True)
class HashLevel:
    modulus: int

    @property
    def buckets(self) -> int:
        return self.modulus

    def bucket_expr(self, plan: SidePlan) -> str:
        return plan.dialect.bucket(plan.key_hash(), self.modulus)

    def within(self, plan: SidePlan, buckets: Sequence[int]) -> str:
        return f"{self.bucket_expr(plan)} IN ({', '.join(str(int(b)) for b in buckets)})"

    def finer(self, factor: int) -> HashLevel:
        return HashLevel(self.modulus * factor)


@dataclass(frozen=True)
class RangeLevel:
    low: int       # the smallest key on either side
    high: int      # the largest key on either side
    width: int     # keys per bucket

    @property
    def buckets(self) -> int:
        return (self.high - self.low) // self.width + 1

    @classmethod
    def spanning(cls, low: int, high: int, buckets: int) -> RangeLevel:
        return cls(low, high, max(1, math.ceil((high - low + 1) / max(1, buckets))))

    def bucket_expr(self, plan: SidePlan) -> str:
        d = plan.dialect
        return d.int_div(f"({d.int64(plan.col(plan.key_cols[0]))} - {self.low})", self.width)

    def within(self, plan: SidePlan, buckets: Sequence[int]) -> str:
        ranges = [(self.low + first * self.width, self.low + (last + 1) * self.width)   # end exclusive
                  for first, last in runs(buckets)]
        return plan.dialect.in_ranges(plan.col(plan.key_cols[0]), ranges)

    def finer(self, factor: int) -> RangeLevel:
        return RangeLevel(self.low, self.high, max(1, self.width // factor))


@dataclass(frozen=True)
class KeyRanges:
    """Text and composite keys: ranges between boundary keys sampled in one side's index order.

    Range ``i`` holds the keys ``>= bounds[i - 1]`` and ``< bounds[i]`` (the first and the last
    range are open), compared by each database in the key columns' own collation, so that the
    key's index serves every range. Two databases may order some keys differently (a
    case-insensitive MySQL collation against PostgreSQL's byte order): a row may then sit in
    another range on each side, which costs a fetch, never a wrong answer, as long as each side
    counts every row exactly once; the engine checks that with an exact count per side and falls
    back to hash buckets otherwise (see ``bucketdiff.range_diff``).
    """

    bounds: tuple[tuple[Any, ...], ...]

    @property
    def buckets(self) -> int:
        return len(self.bounds) + 1

    def ranges(self, indices: Sequence[int]) -> list[RangeBounds]:
        """(range number, lower bound or None, upper bound or None) of the given ranges."""
        last = len(self.bounds)
        return [(i, self.bounds[i - 1] if i > 0 else None, self.bounds[i] if i < last else None) for i in indices]


def runs(buckets: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive bucket numbers merged: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for b in sorted(set(int(x) for x in buckets)):
        if out and b == out[-1][1] + 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((b, b))
    return out
