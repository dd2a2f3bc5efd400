"""The ``keyvalue`` log sources (DSG text logs), the fast path:
``<time> <head tokens> key=value key="quoted value" ...``, parsed with numpy over the chunk's bytes.

Nothing runs per line in Python: the positions of every space, quote and ``=`` of the chunk are
found at once, each is given its line by a binary search over the line starts, and the values are
read from those positions. A chunk goes through the steps below in order:

1. :func:`_layout` — each line's time; where the spaces and quotes are;
2. :func:`_head` — the words after the time (``[link] LEVEL EVENT``), or why the line is cut there;
3. :func:`_pairs` — the ``=`` of every ``key=value`` after the head (not those inside quotes);
4. :func:`_numbers` and :func:`_texts` — the values of the numeric and the text keys;
5. :func:`_valid_lines` — which lines are kept; the others are counted by reason;
6. :func:`_kinds` and :func:`_text_columns` — event kinds, and the text columns of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from syncverify.synclog import bytescan as bs
from syncverify.synclog.formats import NUMERIC_FIELDS, LogSource
from syncverify.synclog.parsers.chunk import KIND_ERROR, KIND_RESTART, Chunk, finish_batch, kind_from_words

_SPACE, _QUOTE, _EQUALS, _OPEN_BRACKET, _CLOSE_BRACKET = 32, 34, 61, 91, 93

#: a text value per line: (start, end, present) byte offsets into the chunk
Spans = tuple[np.ndarray, np.ndarray, np.ndarray]


def parse_keyvalue(ch: Chunk, source: LogSource, link_default: str | None, time_range: tuple[int, int] | None) -> pa.Table:
    """``<time> <head tokens> key=value ...`` lines, vectorised over the chunk's bytes."""
    ch.count_encodings()
    lay = _layout(ch)
    ch.stats.blank += int(np.count_nonzero(lay.blank))
    head = _head(ch, lay, source.head)
    eq, line = _pairs(ch, lay, head.rest)
    u = bs.words64(ch.a)
    # the 8 (or 16) bytes before each '=' name the key
    kid = bs.key_ids(u[eq - 8], lambda: u[np.maximum(eq - 16, 0)], list(source.keys.values()))
    fields = list(source.keys)
    cols, cut_number, bad_value = _numbers(ch, lay, u, eq, line, kid, fields)
    spans, cut_quote = _texts(ch, lay, eq, line, kid, fields)
    _add_head_spans(ch, head, spans)
    ok = _valid_lines(ch, lay, head, cut_number | cut_quote, bad_value)
    kind = _kinds(ch, source, head, spans)
    cols.update(_text_columns(ch, spans, ok, kind, link_default))
    return finish_batch(ch, ok, lay.ts, kind, cols, time_range)


@dataclass
class _Layout:
    """Each line's time, and where the chunk's spaces and quotes are."""

    lengths: np.ndarray
    blank: np.ndarray
    ts: np.ndarray  # epoch ms
    t_ok: np.ndarray  # the line starts with a valid time
    t_width: np.ndarray  # bytes of that time
    spaces: np.ndarray  # positions of the spaces, then an end mark past the chunk
    quotes: np.ndarray  # positions of the double quotes, then the same end mark


def _layout(ch: Chunk) -> _Layout:
    lengths = ch.ends - ch.starts
    ts, t_ok, t_width = bs.parse_times(ch.a, ch.starts, lengths)
    body = ch.a[: ch.size]
    end_mark = np.int64(ch.size + bs.PAD)
    spaces = np.append(np.flatnonzero(body == _SPACE), end_mark)
    quotes = np.array([end_mark], dtype=np.int64)
    if ch.has_byte(b'"'):
        quotes = np.append(np.flatnonzero(body == _QUOTE), quotes)
    return _Layout(lengths, lengths <= 0, ts, t_ok, t_width, spaces, quotes)


@dataclass
class _Head:
    """The space-separated words after the time."""

    tokens: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (start, end) per line
    ok: np.ndarray  # a valid time and every head token present
    rest: np.ndarray  # where the key=value part begins (the end of the last head token)
    cut: np.ndarray  # cut inside the head or inside the time
    bad_time: np.ndarray


