"""Log lines -> event batches (Arrow tables), streaming over gzip and rotated files.

Files are read in chunks of whole lines, so memory stays flat whatever the file size. A line that
cannot be parsed is counted under a reason with a few masked samples, never fatal. Three parsers:
``keyvalue`` (numpy over raw bytes, the fast path), ``regex`` (RE2 through
``pyarrow.compute.extract_regex``) and ``jsonl`` (``pyarrow.json`` with a per-line fallback).

Every event batch has the columns of :data:`EVENT_SCHEMA`; text columns are raw bytes (decoded
only when they reach the report, with a UTF-8 then GBK fallback).
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from syncverify.masking import mask_taxpayer_ids_in_text, mask_text
from syncverify.synclog import bytescan as bs
from syncverify.synclog.formats import NUMERIC_FIELDS, LogFormats, LogInputError, LogSource

CHUNK_BYTES = 4 << 20
SAMPLES_PER_REASON = 5
SAMPLE_CHARS = 200
# No log line is longer than this: a longer one is counted as malformed (``line_too_long``) and
# only its first bytes are kept, so one pathological line (a 1 GB line in a 4 MB gzip) cannot
# make the reader hold or re-copy it (measured before the cap: 110 s, 2.1 GB, then MemoryError).
MAX_LINE_BYTES = 64 << 10
_HEAD_BYTES = 4 * SAMPLE_CHARS

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


def decode_text(raw: bytes | None) -> str:
    """Log bytes as text: UTF-8, else GBK, else UTF-8 with replacement characters."""
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def sample_text(raw: bytes) -> str:
    """A log line as it may be shown to people: cut, taxpayer ids and URL passwords masked."""
    text = decode_text(raw[: 4 * SAMPLE_CHARS])
    cut = len(text) > SAMPLE_CHARS or len(raw) > 4 * SAMPLE_CHARS
    text = mask_text(mask_taxpayer_ids_in_text(text[:SAMPLE_CHARS]))
    return text + "…" if cut else text


def _encoding_of(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gbk")
        return "gbk"
    except UnicodeDecodeError:
        return "undecodable"


@dataclass
class FileStats:
    path: str
    source: str | None
    compressed: bool
    bytes: int = 0
    lines: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ParseStats:
    """What the parsers read: lines, events, malformed lines by reason (with masked samples),
    line encodings, lines outside the analysed month, and per-file figures."""

    lines: int = 0
    bytes: int = 0
    events: int = 0
    blank: int = 0
    other_events: int = 0  # parsed lines whose event word is none of the known kinds
    out_of_range: int = 0  # parsed lines outside the analysed month
    malformed: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, int] = field(default_factory=dict)  # ascii / utf-8 / gbk / undecodable
    files: list[FileStats] = field(default_factory=list)
    # files skipped or cut short ("path: reason"): the CLI prints them on stderr
    warnings: list[str] = field(default_factory=list)

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    def add_malformed(self, reason: str, count: int, samples: Iterable[str]) -> None:
        if count <= 0:
            return
        self.malformed[reason] = self.malformed.get(reason, 0) + count
        bucket = self.samples.setdefault(reason, [])
        for sample in samples:
            if len(bucket) >= SAMPLES_PER_REASON:
                break
            bucket.append(sample)

    def add_encoding(self, name: str, count: int) -> None:
        if count:
            self.encodings[name] = self.encodings.get(name, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "bytes": self.bytes,
            "events": self.events,
            "blank": self.blank,
            "other_events": self.other_events,
            "out_of_range": self.out_of_range,
            "malformed_total": self.malformed_total,
            "malformed": dict(self.malformed),
            "samples": {k: list(v) for k, v in self.samples.items()},
            "encodings": dict(self.encodings),
            "files": [f.to_dict() for f in self.files],
            "warnings": list(self.warnings),
        }

    def skip_file(self, path: Path, reason: str, source: str | None = None) -> None:
        """Record a file that was not (fully) read, by name, with why."""
        self.files.append(FileStats(str(path), source, False, error=reason))
        self.warnings.append(f"{path}: {reason}")


@dataclass
class ParsedLogs:
    """All events of some files in one table (small inputs; :func:`iter_events` streams)."""

    events: pa.Table
    stats: ParseStats


# ---------------------------------------------------------------------------------------------
# files


def open_log(path: Path) -> tuple[io.BufferedIOBase, bool]:
    """Open a log file for reading bytes; gzip is recognised by its magic number, not its name.

    A symbolic link is refused (``O_NOFOLLOW``), also one swapped in after the folder was listed:
    a link planted in a log folder must not make the analysis read (and sample) another file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    fh = os.fdopen(fd, "rb")  # returned to the caller, who closes it
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb"), True
    return fh, False


