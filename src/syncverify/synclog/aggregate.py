"""Incremental aggregation of event batches into a few small tables.

The analysis never holds the events. Each batch is folded, with numpy scatter operations
(``np.add.at`` / ``np.maximum.at``) on small integer ids, into:

* per link and minute of the month: a dense array (links x minutes) per figure;
* per link-table and hour: a dense array (link-tables x hours) per figure;
* the latency histogram per link-table, hour and bin: sparse (sorted keys and counts, merged
  again whenever the parts outgrow twice the merged size);
* per error code (link, table, code, minute) and per restart (link, minute): dictionaries, as
  these lines are rare.

Their size depends on links x tables x minutes of the month, not on the size of the logs, and
every aggregation is order-independent (sums, maxima, minima, and "first message" decided by the
line's position in the input), so partial aggregates of parallel workers merge into exactly
what one process would compute.

Latency percentiles come from log-spaced histogram bins (``LAG_BINS_PER_E`` bins per factor e,
so a percentile is exact to within about 2 %); the maximum is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from syncverify.synclog.parsers.chunk import KIND_APPLY, KIND_ERROR, KIND_RESTART, KIND_STATUS
from syncverify.synclog.parsers.stats import decode_text

LAG_BINS_PER_E = 50
COMPACT_ROWS = 100_000

_NO_BIN = 2047  # histogram bin of rows without a latency (errors)
_BIN_BITS = 11
_NONE = np.iinfo(np.int64).min  # "no value" in the max / min arrays (a log value is never it)

# per link and minute: summed counts, then maxima (null when no line of the minute has a value)
_MINUTE_SUMS = ("events", "applies", "rows", "errors", "restarts", "statuses")
_MINUTE_MAXES = ("backlog_max", "lag_max")
# per link-table and hour, over apply and error lines
_HOUR_SUMS = ("applies", "ins", "upd", "del", "batch", "errors")

# Order = (file index, batch number, row in batch): where a line is in the input. The first
# message of a group is the one with the smallest order, whichever worker read it.
Order = tuple[int, int, int]


def _numpy(column: pa.ChunkedArray | pa.Array, fill: int | None = None) -> np.ndarray:
    """An Arrow column as numpy (nulls replaced by ``fill``)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if fill is not None and column.null_count:
        column = pc.fill_null(column, fill)
    return column.to_numpy(zero_copy_only=False)


class _Dense:
    """Figures per (row id, time slot), rows added as ids appear: sums and maxima."""

    def __init__(self, width: int, sums: tuple[str, ...], maxes: tuple[str, ...] = ()) -> None:
        self.width = width
        self.rows = 0
        self.sums = {name: np.zeros((0, width), dtype=np.int64) for name in sums}
        self.maxes = {name: np.full((0, width), _NONE, dtype=np.int64) for name in maxes}

    def grow(self, rows: int) -> None:
        if rows <= self.rows:
            return
        capacity = len(next(iter(self.sums.values())))
        if rows > capacity:
            extra = max(rows, 2 * capacity, 8) - capacity
            for name, arr in self.sums.items():
                self.sums[name] = np.vstack([arr, np.zeros((extra, self.width), dtype=np.int64)])
            for name, arr in self.maxes.items():
                self.maxes[name] = np.vstack([arr, np.full((extra, self.width), _NONE, dtype=np.int64)])
        self.rows = rows

    def trim(self) -> None:
        """Drop the spare rows (before sending the arrays to another process)."""
        for table in (self.sums, self.maxes):
            for name, arr in table.items():
                table[name] = arr[: self.rows].copy()

    def add(self, flat: np.ndarray, sums: dict[str, np.ndarray], maxes: dict[str, np.ndarray]) -> None:
        """Scatter values at flat indices ``row * width + slot``."""
        for name, values in sums.items():
            np.add.at(self.sums[name].reshape(-1), flat, values)
        for name, values in maxes.items():
            np.maximum.at(self.maxes[name].reshape(-1), flat, values)

    def merge(self, other: _Dense, remap: np.ndarray) -> None:
        """Add ``other``'s rows into rows ``remap[row]`` of this one."""
        if other.rows == 0:
            return
        self.grow(int(remap.max()) + 1)
        for name, arr in other.sums.items():
            np.add.at(self.sums[name], remap, arr[: other.rows])
        for name, arr in other.maxes.items():
            np.maximum.at(self.maxes[name], remap, arr[: other.rows])


