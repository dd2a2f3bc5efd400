"""The ``jsonl`` log sources (consumer applications): one JSON object per line, read by
``pyarrow.json``; a block it rejects is re-read line by line."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from syncverify.synclog.formats import NUMERIC_FIELDS, LogSource
from syncverify.synclog.parsers.chunk import Chunk
from syncverify.synclog.parsers.fields import assemble, utf8_lines


def _jsonl_schema(source: LogSource) -> pa.Schema:
    out = []
    for fld, key in source.fields.items():
        if fld in NUMERIC_FIELDS or (fld == "time" and source.time_format == "epoch_ms"):
            out.append(pa.field(key, pa.float64()))
        else:
            out.append(pa.field(key, pa.string()))
    return pa.schema(out)


def parse_jsonl(ch: Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
    """One JSON object per line, read by ``pyarrow.json``; a block it rejects is re-read line by
    line so that one bad line costs only itself."""
    blank = ch.ends <= ch.starts
    ch.stats.blank += int(np.count_nonzero(blank))
    first = ch.a[np.minimum(ch.starts, len(ch.a) - 1)]
    last = ch.a[np.maximum(ch.ends - 1, 0)]
    opens = (first == 123) & ~blank
    candidate = opens & (last == 125)
    ch.malformed("truncated", opens & ~candidate)
    ch.malformed("not_json", ~opens & ~blank)
    idx = np.flatnonzero(candidate)
    schema = _jsonl_schema(source)
    n = ch.n
    keep = np.zeros(n, dtype=bool)
    parsed: pa.Table | None = None
    # fast path: every line an ASCII / UTF-8 JSON object -> hand the chunk to the reader as it is
    simple = len(idx) == n and (ch.raw.isascii() or not any(e != "utf-8" for e in ch.count_encodings().values()))
    if simple and ch.raw.isascii():
        ch.stats.add_encoding("ascii", n)
    if len(idx):
        if simple:
            body = ch.raw if ch.raw.endswith(b"\n") else ch.raw + b"\n"
            lines = None
        else:
            lines = utf8_lines(ch)
            body = _join_lines(lines.take(pa.array(idx)).cast(pa.large_binary()))
        try:
            parsed = pajson.read_json(
                io.BytesIO(body),
                read_options=pajson.ReadOptions(use_threads=False, block_size=1 << 26),
                parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
            )
            if parsed.num_rows != len(idx):
                parsed = None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = None
        if parsed is None:
            if lines is None:
                lines = utf8_lines(ch, count=False)
            parsed, ok_rows = _jsonl_fallback(lines, idx, schema)
            ch.malformed("not_json", np.isin(np.arange(n), idx[~ok_rows]))
            keep[idx[ok_rows]] = True
        else:
            keep[idx] = True
    full: dict[str, pa.Array | None] = {}
    # where each line's parsed row is (none for lines not handed to the reader)
    spread = None
    if len(idx) < n:
        positions = np.full(n, -1, dtype=np.int64)
        positions[idx] = np.arange(len(idx))
        spread = pa.array(positions, mask=positions < 0)
    for fld in ("time", "link", "level", "event", "table", "code", "msg", "reason", *NUMERIC_FIELDS):
        key = source.fields.get(fld)
        if key is None or parsed is None:
            full[fld] = None
            continue
        values = parsed.column(key).combine_chunks()
        full[fld] = values if spread is None else values.take(spread)
    return assemble(ch, source, full, keep, link_default, time_range, epoch_ms=source.time_format == "epoch_ms")


def _join_lines(values: pa.Array) -> bytes:
    """Newline-terminated concatenation of a binary array's values (vectorised)."""
    n = len(values)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[values.offset : values.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return np.insert(data, offsets[1:] - offsets[0], 10).tobytes()


def _jsonl_fallback(lines: pa.Array, idx: np.ndarray, schema: pa.Schema) -> tuple[pa.Table, np.ndarray]:
    rows: dict[str, list[Any]] = {f.name: [] for f in schema}
    ok = np.zeros(len(idx), dtype=bool)
    texts = lines.take(pa.array(idx)).to_pylist()
    for k, text in enumerate(texts):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            for f in schema:
                rows[f.name].append(None)
            continue
        ok[k] = True
        for f in schema:
            value = obj.get(f.name)
            if pa.types.is_floating(f.type):
                value = (
                    value
                    if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else (float(value) if isinstance(value, str) and value.isdigit() else None)
                )
            else:
                value = None if value is None else (value if isinstance(value, str) else json.dumps(value))
            rows[f.name].append(value)
    return pa.table({f.name: pa.array(rows[f.name], f.type) for f in schema}), ok