@dataclass
class LongLine:
    """A line over :data:`MAX_LINE_BYTES`, replaced by an empty line in its chunk."""

    line: int  # index of the line in its chunk
    length: int  # bytes (at least; a line cut by the end of the file counts what was read)
    head: bytes  # its first bytes, for the masked sample


def iter_chunks(
    fh: io.BufferedIOBase, size: int = CHUNK_BYTES, max_line: int = MAX_LINE_BYTES
) -> Iterator[tuple[bytes, list[LongLine]]]:
    """Chunks of whole lines (the last one may lack its newline), each with the over-long lines
    that were cut out of it.

    A partial line is carried over at most until it exceeds ``max_line``; then the rest of it is
    skipped up to its newline without being kept, and it becomes an empty line of the next chunk
    (so line numbers stay right). Memory is bounded by ``size + max_line`` whatever the input.
    """
    rest = b""
    skipping: LongLine | None = None
    blocks = _blocks(fh, size)
    while True:
        block = next(blocks, b"")
        if not block:
            if skipping is not None:
                yield b"\n", [skipping]
            elif rest:
                yield rest, []
            return
        found: list[LongLine] = []
        if skipping is not None:
            nl = block.find(b"\n")
            if nl < 0:
                skipping.length += len(block)
                continue
            skipping.length += nl
            found, skipping = [skipping], None
            block = block[nl:]  # starts with the newline that ends the skipped (now empty) line
        block = rest + block if rest else block
        cut = block.rfind(b"\n")
        if cut < 0:
            if len(block) > max_line:
                skipping, rest = LongLine(0, len(block), block[:_HEAD_BYTES]), b""
            else:
                rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1], found


def _blocks(fh: io.BufferedIOBase, size: int) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes. From gzip, decompressed pieces are gathered with
    ``read1`` so that a stream cut short (a rotated file still being written) first gives what
    it decompressed, then its error — ``read(size)`` would drop up to ``size`` bytes with it."""
    if not isinstance(fh, gzip.GzipFile):
        while block := fh.read(size):
            yield block
        return
    parts: list[bytes] = []
    have = 0
    try:
        while piece := fh.read1(size - have):
            parts.append(piece)
            have += len(piece)
            if have >= size:
                yield b"".join(parts)
                parts, have = [], 0
    except (OSError, EOFError, zlib.error):
        if parts:
            yield b"".join(parts)
        raise
    if parts:
        yield b"".join(parts)


def _cut_long_lines(buf: bytes, starts: np.ndarray, ends: np.ndarray, max_line: int) -> tuple[bytes, list[LongLine]]:
    """``buf`` with every line over ``max_line`` emptied (its newline kept), and those lines."""
    long_idx = np.flatnonzero(ends - starts > max_line)
    if not len(long_idx):
        return buf, []
    parts, found, prev = [], [], 0
    for i in long_idx:
        s, e = int(starts[i]), int(ends[i])
        parts.append(buf[prev:s])
        found.append(LongLine(int(i), e - s, buf[s : s + _HEAD_BYTES]))
        prev = e
    parts.append(buf[prev:])
    return b"".join(parts), found


def _walk(folder: Path, skipped: list[Path]) -> Iterator[Path]:
    """Regular files under ``folder``; symbolic links (to files or folders) are not followed."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in list(dirs):
            if (base / name).is_symlink():
                skipped.append(base / name)
                dirs.remove(name)
        for name in files:
            f = base / name
            if f.is_symlink():
                skipped.append(f)
            elif f.is_file():
                yield f