def _head(ch: Chunk, lay: _Layout, names: Sequence[str]) -> _Head:
    a, size, starts, ends, sp = ch.a, ch.size, ch.starts, ch.ends, lay.spaces
    pos = starts + lay.t_width
    j = np.searchsorted(sp, pos)
    ok = lay.t_ok & (sp[np.minimum(j, len(sp) - 1)] == pos)
    tokens: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rest = pos.copy()
    for k, name in enumerate(names):
        jk = np.minimum(j + k, len(sp) - 1)
        tok_start = np.minimum(sp[jk] + 1, size)
        tok_end = np.minimum(sp[np.minimum(jk + 1, len(sp) - 1)], ends)
        ok &= (sp[jk] < ends) & (tok_end > tok_start)
        tokens[name] = (tok_start, tok_end)
        rest = tok_end
    cut = lay.t_ok & ~ok & ~lay.blank
    bad_time = ~lay.t_ok & ~lay.blank
    # a line cut inside its timestamp (the last line of a file being written) is truncated
    first = a[np.minimum(starts, size)]
    cut_time = bad_time & (lay.lengths < 19) & (first >= 48) & (first <= 57)
    return _Head(tokens, ok, rest, cut | cut_time, bad_time & ~cut_time)


def _pairs(ch: Chunk, lay: _Layout, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``=`` of the key=value pairs after the head, and the line of each."""
    starts, quotes = ch.starts, lay.quotes
    eq = np.flatnonzero(ch.a[: ch.size] == _EQUALS)
    line = np.searchsorted(starts, eq, side="right") - 1
    keep = (line >= 0) & (eq >= 8)
    line = np.maximum(line, 0)
    keep &= eq > rest[line]
    if len(quotes) > 1:
        # '=' inside a quoted value is text, not a key: only lines holding quotes need the test
        qline = np.searchsorted(starts, quotes[:-1], side="right") - 1
        qi = np.flatnonzero(np.isin(line, qline))
        before = np.searchsorted(quotes, eq[qi]) - np.searchsorted(quotes, starts[line[qi]])
        keep[qi[before % 2 == 1]] = False
    return eq[keep], line[keep]


def _numbers(
    ch: Chunk, lay: _Layout, u: np.ndarray, eq: np.ndarray, line: np.ndarray, kid: np.ndarray, fields: list[str]
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray]:
    """The numeric columns (null for keys the chunk lacks), and the lines cut inside a number (an
    empty value at the very end of the line) and those with a bad one. Every numeric value of the
    chunk is read in one pass, then scattered into a field x line matrix."""
    n = ch.n
    cols: dict[str, pa.Array] = {}
    cut = np.zeros(n, dtype=bool)
    bad_value = np.zeros(n, dtype=bool)
    numeric_ids = np.array([k for k, f in enumerate(fields) if f in NUMERIC_FIELDS], dtype=np.int64)
    is_num = np.isin(kid, numeric_ids)
    if is_num.any():
        at, rows, kn = eq[is_num], line[is_num], kid[is_num]
        values, valid = _number_values(ch, lay, u, at, rows)
        bad = np.flatnonzero(~valid)
        at_end = (at[bad] + 1) >= ch.ends[rows[bad]]
        cut[rows[bad[at_end]]] = True
        bad_value[rows[bad[~at_end]]] = True
        matrix = np.full((len(fields), n), -1, dtype=np.int64)
        matrix[kn[valid], rows[valid]] = values[valid]
        cols = {fields[k]: bs.int_array(matrix[k]) for k in numeric_ids if (kn == k).any()}
    for fld in NUMERIC_FIELDS:
        cols.setdefault(fld, pa.nulls(n, pa.int64()))
    return cols, cut, bad_value


def _number_values(
    ch: Chunk, lay: _Layout, u: np.ndarray, at: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The unsigned number after each ``=`` at ``at`` (on lines ``rows``), and whether it is one:
    digits up to a space or the end of the line."""
    a, ends, sp = ch.a, ch.ends, lay.spaces
    values, ndig = bs.digits_at(u[at + 1])  # up to 8 digits from one 64-bit word
    stop = at + 1 + ndig
    term = a[stop]
    end_of_line = stop >= ends[rows]
    valid = (ndig > 0) & (end_of_line | (term == _SPACE))
    longer = (ndig == 8) & ~end_of_line & (term >= 48) & (term <= 57)
    if longer.any():  # more than 8 digits: parse up to the next space
        li = np.flatnonzero(longer)
        stop_l = np.minimum(sp[np.minimum(np.searchsorted(sp, at[li]), len(sp) - 1)], ends[rows[li]])
        values[li], valid[li] = bs.parse_uints(a, at[li] + 1, stop_l - at[li] - 1)
    return values, valid


def _texts(
    ch: Chunk, lay: _Layout, eq: np.ndarray, line: np.ndarray, kid: np.ndarray, fields: list[str]
) -> tuple[dict[str, Spans], np.ndarray]:
    """The spans of the text values per field (a quoted value without its quotes), and the lines
    whose quoted value is not closed (cut)."""
    a, ends, sp, quotes, n = ch.a, ch.ends, lay.spaces, lay.quotes, ch.n
    spans: dict[str, Spans] = {}
    cut = np.zeros(n, dtype=bool)
    for k, fld in enumerate(fields):
        if fld in NUMERIC_FIELDS:
            continue
        hit = kid == k
        if not hit.any():
            continue
        rows, at = line[hit], eq[hit]
        vstart = at + 1
        quoted = a[vstart] == _QUOTE
        vend = np.minimum(sp[np.minimum(np.searchsorted(sp, vstart), len(sp) - 1)], ends[rows])
        vbeg = vstart.copy()
        if quoted.any():
            qi = np.flatnonzero(quoted)
            close = quotes[np.minimum(np.searchsorted(quotes, vstart[qi] + 1), len(quotes) - 1)]
            unterminated = close >= ends[rows[qi]]
            cut[rows[qi[unterminated]]] = True
            vbeg[qi] = vstart[qi] + 1
            vend[qi] = np.where(unterminated, ends[rows[qi]], close)
        sb = np.zeros(n, dtype=np.int64)
        se = np.zeros(n, dtype=np.int64)
        sv = np.zeros(n, dtype=bool)
        sb[rows], se[rows], sv[rows] = vbeg, vend, True
        spans[fld] = (sb, se, sv)
    return spans, cut


def _add_head_spans(ch: Chunk, head: _Head, spans: dict[str, Spans]) -> None:
    """Head tokens are text values too, unless a key of the same name was given."""
    a = ch.a
    for name, (tb, te) in head.tokens.items():
        if name == "link":  # "[zz11]" -> "zz11"
            tb = tb + (a[tb] == _OPEN_BRACKET)
            te = te - ((te > tb) & (a[np.maximum(te - 1, 0)] == _CLOSE_BRACKET))
        spans.setdefault(name, (tb, te, head.ok))


def _valid_lines(ch: Chunk, lay: _Layout, head: _Head, cut: np.ndarray, bad_value: np.ndarray) -> np.ndarray:
    """Lines with a time, a whole head and good values; the others are counted by reason."""
    cut = cut & head.ok
    bad_value = bad_value & head.ok & ~cut
    ok = head.ok & ~cut & ~bad_value
    ch.malformed("truncated", (head.cut | cut) & ~lay.blank)
    ch.malformed("bad_time", head.bad_time)
    ch.malformed("bad_value", bad_value)
    return ok


def _kinds(ch: Chunk, source: LogSource, head: _Head, spans: dict[str, Spans]) -> np.ndarray:
    """The event kind of each line from its level, event word and error code."""
    a, n = ch.a, ch.n
    if "level" in head.tokens:
        lb, le = head.tokens["level"]
        err_level = bs.word_in(bs.pack_words(a, lb, le - lb), source.error_levels)
    else:
        err_level = np.zeros(n, dtype=bool)
    if "event" in head.tokens:
        eb, ee = head.tokens["event"]
        packed_events = bs.pack_words(a, eb, ee - eb)
        event_hit = {k: bs.word_in(packed_events, words) for k, words in source.events.items()}
    else:
        event_hit = {"apply": np.ones(n, dtype=bool)}
    has_code = spans["code"][2] if "code" in spans else np.zeros(n, dtype=bool)
    return kind_from_words(event_hit, err_level, has_code)


def _text_columns(
    ch: Chunk, spans: dict[str, Spans], ok: np.ndarray, kind: np.ndarray, link_default: str | None
) -> dict[str, pa.Array]:
    """The link, table and code columns, and the message of error and restart lines."""
    a, n = ch.a, ch.n
    cols: dict[str, pa.Array] = {}
    for fld in ("link", "table", "code"):
        if fld in spans:
            tb, te, tv = spans[fld]
            cols[fld] = bs.token_array(a, tb, te, tv & ok)
        elif fld == "link" and link_default is not None:
            cols[fld] = pa.array([link_default.encode()] * n, pa.large_binary())
        else:
            cols[fld] = pa.nulls(n, pa.large_binary())
    msg_spans = spans.get("msg") or spans.get("reason")
    if msg_spans is not None and "reason" in spans and "msg" in spans:
        mb, me, mv = spans["msg"]
        rb, re_, rv = spans["reason"]
        msg_spans = (np.where(mv, mb, rb), np.where(mv, me, re_), mv | rv)
    if msg_spans is not None:
        # only error and restart lines keep their text: it is what the findings quote
        mb, me, mv = msg_spans
        cols["msg"] = bs.binary_array(a, mb, me, mv & ok & ((kind == KIND_ERROR) | (kind == KIND_RESTART)))
    else:
        cols["msg"] = pa.nulls(n, pa.large_binary())
    return cols