@dataclass
class _SparseCounts:
    """Counts per int64 key, kept as sorted (keys, counts) and merged as the parts grow."""

    keys: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    pending: int = 0
    compacted: int = 0

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        if len(keys) == 0:
            return
        self.keys.append(keys)
        self.counts.append(counts)
        self.pending += len(keys)
        # merge when the parts outgrow twice the merged size: memory stays bounded by the number
        # of distinct keys, and each key is re-merged only a few times
        if self.pending > max(COMPACT_ROWS, 2 * self.compacted):
            self.compact()

    def compact(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if len(self.keys) > 1:
            keys, inverse = np.unique(np.concatenate(self.keys), return_inverse=True)
            counts = np.bincount(inverse, weights=np.concatenate(self.counts), minlength=len(keys))
            self.keys, self.counts = [keys], [counts.astype(np.int64)]
        self.pending = self.compacted = len(self.keys[0])
        return self.keys[0], self.counts[0]


@dataclass
class _Group:
    """One error (or restart) group: counts, extremes and its first message."""

    count: int = 0
    batch: int = 0
    retries: int = 0
    retry_max: int = _NONE
    first_ts: int = np.iinfo(np.int64).max
    last_ts: int = _NONE
    msg_order: Order | None = None
    msg: bytes | None = None

    def fold(self, other: _Group) -> None:
        self.count += other.count
        self.batch += other.batch
        self.retries += other.retries
        self.retry_max = max(self.retry_max, other.retry_max)
        self.first_ts = min(self.first_ts, other.first_ts)
        self.last_ts = max(self.last_ts, other.last_ts)
        if other.msg_order is not None and (self.msg_order is None or other.msg_order < self.msg_order):
            self.msg_order, self.msg = other.msg_order, other.msg


@dataclass
class _Batch:
    """The numpy columns of one event batch that the aggregation reads (nulls: 0 in the counts,
    ``_NONE`` in the others)."""

    kind: np.ndarray
    ts: np.ndarray  # ms
    minute: np.ndarray  # minute of the month
    ins: np.ndarray
    upd: np.ndarray
    dele: np.ndarray
    batch: np.ndarray
    lag: np.ndarray
    backlog: np.ndarray
    retry: np.ndarray

    @classmethod
    def of(cls, events: pa.Table, m0: int) -> _Batch:
        ts = _numpy(events.column("ts").cast(pa.int64()))
        ins, upd, dele, batch = (_numpy(events.column(c), 0) for c in ("ins", "upd", "del", "batch"))
        return cls(
            kind=_numpy(events.column("kind")),
            ts=ts,
            minute=ts // 60_000 - m0,
            ins=ins,
            upd=upd,
            dele=dele,
            batch=batch,
            lag=_numpy(events.column("lag_ms"), _NONE),
            backlog=_numpy(events.column("backlog"), _NONE),
            retry=_numpy(events.column("retry"), _NONE),
        )


def _first_messages(
    events: pa.Table, keys: np.ndarray, rows: np.ndarray, order: tuple[int, int]
) -> dict[int, tuple[Order, bytes]]:
    """Per key (``keys`` of the ``rows``), the first non-null message and where it is."""
    msg = events.column("msg")
    if msg.null_count == len(msg):
        return {}
    valid = _numpy(pc.is_valid(msg))[rows]
    uniq, first, _ = _group_rows(keys[valid])
    at = rows[valid][first]
    texts = msg.take(pa.array(at)).to_pylist()
    return {int(k): ((*order, int(r)), t) for k, r, t in zip(uniq.tolist(), at.tolist(), texts, strict=True)}


def _group_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys, the first row of each and each row's group."""
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return uniq, first, inverse.reshape(-1)


class _Names:
    """Small integer ids for text values (links, tables or error codes), kept across batches."""

    def __init__(self) -> None:
        self.values: list[bytes | None] = []
        self._ids: dict[bytes | None, int] = {}

    def id(self, value: bytes | None) -> int:
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = len(self.values)
            self.values.append(value)
        return found

    def encode(self, column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(per-row code into the column's distinct values, id of each code); a batch holds few
        distinct values, so only those go through the dictionary."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        values = encoded.dictionary.to_pylist()
        ids = np.array([self.id(v) for v in values] + [self.id(None)], dtype=np.int64)
        return _numpy(encoded.indices, len(values)).astype(np.int64), ids

    def remap(self, other: _Names) -> np.ndarray:
        """This one's id of each of ``other``'s ids."""
        return np.array([self.id(v) for v in other.values] or [0], dtype=np.int64)

    def decoded(self) -> np.ndarray:
        return np.array([decode_text(v) if v is not None else None for v in self.values] or [None], dtype=object)


class Aggregator:
    """Feeds on event batches of one month; :meth:`frames` gives the merged tables (pandas,
    decoded text). Link, table and error-code texts get small integer ids (kept across batches),
    so every aggregation runs on fixed-width integers instead of text."""

    def __init__(self, time_range: tuple[int, int]) -> None:
        self.m0 = time_range[0] // 60_000
        self.n_minutes = max(1, -(-time_range[1] // 60_000) - self.m0)
        self.h0 = time_range[0] // 3_600_000
        self.n_hours = max(1, -(-time_range[1] // 3_600_000) - self.h0)
        self.links, self.tables, self.codes = _Names(), _Names(), _Names()
        self.pairs: list[tuple[int, int]] = []  # link-table id -> (link id, table id)
        self._pair_ids: dict[tuple[int, int], int] = {}
        self.minute = _Dense(self.n_minutes, _MINUTE_SUMS, _MINUTE_MAXES)  # rows: link ids
        self.hour = _Dense(self.n_hours, _HOUR_SUMS)  # rows: link-table ids
        self.lag = _SparseCounts()  # key: (link-table id * hours + hour) << 11 | bin
        self.errors: dict[tuple[int, int, int, int], _Group] = {}  # (link, table, code, minute)
        self.restarts: dict[tuple[int, int], _Group] = {}  # (link, minute)
        self._batches = 0

    # -- ids ---------------------------------------------------------------------------------

    def _pair(self, lid: int, tid: int) -> int:
        found = self._pair_ids.get((lid, tid))
        if found is None:
            found = self._pair_ids[(lid, tid)] = len(self.pairs)
            self.pairs.append((lid, tid))
        return found

    def _pair_ids_of(
        self, link: tuple[np.ndarray, np.ndarray], table: tuple[np.ndarray, np.ndarray], rows: np.ndarray
    ) -> np.ndarray:
        """Link-table id of each of ``rows``, from the batch-local codes (few distinct pairs)."""
        (lc, lids), (tc, tids) = link, table
        local = lc[rows] * len(tids) + tc[rows]
        present = np.flatnonzero(np.bincount(local, minlength=len(lids) * len(tids)))
        mapping = np.zeros(len(lids) * len(tids), dtype=np.int64)
        for p in present.tolist():
            mapping[p] = self._pair(int(lids[p // len(tids)]), int(tids[p % len(tids)]))
        return mapping[local]

    # -- adding batches ----------------------------------------------------------------------

    def add(self, events: pa.Table, file_index: int = 0) -> None:
        """Fold one event batch; ``file_index`` (position of its file in the input) orders the
        batches of parallel workers so that "first message" is the same whoever reads it."""
        self._batches += 1
        if events.num_rows == 0:
            return
        b = _Batch.of(events, self.m0)
        link = self.links.encode(events.column("link"))
        lid = link[1][link[0]]
        self._add_minutes(b, lid)
        useful = np.flatnonzero((b.kind == KIND_APPLY) | (b.kind == KIND_ERROR))
        if len(useful):
            table = self.tables.encode(pc.fill_null(events.column("table"), b""))
            self._add_hours(b, useful, self._pair_ids_of(link, table, useful))
        order = (file_index, self._batches)
        errors = np.flatnonzero(b.kind == KIND_ERROR)
        if len(errors):
            self._add_errors(events, b, lid, errors, order)
        restarts = np.flatnonzero(b.kind == KIND_RESTART)
        if len(restarts):
            self._add_restarts(events, lid[restarts], b.minute[restarts], restarts, order)

    def _add_minutes(self, b: _Batch, lid: np.ndarray) -> None:
        self.minute.grow(len(self.links.values))
        apply = b.kind == KIND_APPLY
        sums = {
            "events": np.ones(len(lid), dtype=np.int64),
            "applies": apply.astype(np.int64),
            "rows": np.where(apply, b.ins + b.upd + b.dele, 0),
            "errors": (b.kind == KIND_ERROR).astype(np.int64),
            "restarts": (b.kind == KIND_RESTART).astype(np.int64),
            "statuses": (b.kind == KIND_STATUS).astype(np.int64),
        }
        self.minute.add(lid * self.n_minutes + b.minute, sums, {"backlog_max": b.backlog, "lag_max": b.lag})

    def _add_hours(self, b: _Batch, rows: np.ndarray, lt: np.ndarray) -> None:
        """Progress and errors per link-table and hour (apply and error lines ``rows``), and
        the latency histogram."""
        self.hour.grow(len(self.pairs))
        hour = b.ts[rows] // 3_600_000 - self.h0
        apply = b.kind[rows] == KIND_APPLY
        sums = {
            "applies": apply.astype(np.int64),
            "ins": np.where(apply, b.ins[rows], 0),
            "upd": np.where(apply, b.upd[rows], 0),
            "del": np.where(apply, b.dele[rows], 0),
            "batch": np.where(apply, b.batch[rows], 0),
            "errors": (~apply).astype(np.int64),
        }
        self.hour.add(lt * self.n_hours + hour, sums, {})
        lag = b.lag[rows]
        has_lag = apply & (lag >= 0)
        if has_lag.any():
            bins = np.minimum(np.floor(np.log1p(lag[has_lag]) * LAG_BINS_PER_E), _NO_BIN - 1).astype(np.int64)
            keys = ((lt[has_lag] * self.n_hours + hour[has_lag]) << _BIN_BITS) | bins
            uniq, counts = np.unique(keys, return_counts=True)
            self.lag.add(uniq, counts.astype(np.int64))

    def _add_errors(self, events: pa.Table, b: _Batch, lid: np.ndarray, rows: np.ndarray, order: tuple[int, int]) -> None:
        sub = events.take(pa.array(rows))
        table = self.tables.encode(pc.fill_null(sub.column("table"), b""))
        code = self.codes.encode(pc.fill_null(sub.column("code"), b"UNKNOWN"))
        lid, tid, cid, minute = lid[rows], table[1][table[0]], code[1][code[0]], b.minute[rows]
        # one int64 key per group: link, table and code ids (< 2**23 each), minute of the month
        keys = (((lid << 23 | tid) << 23 | cid) << 17) | minute
        uniq, first, inverse = _group_rows(keys)
        n = len(uniq)
        retry, ts = b.retry[rows], b.ts[rows]
        retry_max = np.full(n, _NONE, dtype=np.int64)
        np.maximum.at(retry_max, inverse, retry)
        first_ts = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_ts, inverse, ts)
        last_ts = np.full(n, _NONE, dtype=np.int64)
        np.maximum.at(last_ts, inverse, ts)
        count = np.bincount(inverse, minlength=n)
        batches = np.bincount(inverse, weights=b.batch[rows], minlength=n)
        retries = np.bincount(inverse, weights=retry > 0, minlength=n)
        messages = _first_messages(sub, keys, np.arange(len(rows)), order)
        for g, (key, r) in enumerate(zip(uniq.tolist(), first.tolist(), strict=True)):
            group = _Group(
                int(count[g]), int(batches[g]), int(retries[g]), int(retry_max[g]), int(first_ts[g]), int(last_ts[g])
            )
            group.msg_order, group.msg = messages.get(key, (None, None))
            name = (int(lid[r]), int(tid[r]), int(cid[r]), int(minute[r]))
            self.errors.setdefault(name, _Group()).fold(group)

    def _add_restarts(
        self, events: pa.Table, lid: np.ndarray, minute: np.ndarray, rows: np.ndarray, order: tuple[int, int]
    ) -> None:
        keys = (lid << 17) | minute
        uniq, _, inverse = _group_rows(keys)
        count = np.bincount(inverse, minlength=len(uniq))
        messages = _first_messages(events, keys, rows, order)
        for g, key in enumerate(uniq.tolist()):
            group = _Group(count=int(count[g]))
            group.msg_order, group.msg = messages.get(key, (None, None))
            self.restarts.setdefault((key >> 17, key & 0x1FFFF), _Group()).fold(group)

    def trim(self) -> None:
        self.minute.trim()
        self.hour.trim()
        self.lag.compact()

    # -- merging -----------------------------------------------------------------------------

    def merge(self, other: Aggregator) -> None:
        """Fold another aggregator of the same month (a parallel worker's) into this one; its
        text and link-table ids are translated into this one's."""
        links, tables, codes = self.links.remap(other.links), self.tables.remap(other.tables), self.codes.remap(other.codes)
        pair_remap = np.array(
            [self._pair(int(links[lid]), int(tables[tid])) for lid, tid in other.pairs] or [0], dtype=np.int64
        )
        self.minute.merge(other.minute, links[: other.minute.rows])
        self.hour.merge(other.hour, pair_remap[: other.hour.rows])
        keys, counts = other.lag.compact()
        if len(keys):
            bins = keys & ((1 << _BIN_BITS) - 1)
            slot = keys >> _BIN_BITS
            keys = ((pair_remap[slot // other.n_hours] * self.n_hours + slot % other.n_hours) << _BIN_BITS) | bins
            order = np.argsort(keys)
            self.lag.add(keys[order], counts[order])
        for (lid, tid, cid, minute), group in other.errors.items():
            key = (int(links[lid]), int(tables[tid]), int(codes[cid]), minute)
            self.errors.setdefault(key, _Group()).fold(group)
        for (lid, minute), group in other.restarts.items():
            self.restarts.setdefault((int(links[lid]), minute), _Group()).fold(group)

    # -- output ------------------------------------------------------------------------------

    def _minute_frame(self, links: np.ndarray) -> pd.DataFrame:
        d = self.minute
        rows, slots = np.nonzero(d.sums["events"][: d.rows]) if d.rows else (np.zeros(0, np.int64),) * 2
        frame = pd.DataFrame({"link": links[rows] if len(rows) else [], "minute": slots + self.m0})
        for name in _MINUTE_SUMS[1:]:
            frame[name] = d.sums[name][rows, slots]
        for name in _MINUTE_MAXES:
            values = d.maxes[name][rows, slots]
            # like an Arrow max over nulls: no value -> NaN (float), all present -> int64
            frame[name] = np.where(values == _NONE, np.nan, values) if (values == _NONE).any() else values
        return frame

    def _hour_frames(self, links: np.ndarray, tables: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        d = self.hour
        pairs = np.array(self.pairs or [(0, 0)], dtype=np.int64).reshape(-1, 2)
        present = d.sums["applies"][: d.rows] + d.sums["errors"][: d.rows]
        rows, slots = np.nonzero(present) if d.rows else (np.zeros(0, np.int64),) * 2
        hour = pd.DataFrame(
            {
                "link": links[pairs[rows, 0]] if len(rows) else [],
                "table": tables[pairs[rows, 1]] if len(rows) else [],
                "hour": slots + self.h0,
            }
        )
        for name in _HOUR_SUMS:
            hour[name] = d.sums[name][rows, slots]
        keys, counts = self.lag.compact()
        slot = keys >> _BIN_BITS
        pair = slot // self.n_hours
        lag = pd.DataFrame(
            {
                "link": links[pairs[pair, 0]] if len(keys) else [],
                "table": tables[pairs[pair, 1]] if len(keys) else [],
                "hour": slot % self.n_hours + self.h0,
                "bin": keys & ((1 << _BIN_BITS) - 1),
                "count": counts,
            }
        )
        return hour, lag

    def _error_frame(self, links: np.ndarray, tables: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
        columns = ["link", "table", "code", "minute", "count", "batch", "retries", "retry_max", "first_ts", "last_ts", "msg"]
        rows = []
        for (lid, tid, cid, minute), g in sorted(self.errors.items()):
            retry_max = np.nan if g.retry_max == _NONE else g.retry_max
            msg = decode_text(g.msg) if g.msg is not None else None
            rows.append(
                (
                    links[lid],
                    tables[tid],
                    codes[cid],
                    minute + self.m0,
                    g.count,
                    g.batch,
                    g.retries,
                    retry_max,
                    g.first_ts,
                    g.last_ts,
                    msg,
                )
            )
        return pd.DataFrame(rows, columns=columns)

    def _restart_frame(self, links: np.ndarray) -> pd.DataFrame:
        rows = [
            (links[lid], minute + self.m0, g.count, decode_text(g.msg) if g.msg is not None else None)
            for (lid, minute), g in sorted(self.restarts.items())
        ]
        return pd.DataFrame(rows, columns=["link", "minute", "count", "msg"])

    def frames(self) -> dict[str, pd.DataFrame]:
        """minute, hour, lag, error and restart tables with decoded link, table, code and msg."""
        links, tables = self.links.decoded(), self.tables.decoded()
        hour, lag = self._hour_frames(links, tables)
        return {
            "minute": self._minute_frame(links),
            "hour": hour,
            "lag": lag,
            "error": self._error_frame(links, tables, self.codes.decoded()),
            "restart": self._restart_frame(links),
        }


def lag_bin_value(bins: np.ndarray) -> np.ndarray:
    """Upper edge (ms) of the latency histogram bins."""
    return np.expm1((bins.astype(np.float64) + 1.0) / LAG_BINS_PER_E)