def expand_paths(paths: str | Path | Iterable[str | Path], skipped: list[Path] | None = None) -> list[Path]:
    """Files under directories (recursively) and files given directly, sorted by name.

    Symbolic links are not followed — neither a linked file nor a linked folder inside the tree,
    nor a linked file given directly — and are appended to ``skipped`` instead: a link planted in
    a log folder would otherwise have the analysis read, and quote, any file the user can read.
    A folder given directly may itself be a link (``/var/log/dsg`` -> a data disk).
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    links: list[Path] = [] if skipped is None else skipped
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(_walk(p, links)))
        elif p.is_symlink():
            links.append(p)
        elif p.is_file():
            out.append(p)
        else:
            raise LogInputError(f"log path not found: {p}")
    return out


SYMLINK_SKIPPED = "symbolic link: not followed, skipped"


# ---------------------------------------------------------------------------------------------
# parsing


class _Chunk:
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
        found = {int(i): _encoding_of(self.line_bytes(int(i))) for i in self.non_ascii_lines()}
        blank = int(np.count_nonzero(self.ends <= self.starts))
        self.stats.add_encoding("ascii", self.n - len(found) - blank)
        for name in ("utf-8", "gbk", "undecodable"):
            self.stats.add_encoding(name, sum(1 for v in found.values() if v == name))
        return found


def _empty_batch() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def _finish(
    ch: _Chunk,
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
        return _empty_batch()
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


def _kind_from_words(event_hit: dict[str, np.ndarray], err_level: np.ndarray, has_code: np.ndarray) -> np.ndarray:
    n = len(err_level)
    kind = np.zeros(n, dtype=np.int8)
    for name, code in (("status", KIND_STATUS), ("apply", KIND_APPLY), ("error", KIND_ERROR)):
        if name in event_hit:
            kind[event_hit[name]] = code
    kind[(err_level | has_code) & (kind != KIND_STATUS)] = KIND_ERROR
    if "restart" in event_hit:  # a restart logged at ERROR level is still a restart
        kind[event_hit["restart"]] = KIND_RESTART
    return kind


def parse_keyvalue(ch: _Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
    """``<time> <head tokens> key=value ...`` lines, vectorised over the chunk's bytes."""
    a, size, starts, ends = ch.a, ch.size, ch.starts, ch.ends
    n = ch.n
    ch.count_encodings()
    lengths = ends - starts
    blank = lengths <= 0
    ch.stats.blank += int(np.count_nonzero(blank))
    ts, t_ok, t_width = bs.parse_times(a, starts, lengths)
    body = a[:size]
    sp = np.append(np.flatnonzero(body == 32), np.int64(size + bs.PAD))
    qpos = np.array([size + bs.PAD], dtype=np.int64)
    if ch.has_byte(b'"'):
        qpos = np.append(np.flatnonzero(body == 34), qpos)

    # head tokens: the space-separated words after the time
    pos = starts + t_width
    j = np.searchsorted(sp, pos)
    head_ok = t_ok & (sp[np.minimum(j, len(sp) - 1)] == pos)
    tokens: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rest = pos.copy()
    for k, name in enumerate(source.head):
        jk = np.minimum(j + k, len(sp) - 1)
        tok_start = np.minimum(sp[jk] + 1, size)
        tok_end = np.minimum(sp[np.minimum(jk + 1, len(sp) - 1)], ends)
        head_ok &= (sp[jk] < ends) & (tok_end > tok_start)
        tokens[name] = (tok_start, tok_end)
        rest = tok_end
    short = t_ok & ~head_ok & ~blank
    bad_time = ~t_ok & ~blank
    # a line cut inside its timestamp (the last line of a file being written) is truncated
    first = a[np.minimum(starts, size)]
    cut_time = bad_time & (lengths < 19) & (first >= 48) & (first <= 57)
    short |= cut_time
    bad_time &= ~cut_time
    ok = head_ok.copy()

    # key=value pairs after the head
    eq = np.flatnonzero(body == 61)
    line = np.searchsorted(starts, eq, side="right") - 1
    keep_eq = (line >= 0) & (eq >= 8)
    line = np.maximum(line, 0)
    keep_eq &= eq > rest[line]
    truncated = np.zeros(n, dtype=bool)
    has_quotes = len(qpos) > 1
    if has_quotes:
        # '=' inside a quoted value is text, not a key: only lines holding quotes need the test
        qline = np.searchsorted(starts, qpos[:-1], side="right") - 1
        on_q = np.isin(line, qline)
        qi = np.flatnonzero(on_q)
        before = np.searchsorted(qpos, eq[qi]) - np.searchsorted(qpos, starts[line[qi]])
        keep_eq[qi[before % 2 == 1]] = False
    eq, line = eq[keep_eq], line[keep_eq]
    u = bs.words64(a)
    kid = bs.key_ids(u[eq - 8], lambda: u[np.maximum(eq - 16, 0)], list(source.keys.values()))
    fields = list(source.keys)

    cols: dict[str, pa.Array] = {}
    bad_value = np.zeros(n, dtype=bool)
    text_spans: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    numeric_ids = np.array([k for k, f in enumerate(fields) if f in NUMERIC_FIELDS], dtype=np.int64)
    is_num = np.isin(kid, numeric_ids)
    if is_num.any():
        # every numeric value of the chunk in one pass, then scattered into a field x line matrix
        at, rows, kn = eq[is_num], line[is_num], kid[is_num]
        w = u[at + 1]
        values, ndig = bs.digits_at(w)
        valid = ndig > 0
        stop = at + 1 + ndig
        term = a[stop]
        end_of_line = stop >= ends[rows]
        valid &= (ndig > 0) & (end_of_line | (term == 32))
        longer = (ndig == 8) & ~end_of_line & (term >= 48) & (term <= 57)
        if longer.any():  # more than 8 digits: parse up to the next space
            li = np.flatnonzero(longer)
            stop_l = np.minimum(sp[np.minimum(np.searchsorted(sp, at[li]), len(sp) - 1)], ends[rows[li]])
            values[li], valid[li] = bs.parse_uints(a, at[li] + 1, stop_l - at[li] - 1)
        if not valid.all():
            bad = np.flatnonzero(~valid)
            # an empty value at the very end of the line is a cut line, otherwise a bad value
            cut = (at[bad] + 1) >= ends[rows[bad]]
            truncated[rows[bad[cut]]] = True
            bad_value[rows[bad[~cut]]] = True
        matrix = np.full((len(fields), n), -1, dtype=np.int64)
        matrix[kn[valid], rows[valid]] = values[valid]
        for k in numeric_ids:
            if (kn == k).any():
                cols[fields[k]] = bs.int_array(matrix[k])
    for k, fld in enumerate(fields):
        if fld in NUMERIC_FIELDS:
            continue
        hit = kid == k
        if not hit.any():
            continue
        rows, at = line[hit], eq[hit]
        vstart = at + 1
        quoted = a[vstart] == 34
        vend = np.minimum(sp[np.minimum(np.searchsorted(sp, vstart), len(sp) - 1)], ends[rows])
        vbeg = vstart.copy()
        if quoted.any():
            qi = np.flatnonzero(quoted)
            close = qpos[np.minimum(np.searchsorted(qpos, vstart[qi] + 1), len(qpos) - 1)]
            unterminated = close >= ends[rows[qi]]
            truncated[rows[qi[unterminated]]] = True
            vbeg[qi] = vstart[qi] + 1
            vend[qi] = np.where(unterminated, ends[rows[qi]], close)
        sb = np.zeros(n, dtype=np.int64)
        se = np.zeros(n, dtype=np.int64)
        sv = np.zeros(n, dtype=bool)
        sb[rows], se[rows], sv[rows] = vbeg, vend, True
        text_spans[fld] = (sb, se, sv)
    for name, (tb, te) in tokens.items():
        if name == "link":  # "[zz11]" -> "zz11"
            tb = tb + (a[tb] == 91)
            te = te - ((te > tb) & (a[np.maximum(te - 1, 0)] == 93))
        text_spans.setdefault(name, (tb, te, head_ok))

    truncated &= ok
    bad_value &= ok & ~truncated
    ok &= ~truncated & ~bad_value
    ch.malformed("truncated", (short | truncated) & ~blank)
    ch.malformed("bad_time", bad_time)
    ch.malformed("bad_value", bad_value)

    if "level" in tokens:
        lb, le = tokens["level"]
        err_level = bs.word_in(bs.pack_words(a, lb, le - lb), source.error_levels)
    else:
        err_level = np.zeros(n, dtype=bool)
    if "event" in tokens:
        eb, ee = tokens["event"]
        packed_events = bs.pack_words(a, eb, ee - eb)
        event_hit = {k: bs.word_in(packed_events, words) for k, words in source.events.items()}
    else:
        event_hit = {"apply": np.ones(n, dtype=bool)}
    has_code = text_spans["code"][2] if "code" in text_spans else np.zeros(n, dtype=bool)
    kind = _kind_from_words(event_hit, err_level, has_code)

    for fld in NUMERIC_FIELDS:
        cols.setdefault(fld, pa.nulls(n, pa.int64()))
    for fld in ("link", "table", "code"):
        if fld in text_spans:
            tb, te, tv = text_spans[fld]
            cols[fld] = bs.token_array(a, tb, te, tv & ok)
        elif fld == "link" and link_default is not None:
            cols[fld] = pa.array([link_default.encode()] * n, pa.large_binary())
        else:
            cols[fld] = pa.nulls(n, pa.large_binary())
    msg_spans = text_spans.get("msg") or text_spans.get("reason")
    if msg_spans is not None and "reason" in text_spans and "msg" in text_spans:
        mb, me, mv = text_spans["msg"]
        rb, re_, rv = text_spans["reason"]
        msg_spans = (np.where(mv, mb, rb), np.where(mv, me, re_), mv | rv)
    if msg_spans is not None:
        # only error and restart lines keep their text: it is what the findings quote
        mb, me, mv = msg_spans
        cols["msg"] = bs.binary_array(a, mb, me, mv & ok & ((kind == KIND_ERROR) | (kind == KIND_RESTART)))
    else:
        cols["msg"] = pa.nulls(n, pa.large_binary())
    return _finish(ch, ok, ts, kind, cols, time_range)


