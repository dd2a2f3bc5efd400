"""Parsed fields (Arrow arrays per field, from a regex match or a JSON reader) -> the event batch:
times, numbers and texts checked and converted, event kinds decided. Shared by the ``regex`` and
``jsonl`` parsers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncverify.synclog import bytescan as bs
from syncverify.synclog.formats import NUMERIC_FIELDS, LogSource
from syncverify.synclog.parsers.chunk import KIND_ERROR, KIND_RESTART, Chunk, finish_batch, kind_from_words
from syncverify.synclog.parsers.stats import decode_text, encoding_of


def utf8_lines(ch: Chunk, count: bool = True) -> pa.Array:
    """The chunk's lines as a valid UTF-8 string array (GBK lines transcoded, others replaced)."""
    a, starts, ends = ch.a, ch.starts, ch.ends
    # spans are not contiguous (newlines in between), so gather them into one buffer
    lines = bs.binary_array(a, starts, ends, np.ones(ch.n, dtype=bool))
    found = ch.count_encodings() if count else {int(i): encoding_of(ch.line_bytes(int(i))) for i in ch.non_ascii_lines()}
    if found:
        idx = np.array(sorted(found), dtype=np.int64)
        fixed = [decode_text(ch.line_bytes(int(i))).encode("utf-8") for i in idx]
        mask = np.zeros(ch.n, dtype=bool)
        mask[idx] = True
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(fixed, pa.large_binary()))
    return lines.cast(pa.large_string())


def texts_to_times(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """ISO-like time strings -> (epoch ms, valid) with the same byte parser as the fast path."""
    values = values.cast(pa.large_binary())
    n = len(values)
    valid = ~np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    filled = pc.fill_null(values, b"")
    buffers = filled.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[filled.offset : filled.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    a = np.zeros(len(data) + bs.PAD, dtype=np.uint8)
    a[: len(data)] = data
    ms, ok, _ = bs.parse_times(a, offsets[:-1], offsets[1:] - offsets[:-1])
    return ms, ok & valid


def numeric_column(values: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray]:
    """Text or numbers -> int64 (empty text is null); returns (array, rows with a bad value)."""
    if values is None:
        return pa.nulls(n, pa.int64()), np.zeros(n, dtype=bool)
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64()), np.zeros(n, dtype=bool)
    if pa.types.is_floating(values.type):
        return pc.floor(values).cast(pa.int64()), np.zeros(n, dtype=bool)
    text = values.cast(pa.large_string())
    empty = pc.fill_null(pc.equal(text, ""), True)
    digits = pc.fill_null(pc.utf8_is_digit(text), False)
    bad = np.asarray(pc.and_(pc.invert(empty), pc.invert(digits)), dtype=bool)
    clean = pc.if_else(pc.or_(empty, pc.invert(digits)), pa.scalar(None, pa.large_string()), text)
    return clean.cast(pa.int64()), bad


def event_kinds(
    source: LogSource, event: pa.Array | None, level: pa.Array | None, code: pa.Array | None, n: int
) -> np.ndarray:
    def is_in(values: pa.Array | None, words: tuple[str, ...]) -> np.ndarray:
        if values is None:
            return np.zeros(n, dtype=bool)
        text = values.cast(pa.large_string())
        return np.asarray(pc.fill_null(pc.is_in(text, pa.array(list(words), pa.large_string())), False), dtype=bool)

    hits = {k: is_in(event, words) for k, words in source.events.items()}
    if event is None:
        hits = {"apply": np.ones(n, dtype=bool)}
    err_level = is_in(level, source.error_levels)
    if code is not None:
        has_code = np.asarray(pc.fill_null(pc.greater(pc.binary_length(code.cast(pa.large_binary())), 0), False), dtype=bool)
    else:
        has_code = np.zeros(n, dtype=bool)
    return kind_from_words(hits, err_level, has_code)


def assemble(
    ch: Chunk,
    source: LogSource,
    fields: dict[str, pa.Array | None],
    keep: np.ndarray,
    link_default: str | None,
    time_range: tuple[int, int] | None,
    epoch_ms: bool = False,
) -> pa.Table:
    n = len(keep)
    time_values = fields.get("time")
    if time_values is None:
        ts, t_ok = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    elif epoch_ms:
        arr, _ = numeric_column(time_values, n)
        ts = np.asarray(pc.fill_null(arr, 0), dtype=np.int64)
        t_ok = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool) & (ts > 0)
    else:
        ts, t_ok = texts_to_times(time_values)
    ch.malformed("bad_time", keep & ~t_ok)
    keep = keep & t_ok
    cols: dict[str, pa.Array] = {}
    bad = np.zeros(n, dtype=bool)
    for fld in NUMERIC_FIELDS:
        cols[fld], bad_f = numeric_column(fields.get(fld), n)
        bad |= bad_f
    ch.malformed("bad_value", keep & bad)
    keep = keep & ~bad
    for fld in ("link", "table", "code"):
        values = fields.get(fld)
        if values is None and fld == "link" and link_default is not None:
            cols[fld] = pa.array([link_default.encode()] * n, pa.large_binary())
        elif values is None:
            cols[fld] = pa.nulls(n, pa.large_binary())
        else:
            if not (
                pa.types.is_string(values.type)
                or pa.types.is_binary(values.type)
                or pa.types.is_large_string(values.type)
                or pa.types.is_large_binary(values.type)
            ):
                values = values.cast(pa.large_string())
            values = values.cast(pa.large_binary())
            # regex groups that did not take part match "", which means "absent"
            cols[fld] = pc.if_else(pc.equal(values, b""), pa.scalar(None, pa.large_binary()), values)
    kind = event_kinds(source, fields.get("event"), fields.get("level"), cols["code"], n)
    msg = fields.get("msg") if fields.get("msg") is not None else fields.get("reason")
    if msg is None:
        cols["msg"] = pa.nulls(n, pa.large_binary())
    else:
        msg = msg.cast(pa.large_string()).cast(pa.large_binary())
        wanted = pa.array((kind == KIND_ERROR) | (kind == KIND_RESTART))
        cols["msg"] = pc.if_else(wanted, msg, pa.scalar(None, pa.large_binary()))
    return finish_batch(ch, keep, ts, kind, cols, time_range)
