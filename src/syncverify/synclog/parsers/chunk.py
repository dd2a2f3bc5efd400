"""A chunk of log lines being parsed (:class:`Chunk`: bytes, line spans, malformed-line recording)
and the event batch every parser returns (:data:`EVENT_SCHEMA`, built by :func:`finish_batch`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from syncverify.synclog import bytescan as bs
from syncverify.synclog.parsers.stats import SAMPLES_PER_REASON, ParseStats, encoding_of, sample_text

KIND_OTHER, KIND_APPLY, KIND_ERROR, KIND_RESTART, KIND_STATUS = 0, 1, 2, 3, 4
KIND_CODES = {"apply": KIND_APPLY, "error": KIND_ERROR, "restart": KIND_RESTART, "status": KIND_STATUS}

EVENT_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ms")),  # wall-clock time as the log writes it
        ("link", pa.large_binary()),
        ("table", pa.large_binary()),
        ("kind", pa.int8()),  # KIND_* above
        ("ins", pa.int64()),
        ("upd", pa.int64()),
        ("del", pa.int64()),
        ("batch", pa.int64()),
        ("lag_ms", pa.int64()),
        ("backlog", pa.int64()),
        ("retry", pa.int64()),
        ("code", pa.large_binary()),
        ("msg", pa.large_binary()),  # error message, or the reason of a restart
    ]
)


class Chunk:
    """One chunk's bytes and line spans, with helpers to record malformed lines."""

    def __init__(self, buf: bytes, path: Path, first_line: int, stats: ParseStats) -> None:
        self.size = len(buf)
        self.raw = buf
        self.a = bs.padded(buf)
        self.starts, self.ends = bs.line_spans(self.a, self.size)
        self.path, self.first_line, self.stats = path, first_line, stats

    def has_byte(self, byte: bytes) -> bool:
        return self.raw.find(byte) >= 0

    @property
    def n(self) -> int:
        return len(self.starts)

    def line_bytes(self, i: int) -> bytes:
        return self.a[self.starts[i] : self.ends[i]].tobytes()

    def sample(self, i: int) -> str:
        return f"{self.path.name}:{self.first_line + i + 1}: {sample_text(self.line_bytes(i))}"

    def malformed(self, reason: str, mask: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if len(idx):
            self.stats.add_malformed(reason, len(idx), (self.sample(int(i)) for i in idx[:SAMPLES_PER_REASON]))

    def non_ascii_lines(self) -> np.ndarray:
        if self.raw.isascii():
            return np.zeros(0, dtype=np.int64)
        hi = np.flatnonzero(self.a[: self.size] >= 128)
        if not len(hi):
            return hi
        return np.unique(np.searchsorted(self.starts, hi, side="right") - 1)

    def count_encodings(self) -> dict[int, str]:
        """Count line encodings; returns the encoding of each non-ASCII line."""
        found = {int(i): encoding_of(self.line_bytes(int(i))) for i in self.non_ascii_lines()}
        blank = int(np.count_nonzero(self.ends <= self.starts))
        self.stats.add_encoding("ascii", self.n - len(found) - blank)
        for name in ("utf-8", "gbk", "undecodable"):
            self.stats.add_encoding(name, sum(1 for v in found.values() if v == name))
        return found


def empty_batch() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def finish_batch(
    ch: Chunk,
    keep: np.ndarray,
    ts: np.ndarray,
    kind: np.ndarray,
    cols: dict[str, pa.Array],
    time_range: tuple[int, int] | None,
) -> pa.Table:
    """Drop out-of-range lines, count, and assemble the event table of the kept lines."""
    stats = ch.stats
    if time_range is not None:
        inside = (ts >= time_range[0]) & (ts < time_range[1])
        stats.out_of_range += int(np.count_nonzero(keep & ~inside))
        keep = keep & inside
    stats.other_events += int(np.count_nonzero(keep & (kind == KIND_OTHER)))
    keep = keep & (kind != KIND_OTHER)
    stats.events += int(np.count_nonzero(keep))
    if not keep.any():
        return empty_batch()
    mask = pa.array(keep)
    arrays = [
        pa.array(ts, pa.int64()).cast(pa.timestamp("ms")),
        cols["link"],
        cols["table"],
        pa.array(kind, pa.int8()),
    ]
    arrays += [cols[f] for f in ("ins", "upd", "del", "batch", "lag_ms", "backlog", "retry")]
    arrays += [cols["code"], cols["msg"]]
    table = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
    return table if keep.all() else table.filter(mask)


def kind_from_words(event_hit: dict[str, np.ndarray], err_level: np.ndarray, has_code: np.ndarray) -> np.ndarray:
    n = len(err_level)
    kind = np.zeros(n, dtype=np.int8)
    for name, code in (("status", KIND_STATUS), ("apply", KIND_APPLY), ("error", KIND_ERROR)):
        if name in event_hit:
            kind[event_hit[name]] = code
    kind[(err_level | has_code) & (kind != KIND_STATUS)] = KIND_ERROR
    if "restart" in event_hit:  # a restart logged at ERROR level is still a restart
        kind[event_hit["restart"]] = KIND_RESTART
    return kind