def _utf8_lines(ch: _Chunk, count: bool = True) -> pa.Array:
    """The chunk's lines as a valid UTF-8 string array (GBK lines transcoded, others replaced)."""
    a, starts, ends = ch.a, ch.starts, ch.ends
    # spans are not contiguous (newlines in between), so gather them into one buffer
    lines = bs.binary_array(a, starts, ends, np.ones(ch.n, dtype=bool))
    found = ch.count_encodings() if count else {int(i): _encoding_of(ch.line_bytes(int(i))) for i in ch.non_ascii_lines()}
    if found:
        idx = np.array(sorted(found), dtype=np.int64)
        fixed = [decode_text(ch.line_bytes(int(i))).encode("utf-8") for i in idx]
        mask = np.zeros(ch.n, dtype=bool)
        mask[idx] = True
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(fixed, pa.large_binary()))
    return lines.cast(pa.large_string())


def _texts_to_times(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
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


def _numeric_column(values: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray]:
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


def _event_kinds(
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
    return _kind_from_words(hits, err_level, has_code)


def _assemble(
    ch: _Chunk,
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
        arr, _ = _numeric_column(time_values, n)
        ts = np.asarray(pc.fill_null(arr, 0), dtype=np.int64)
        t_ok = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool) & (ts > 0)
    else:
        ts, t_ok = _texts_to_times(time_values)
    ch.malformed("bad_time", keep & ~t_ok)
    keep = keep & t_ok
    cols: dict[str, pa.Array] = {}
    bad = np.zeros(n, dtype=bool)
    for fld in NUMERIC_FIELDS:
        cols[fld], bad_f = _numeric_column(fields.get(fld), n)
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
    kind = _event_kinds(source, fields.get("event"), fields.get("level"), cols["code"], n)
    msg = fields.get("msg") if fields.get("msg") is not None else fields.get("reason")
    if msg is None:
        cols["msg"] = pa.nulls(n, pa.large_binary())
    else:
        msg = msg.cast(pa.large_string()).cast(pa.large_binary())
        wanted = pa.array((kind == KIND_ERROR) | (kind == KIND_RESTART))
        cols["msg"] = pc.if_else(wanted, msg, pa.scalar(None, pa.large_binary()))
    return _finish(ch, keep, ts, kind, cols, time_range)


def parse_regex(ch: _Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
    """Lines matched by the source's RE2 pattern; a line that does not match is ``no_match``."""
    lines = _utf8_lines(ch)
    blank = ch.ends <= ch.starts
    ch.stats.blank += int(np.count_nonzero(blank))
    assert source.pattern is not None
    matched = pc.extract_regex(lines, source.pattern)
    keep = ~np.asarray(matched.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    ch.malformed("no_match", ~keep & ~blank)
    names = [matched.type.field(i).name for i in range(matched.type.num_fields)]
    fields: dict[str, pa.Array | None] = {name: pc.struct_field(matched, name) for name in names}
    for name in ("time", "link", "level", "event", "table", "code", "msg", "reason", *NUMERIC_FIELDS):
        fields.setdefault(name, None)
    return _assemble(ch, source, fields, keep, link_default, time_range)


def _jsonl_schema(source: LogSource) -> pa.Schema:
    out = []
    for fld, key in source.fields.items():
        if fld in NUMERIC_FIELDS or (fld == "time" and source.time_format == "epoch_ms"):
            out.append(pa.field(key, pa.float64()))
        else:
            out.append(pa.field(key, pa.string()))
    return pa.schema(out)


def parse_jsonl(ch: _Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
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
            lines = _utf8_lines(ch)
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
                lines = _utf8_lines(ch, count=False)
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
    return _assemble(ch, source, full, keep, link_default, time_range, epoch_ms=source.time_format == "epoch_ms")


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


_PARSERS = {"keyvalue": parse_keyvalue, "regex": parse_regex, "jsonl": parse_jsonl}


def iter_file_events(
    path: Path,
    source: LogSource,
    stats: ParseStats,
    time_range: tuple[int, int] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[pa.Table]:
    """Event batches of one file; an unreadable file is recorded in ``stats`` and skipped.

    A bad gzip header, a gzip cut short, a read error or a symbolic link ends this file only:
    what was read is kept, the file is named in ``stats.warnings`` and the next file is read.
    Lines over ``max_line`` bytes are counted as ``line_too_long`` and never held whole.
    """
    fstats = FileStats(str(path), source.name, False)
    stats.files.append(fstats)
    parser = _PARSERS[source.kind]
    link_default = source.link_for_path(path)
    try:
        fh, fstats.compressed = open_log(path)
        with fh:
            for buf, long_lines in iter_chunks(fh, chunk_bytes, max_line):
                ch = _Chunk(buf, path, fstats.lines, stats)
                if ch.n and int((ch.ends - ch.starts).max()) > max_line:
                    buf, more = _cut_long_lines(buf, ch.starts, ch.ends, max_line)
                    long_lines = long_lines + more
                    ch = _Chunk(buf, path, fstats.lines, stats)
                fstats.bytes += len(buf)
                fstats.lines += ch.n
                stats.bytes += len(buf)
                stats.lines += ch.n
                batch = parser(ch, source, link_default, time_range)
                if long_lines:
                    _count_long_lines(ch, long_lines, max_line)
                if batch.num_rows:
                    yield batch
    except (OSError, EOFError, zlib.error) as exc:
        # e.g. a gzip file cut short by rotation or with a broken header (zlib "Error -3"):
        # keep what was read, name the file, go on with the next one
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            fstats.error = SYMLINK_SKIPPED
        else:
            fstats.error = f"{type(exc).__name__}: {mask_text(str(exc))}"
        stats.add_malformed("unreadable_file", 1, [f"{path.name}: {fstats.error}"])
        stats.warnings.append(f"{path}: {fstats.error}" + (f" (after {fstats.lines} lines)" if fstats.lines else ""))


def _count_long_lines(ch: _Chunk, long_lines: list[LongLine], max_line: int) -> None:
    """Over-long lines are malformed, not blank (the parser saw them as empty lines)."""
    ch.stats.blank -= len(long_lines)
    ch.stats.add_malformed("line_too_long", len(long_lines), (
        f"{ch.path.name}:{ch.first_line + ll.line + 1}: {sample_text(ll.head)} "
        f"({ll.length} bytes; the limit is {max_line})" for ll in long_lines[:SAMPLES_PER_REASON]))


def iter_events(
    paths: str | Path | Iterable[str | Path],
    formats: LogFormats,
    stats: ParseStats,
    time_range: tuple[int, int] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pa.Table]:
    """Stream event batches of every file; files no source matches are listed in ``stats``,
    symbolic links are named in ``stats.warnings`` and skipped."""
    skipped: list[Path] = []
    found = expand_paths(paths, skipped)
    for link in skipped:
        stats.skip_file(link, SYMLINK_SKIPPED)
    for path in found:
        source = formats.source_for(path)
        if source is None:
            stats.files.append(FileStats(str(path), None, False, error="no log source matches this file"))
            continue
        yield from iter_file_events(path, source, stats, time_range, chunk_bytes)


def parse_files(
    paths: str | Path | Iterable[str | Path], formats: LogFormats, time_range: tuple[int, int] | None = None
) -> ParsedLogs:
    """Parse files (or directories) into one event table and the parse statistics.

    Holds every event in memory: for a month of logs use :func:`syncverify.synclog.analyse`,
    which streams.
    """
    stats = ParseStats()
    batches = list(iter_events(paths, formats, stats, time_range))
    table = pa.concat_tables(batches) if batches else _empty_batch()
    return ParsedLogs(table, stats)
