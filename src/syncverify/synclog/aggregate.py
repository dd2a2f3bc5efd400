"""Incremental aggregation of event batches into a few small tables.

The analysis never holds the events: each batch is grouped (Arrow hash aggregation) into
per-minute, per-hour and per-error-class partial tables, which are merged again whenever they
grow. Their size depends on links x tables x minutes of the month, not on the size of the logs.

Latency percentiles come from log-spaced histogram bins (``LAG_BINS_PER_E`` bins per factor e,
so a percentile is exact to within about 2 %); the maximum is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from syncverify.synclog.parsers import KIND_APPLY, KIND_ERROR, KIND_RESTART, KIND_STATUS, decode_text

LAG_BINS_PER_E = 50
COMPACT_ROWS = 100_000

# (output column, input column, aggregation, how partial results combine)
_MINUTE_AGGS = [
    ("applies", "is_apply", "sum", "sum"),
    ("rows", "rows", "sum", "sum"),
    ("errors", "is_error", "sum", "sum"),
    ("restarts", "is_restart", "sum", "sum"),
    ("statuses", "is_status", "sum", "sum"),
    ("retries", "has_retry", "sum", "sum"),
    ("retry_max", "retry", "max", "max"),
    ("backlog_max", "backlog", "max", "max"),
    ("backlog_last", "backlog", "last", "last"),
    ("lag_max", "lag_ms", "max", "max"),
]
_HIST_AGGS = [
    ("count", "is_lag", "sum", "sum"),
    ("applies", "is_apply", "sum", "sum"),
    ("ins", "ins", "sum", "sum"),
    ("upd", "upd", "sum", "sum"),
    ("del", "del", "sum", "sum"),
    ("batch", "batch", "sum", "sum"),
    ("errors", "is_error", "sum", "sum"),
]
_ERROR_AGGS = [
    ("count", "one", "sum", "sum"),
    ("batch", "batch", "sum", "sum"),
    ("retries", "has_retry", "sum", "sum"),
    ("retry_max", "retry", "max", "max"),
    ("first_ts", "ts_ms", "min", "min"),
    ("last_ts", "ts_ms", "max", "max"),
    ("msg", "msg", "first", "first"),
]


@dataclass
class _Partial:
    keys: list[str]
    aggs: list[tuple[str, str, str, str]]
    parts: list[pa.Table] = field(default_factory=list)
    rows: int = 0
    compacted_rows: int = 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        grouped = table.group_by(self.keys, use_threads=False).aggregate([(src, fn) for _, src, fn, _ in self.aggs])
        renamed = {f"{src}_{fn}": out for out, src, fn, _ in self.aggs}
        grouped = grouped.rename_columns([renamed.get(c, c) for c in grouped.column_names])
        self.parts.append(grouped)
        self.rows += grouped.num_rows
        # merge when the partial tables outgrow twice the merged size: memory stays bounded by the
        # number of distinct keys, and each row is re-merged only a few times
        if self.rows > max(COMPACT_ROWS, 2 * self.compacted_rows) and len(self.parts) > 1:
            self.compact()

    def compact(self) -> None:
        if len(self.parts) <= 1:
            return
        merged = pa.concat_tables(self.parts, promote_options="permissive")
        combined = merged.group_by(self.keys, use_threads=False).aggregate([(out, comb) for out, _, _, comb in self.aggs])
        renamed = {f"{out}_{comb}": out for out, _, _, comb in self.aggs}
        combined = combined.rename_columns([renamed.get(c, c) for c in combined.column_names])
        self.parts = [combined]
        self.rows = self.compacted_rows = combined.num_rows

    def frame(self) -> pd.DataFrame:
        self.compact()
        if not self.parts:
            return pd.DataFrame(columns=[*self.keys, *(out for out, *_ in self.aggs)])
        return self.parts[0].to_pandas()


_NO_BIN = 2047  # histogram bin of rows without a latency (errors)
_TABLE_BITS = 20  # link and table ids share one int64 key: link << 20 | table


class Aggregator:
    """Feeds on event batches; :meth:`frames` gives the merged tables (pandas, decoded text).

    Links and tables get small integer ids (kept across batches), so the busy group-bys run on
    fixed-width integer keys instead of text.
    """

    def __init__(self) -> None:
        self.minute = _Partial(["lid", "minute"], _MINUTE_AGGS)
        self.hist = _Partial(["lt", "hb"], _HIST_AGGS)
        self.error = _Partial(["link", "table", "code", "minute"], _ERROR_AGGS)
        self.restart = _Partial(["link", "minute"], [("count", "one", "sum", "sum"), ("msg", "msg", "first", "first")])
        self.names: list[bytes | None] = []
        self._ids: dict[bytes | None, int] = {}

    def _id(self, value: bytes | None) -> int:
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = len(self.names)
            self.names.append(value)
        return found

    def _global_ids(self, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        values = encoded.dictionary.to_pylist()
        mapping = np.array([self._id(v) for v in values] + [self._id(None)], dtype=np.int64)
        return mapping[np.asarray(pc.fill_null(encoded.indices, len(values)), dtype=np.int64)]

    def add(self, events: pa.Table) -> None:
        if events.num_rows == 0:
            return
        kind = events.column("kind")
        ts_ms = events.column("ts").cast(pa.int64())
        minute = pc.divide(ts_ms, 60_000)
        is_apply = pc.cast(pc.equal(kind, KIND_APPLY), pa.int64())
        is_error = pc.cast(pc.equal(kind, KIND_ERROR), pa.int64())
        is_restart = pc.cast(pc.equal(kind, KIND_RESTART), pa.int64())
        is_status = pc.cast(pc.equal(kind, KIND_STATUS), pa.int64())
        ins, upd, dele = (pc.fill_null(events.column(c), 0) for c in ("ins", "upd", "del"))
        rows = pc.multiply(pc.add(pc.add(ins, upd), dele), is_apply)
        retry = events.column("retry")
        has_retry = pc.cast(pc.fill_null(pc.greater(retry, 0), False), pa.int64())
        lag = events.column("lag_ms")
        n = events.num_rows
        lid = self._global_ids(events.column("link"))
        tid = self._global_ids(pc.fill_null(events.column("table"), b""))
        self.minute.add(
            pa.table(
                {
                    "lid": lid,
                    "minute": minute,
                    "is_apply": is_apply,
                    "rows": rows,
                    "is_error": is_error,
                    "is_restart": is_restart,
                    "is_status": is_status,
                    "has_retry": has_retry,
                    "retry": retry,
                    "backlog": events.column("backlog"),
                    "lag_ms": lag,
                }
            )
        )
        # per link, table, hour and latency bin: progress, errors and the latency histogram at once
        kind_np = np.asarray(kind.combine_chunks() if isinstance(kind, pa.ChunkedArray) else kind)
        useful = (kind_np == KIND_APPLY) | (kind_np == KIND_ERROR)
        lag_np = np.asarray(pc.fill_null(lag, -1), dtype=np.int64)
        has_lag = (kind_np == KIND_APPLY) & (lag_np >= 0)
        bins = np.where(
            has_lag,
            np.minimum(np.floor(np.log1p(np.maximum(lag_np, 0)) * LAG_BINS_PER_E), _NO_BIN - 1),
            _NO_BIN,
        ).astype(np.int64)
        hour = np.asarray(ts_ms, dtype=np.int64) // 3_600_000
        self.hist.add(
            pa.table(
                {
                    "lt": (lid << _TABLE_BITS) | tid,
                    "hb": (hour << 11) | bins,
                    "is_lag": has_lag.astype(np.int64),
                    "is_apply": is_apply,
                    "is_error": is_error,
                    "ins": pc.multiply(ins, is_apply),
                    "upd": pc.multiply(upd, is_apply),
                    "del": pc.multiply(dele, is_apply),
                    "batch": pc.multiply(pc.fill_null(events.column("batch"), 0), is_apply),
                }
            ).filter(pa.array(useful))
        )
        link = events.column("link")
        table = pc.fill_null(events.column("table"), b"")
        errors = pc.equal(kind, KIND_ERROR)
        if pc.any(errors).as_py():
            self.error.add(
                pa.table(
                    {
                        "link": link,
                        "table": table,
                        "code": pc.fill_null(events.column("code"), b"UNKNOWN"),
                        "minute": minute,
                        "one": pa.repeat(1, n).cast(pa.int64()),
                        "batch": pc.fill_null(events.column("batch"), 0),
                        "has_retry": has_retry,
                        "retry": retry,
                        "ts_ms": ts_ms,
                        "msg": events.column("msg"),
                    }
                ).filter(errors)
            )
        restarts = pc.equal(kind, KIND_RESTART)
        if pc.any(restarts).as_py():
            self.restart.add(
                pa.table(
                    {
                        "link": link,
                        "minute": minute,
                        "one": pa.repeat(1, n).cast(pa.int64()),
                        "msg": events.column("msg"),
                    }
                ).filter(restarts)
            )

    def merge(self, other: Aggregator) -> None:
        """Fold another aggregator's partial tables into this one (parallel workers); its link
        and table ids are translated into this one's."""
        remap = np.array([self._id(v) for v in other.names] or [0], dtype=np.int64)
        for name in ("minute", "hist", "error", "restart"):
            mine, theirs = getattr(self, name), getattr(other, name)
            theirs.compact()
            for part in theirs.parts:
                if name == "minute":
                    lid = remap[np.asarray(part.column("lid"), dtype=np.int64)]
                    part = part.set_column(part.schema.get_field_index("lid"), "lid", pa.array(lid))
                elif name == "hist":
                    lt = np.asarray(part.column("lt"), dtype=np.int64)
                    mask = (1 << _TABLE_BITS) - 1
                    lt = (remap[lt >> _TABLE_BITS] << _TABLE_BITS) | remap[lt & mask]
                    part = part.set_column(part.schema.get_field_index("lt"), "lt", pa.array(lt))
                mine.parts.append(part)
                mine.rows += part.num_rows
            mine.compact()

    def frames(self) -> dict[str, pd.DataFrame]:
        """minute, hour, lag, error and restart tables with decoded link, table, code and msg."""
        names = np.array([decode_text(v) if v is not None else None for v in self.names] or [None], dtype=object)
        minute = self.minute.frame()
        minute.insert(0, "link", names[minute.pop("lid").to_numpy(dtype=np.int64)] if len(minute) else [])
        hist = self.hist.frame()
        lt = hist.pop("lt").to_numpy(dtype=np.int64)
        hb = hist.pop("hb").to_numpy(dtype=np.int64)
        hist.insert(0, "link", names[lt >> _TABLE_BITS] if len(hist) else [])
        hist.insert(1, "table", names[lt & ((1 << _TABLE_BITS) - 1)] if len(hist) else [])
        hist.insert(2, "hour", hb >> 11)
        hist.insert(3, "bin", hb & 2047)
        hour = hist.groupby(["link", "table", "hour"], as_index=False, dropna=False)[
            ["applies", "ins", "upd", "del", "batch", "errors"]
        ].sum()
        lag = hist[(hist["bin"] != _NO_BIN) & (hist["count"] > 0)][["link", "table", "hour", "bin", "count"]]
        out = {"minute": minute, "hour": hour, "lag": lag.reset_index(drop=True)}
        for name in ("error", "restart"):
            df = getattr(self, name).frame()
            for col in ("link", "table", "code", "msg"):
                if col in df.columns:
                    # decode each distinct value once (UTF-8, else GBK)
                    codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
                    decoded = np.array([decode_text(v) for v in uniques] + [None], dtype=object)
                    df[col] = decoded[codes]
            out[name] = df
        return out


def lag_bin_value(bins: np.ndarray) -> np.ndarray:
    """Upper edge (ms) of the latency histogram bins."""
    return np.expm1((bins.astype(np.float64) + 1.0) / LAG_BINS_PER_E)
