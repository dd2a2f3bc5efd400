"""Key sets larger than memory: partition both sides by key hash into spill files, diff per bucket.

Each side writes its encoded keys (one line each, see :mod:`syncverify.kafka.keys`) into
``buckets`` files chosen by the key's hash; equal keys land in the same bucket on both sides, so
the diff loads one bucket pair at a time — memory is bounded by the bucket size, not the window.
The bucket count is chosen from the expected number of keys before reading
(:func:`buckets_for`). Samples of differing keys are the smallest encoded keys, so they are
deterministic and capped while the counts stay exact.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DEFAULT_BUCKET_KEYS = 100_000     # keys of one side held in memory at once (~20 MB)
MAX_BUCKETS = 4096


def buckets_for(expected_keys: int, bucket_keys: int = DEFAULT_BUCKET_KEYS) -> int:
    return max(1, min(MAX_BUCKETS, -(-max(0, expected_keys) // max(1, bucket_keys))))


class KeySpill:
    """Hash-partitioned spill files of one side's encoded keys."""

    def __init__(self, directory: Path, name: str, buckets: int) -> None:
        self.buckets = buckets
        self.paths = [directory / f"{name}-{i:04d}.keys" for i in range(buckets)]
        self._files: list[IO[str]] = []
        for path in self.paths:
            # Kept open across add() calls; close() closes them.
            self._files.append(open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 16))  # noqa: SIM115
        self.count = 0

    def add(self, key: str) -> None:
        self.count += 1
        if self.buckets == 1:
            self._files[0].write(key + "\n")
        else:
            self._files[hash(key) % self.buckets].write(key + "\n")

    def close(self) -> None:
        for f in self._files:
            f.close()

    def bucket(self, i: int) -> Counter[str]:
        text = self.paths[i].read_text(encoding="utf-8")
        counter: Counter[str] = Counter(text.split("\n"))
        counter.pop("", None)
        return counter


@dataclass
class KeyDiff:
    """Exact counts and the smallest ``cap`` keys of each kind of difference (encoded)."""

    cap: int
    left_only: int = 0            # keys on the left (the side that must be complete) only
    right_only: int = 0
    left_duplicate_keys: int = 0  # distinct keys occurring more than once on the left
    left_duplicate_surplus: int = 0
    right_duplicate_keys: int = 0
    right_duplicate_surplus: int = 0
    left_only_sample: list[str] = field(default_factory=list)
    right_only_sample: list[str] = field(default_factory=list)
    left_duplicate_sample: list[str] = field(default_factory=list)
    right_duplicate_sample: list[str] = field(default_factory=list)

    def _merge(self, name: str, keys: list[str]) -> None:
        if keys:
            setattr(self, name, heapq.nsmallest(self.cap, [*getattr(self, name), *keys]))


def diff_spills(left: KeySpill, right: KeySpill, cap: int) -> KeyDiff:
    """Compare two spills bucket by bucket."""
    if left.buckets != right.buckets:
        raise ValueError("both sides must be spilled into the same number of buckets")
    out = KeyDiff(cap=cap)
    for i in range(left.buckets):
        lkeys = left.bucket(i)
        rkeys = right.bucket(i)
        left_only = [k for k in lkeys if k not in rkeys]
        right_only = [k for k in rkeys if k not in lkeys]
        out.left_only += len(left_only)
        out.right_only += len(right_only)
        out._merge("left_only_sample", left_only)
        out._merge("right_only_sample", right_only)
        for counter, prefix in ((lkeys, "left"), (rkeys, "right")):
            dups = [k for k, n in counter.items() if n > 1]
            if dups:
                setattr(out, f"{prefix}_duplicate_keys", getattr(out, f"{prefix}_duplicate_keys") + len(dups))
                surplus = sum(counter[k] - 1 for k in dups)
                setattr(out, f"{prefix}_duplicate_surplus", getattr(out, f"{prefix}_duplicate_surplus") + surplus)
                out._merge(f"{prefix}_duplicate_sample", dups)
        del lkeys, rkeys
    return out


class SpillDirectory:
    """A temporary directory for the spill files of one check, removed on exit."""

    def __init__(self, parent: str | Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="syncverify-keys-", dir=parent))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
