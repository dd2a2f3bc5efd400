"""Vectorised helpers over a chunk of raw log bytes (numpy): line spans, fixed-width timestamps,
word comparison and gathering byte ranges into Arrow arrays.

Working on bytes rather than decoded text is what lets one parser read UTF-8 and GBK lines in the
same file at full speed: only the few lines with non-ASCII bytes are ever decoded in Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

PAD = 64  # zero bytes appended to a chunk so fixed-width gathers never run past its end
WORD = 16  # words (keys, levels, event names) are compared on their first 16 bytes

_DIGIT_POS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_MS_PER_DAY = 86_400_000


def padded(buf: bytes) -> np.ndarray:
    """The chunk as a uint8 array with PAD zero bytes after it."""
    out = np.zeros(len(buf) + PAD, dtype=np.uint8)
    out[: len(buf)] = np.frombuffer(buf, dtype=np.uint8)
    return out


def line_spans(a: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and content end (without ``\\n`` / ``\\r\\n``) of every line in ``a[:size]``."""
    nl = np.flatnonzero(a[:size] == 10)
    starts = np.empty(len(nl) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl + 1
    ends = np.empty(len(nl) + 1, dtype=np.int64)
    ends[:-1] = nl
    ends[-1] = size
    if starts[-1] >= size:  # the chunk ends with a newline: no partial last line
        starts, ends = starts[:-1], ends[:-1]
    cr = (ends > starts) & (a[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - cr


def gather(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """An N x width matrix of the bytes at ``starts``; bytes at or past ``lengths`` are zero."""
    cols = np.arange(width)
    m = a[np.minimum(starts[:, None] + cols, len(a) - 1)]
    m[cols[None, :] >= lengths[:, None]] = 0
    return m


_LOW = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def words64(a: np.ndarray) -> np.ndarray:
    """Overlapping little-endian uint64 view: ``words64(a)[p]`` holds bytes ``a[p:p+8]``.

    One gather then reads 8 bytes at any offset, which is what makes word comparison and digit
    parsing cheap (no N x width index matrices).
    """
    return np.ndarray(shape=(len(a) - 7,), dtype="<u8", buffer=a, strides=(1,))


def pack_words(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each span's first WORD bytes as two uint64 (N x 2); spans longer than WORD never match."""
    u = words64(a)
    hi = len(u) - 1
    length = np.clip(lengths, 0, WORD)
    out = np.empty((len(starts), 2), dtype=np.uint64)
    out[:, 0] = u[np.clip(starts, 0, hi)] & _LOW[np.minimum(length, 8)]
    out[:, 1] = u[np.clip(starts + 8, 0, hi)] & _LOW[np.clip(length - 8, 0, 8)]
    out[lengths > WORD] = np.iinfo(np.uint64).max
    return out


def pack_word(word: str) -> np.ndarray:
    raw = word.encode("utf-8")[:WORD].ljust(WORD, b"\0")
    return np.frombuffer(raw, dtype="<u8")


def word_in(packed: np.ndarray, words: tuple[str, ...] | list[str]) -> np.ndarray:
    """Which packed spans equal one of ``words`` (exact, case-sensitive)."""
    hit = np.zeros(len(packed), dtype=bool)
    for word in words:
        w = pack_word(word)
        hit |= (packed[:, 0] == w[0]) & (packed[:, 1] == w[1])
    return hit


_D = np.uint64(0x3030303030303030)
_HI4 = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIX = np.uint64(0x0606060606060606)


def _digit_bytes(w: np.ndarray) -> np.ndarray:
    """0xFF in each byte of ``w`` that is an ASCII digit, 0 elsewhere (byte-wise flags)."""
    hi = (w & _HI4) ^ _D
    lo = ((w + _SIX) & _HI4) ^ _D
    bad = hi | lo  # non-zero in each non-digit byte
    # fold each byte's bits into its top bit, then spread the top bit to the whole byte
    x = bad | (bad >> np.uint64(4))
    x = x | (x >> np.uint64(2))
    x = x | (x >> np.uint64(1))
    nonzero_low = x & np.uint64(0x0101010101010101)  # 1 in each non-digit byte
    return ~(nonzero_low * np.uint64(0xFF))


def parse_times(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``YYYY-MM-DD[ T]HH:MM:SS[.fff...]`` at ``starts``.

    Returns (milliseconds since 1970 of the wall-clock time as written, valid, width in bytes).
    A zone suffix after the fraction is ignored: log times are read as the local time they show.
    Works on three 8-byte words per line (SWAR) rather than on single bytes.
    """
    u = words64(a)
    hi = len(u) - 1
    w0 = u[np.clip(starts, 0, hi)]  # "2026-10-"
    w1 = u[np.clip(starts + 8, 0, hi)]  # "09 09:31"
    w2 = u[np.clip(starts + 16, 0, hi)]  # ":02.117 "
    # expected layout: digit bytes and separators at fixed places
    m0 = np.uint64(0x00FFFF00FFFFFFFF)  # bytes 0-3, 5-6 digits
    m1 = np.uint64(0xFFFF00FFFF00FFFF)  # bytes 8-9, 11-12, 14-15
    m2 = np.uint64(0x0000000000FFFF00)  # bytes 17-18
    ok = lengths >= 19
    ok &= (_digit_bytes(w0) & m0) == m0
    ok &= (_digit_bytes(w1) & m1) == m1
    ok &= (_digit_bytes(w2) & m2) == m2
    ok &= (w0 & np.uint64(0xFF0000FF00000000)) == np.uint64(0x2D00002D00000000)  # '-' at 4 and 7
    sep = (w1 >> np.uint64(16)) & np.uint64(0xFF)
    ok &= (sep == 32) | (sep == 84)  # ' ' or 'T'
    ok &= (w1 & np.uint64(0x0000FF0000000000)) == np.uint64(0x00003A0000000000)  # ':' at 13
    ok &= (w2 & np.uint64(0xFF)) == np.uint64(0x3A)  # ':' at 16
    d0 = w0 & np.uint64(0x0F0F0F0F0F0F0F0F)  # low nibble of an ASCII digit is its value
    d1 = w1 & np.uint64(0x0F0F0F0F0F0F0F0F)
    d2 = w2 & np.uint64(0x0F0F0F0F0F0F0F0F)

    def dig(w: np.ndarray, k: int) -> np.ndarray:
        return ((w >> np.uint64(8 * k)) & np.uint64(0xF)).astype(np.int64)

    year = dig(d0, 0) * 1000 + dig(d0, 1) * 100 + dig(d0, 2) * 10 + dig(d0, 3)
    month = dig(d0, 5) * 10 + dig(d0, 6)
    day = dig(d1, 0) * 10 + dig(d1, 1)
    hour = dig(d1, 3) * 10 + dig(d1, 4)
    minute = dig(d1, 6) * 10 + dig(d1, 7)
    second = dig(d2, 1) * 10 + dig(d2, 2)
    ok &= (hour < 24) & (minute < 60) & (second < 61)
    # fraction: '.' then 1-9 digits; milliseconds from the first three
    is_frac = ((w2 >> np.uint64(24)) & np.uint64(0xFF)) == 46
    nfrac = np.where(is_frac, leading_digits(u[np.clip(starts + 20, 0, hi)]), 0)
    nfrac = np.minimum(nfrac, lengths - 20)
    f = dig(d2, 4) * 100 + dig(d2, 5) * 10 + dig(d2, 6)
    millis = np.where(nfrac >= 3, f, np.where(nfrac == 2, f - dig(d2, 6), np.where(nfrac == 1, dig(d2, 4) * 100, 0)))
    width = np.where(nfrac > 0, 20 + nfrac, 19)
    # a chunk holds few distinct dates: convert each once, then spread
    ymd = year * 10_000 + month * 100 + day
    dates, inverse = np.unique(ymd, return_inverse=True)
    uy, um, ud = dates // 10_000, dates // 100 % 100, dates % 100
    date_ok = (um >= 1) & (um <= 12) & (ud >= 1) & (ud <= _days_in_month(uy, um))
    ms = _days_from_civil(uy, um, ud)[inverse] * _MS_PER_DAY
    ms += ((hour * 60 + minute) * 60 + second) * 1000 + millis
    ok &= date_ok[inverse]
    return np.where(ok, ms, 0), ok, width


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    base = np.array([31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    return base + ((month == 2) & leap)


def swar8(w: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse up to 8 ASCII digits held in the low ``length`` bytes of ``w`` (SWAR)."""
    keep = w & _LOW[np.clip(length, 0, 8)]
    shift = np.uint64(8) * (np.uint64(8) - np.clip(length, 0, 8).astype(np.uint64))
    shift = np.minimum(shift, np.uint64(63))
    zeros = np.where(length >= 8, np.uint64(0), np.uint64(0x3030303030303030) & _LOW[8 - np.clip(length, 0, 8)])
    v = np.where(length >= 8, keep, (keep << shift) | zeros)
    ok = ((v & np.uint64(0xF0F0F0F0F0F0F0F0)) == np.uint64(0x3030303030303030)) & (
        ((v + np.uint64(0x0606060606060606)) & np.uint64(0xF0F0F0F0F0F0F0F0)) == np.uint64(0x3030303030303030)
    )
    v = v - np.uint64(0x3030303030303030)
    v = (v * np.uint64(10)) + (v >> np.uint64(8))
    v = ((v & np.uint64(0x000000FF000000FF)) * np.uint64(100 + (1000000 << 32))) + (
        ((v >> np.uint64(16)) & np.uint64(0x000000FF000000FF)) * np.uint64(1 + (10000 << 32))
    )
    return (v >> np.uint64(32)).astype(np.int64), ok


def key_before(before_lo: np.ndarray, before_hi: np.ndarray, key: str) -> np.ndarray:
    """Which '=' signs have `` <key>`` right before them, given the 16 bytes before each
    (``before_lo`` = the 8 bytes just before, ``before_hi`` = the 8 before those)."""
    pattern = (" " + key).encode("utf-8")
    tail, head = pattern[-8:], pattern[:-8]
    hit = (before_lo >> np.uint64(8 * (8 - len(tail)))) == np.uint64(int.from_bytes(tail, "little"))
    if head:
        hit &= (before_hi >> np.uint64(8 * (8 - len(head)))) == np.uint64(int.from_bytes(head, "little"))
    return hit


_LUT_CACHE: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}


def _key_lut(keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A 2**24-entry table from the last three bytes before '=' to the one key ending so, with
    each key's shift and pattern; None when keys are too long or share their last three bytes."""
    if keys in _LUT_CACHE:
        return _LUT_CACHE[keys]
    patterns = [(" " + k).encode("utf-8") for k in keys]
    lut = None
    if (
        all(len(p) <= 8 for p in patterns)
        and len({p[-3:] for p in patterns}) == len(patterns)
        and all(len(p) >= 3 for p in patterns)
    ):
        table = np.full(1 << 24, len(keys), dtype=np.int16)
        for k, p in enumerate(patterns):
            table[int.from_bytes(p[-3:], "little")] = k
        shifts = np.array([8 * (8 - len(p)) for p in patterns] + [0], dtype=np.uint64)
        pats = np.array([int.from_bytes(p, "little") for p in patterns] + [2**64 - 1], dtype=np.uint64)
        lut = (table, shifts, pats)
    _LUT_CACHE[keys] = lut
    return lut


def key_ids(before_lo: np.ndarray, before_hi: Callable[[], np.ndarray], keys: list[str]) -> np.ndarray:
    """Index in ``keys`` of the `` <key>`` right before each '=' sign, or -1.

    ``before_hi`` gives the 8 bytes before those, only needed (and read) for keys of more than
    7 bytes or keys sharing their last three bytes."""
    lut = _key_lut(tuple(keys))
    if lut is not None:
        table, shifts, pats = lut
        cand = table[(before_lo >> np.uint64(40)).astype(np.int64)]
        hit = (before_lo >> shifts[cand]) == pats[cand]
        return np.where(hit, cand, -1).astype(np.int64)
    kid = np.full(len(before_lo), -1, dtype=np.int64)
    hi = before_hi()
    for k, key in enumerate(keys):
        kid[key_before(before_lo, hi, key)] = k
    return kid


def leading_digits(w: np.ndarray) -> np.ndarray:
    """How many of the 8 bytes in each word, from the first, are ASCII digits (0-8)."""
    hi_ok = (w & np.uint64(0xF0F0F0F0F0F0F0F0)) ^ np.uint64(0x3030303030303030)
    lo_ok = ((w + np.uint64(0x0606060606060606)) & np.uint64(0xF0F0F0F0F0F0F0F0)) ^ np.uint64(0x3030303030303030)
    bad = hi_ok | lo_ok  # non-zero bits in every byte that is not a digit
    low = bad & (~bad + np.uint64(1))  # lowest set bit: inside the first non-digit byte
    # bits below it: 8 per digit byte before it (and 64 when every byte is a digit)
    below = np.bitwise_count(low - np.uint64(1)).astype(np.int64)
    return below // 8


def digits_at(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, digit count) of the run of ASCII digits that starts each word (at most 8 digits).

    One SWAR pass: the digit count comes from the first non-digit byte, the value from the low
    nibbles of the digit bytes, right-aligned and combined in three multiply steps.
    """
    hi = (w & _HI4) ^ _D
    lo = ((w + _SIX) & _HI4) ^ _D
    bad = hi | lo
    low = bad & (~bad + np.uint64(1))
    ndig = np.bitwise_count(low - np.uint64(1)) >> np.uint8(3)  # 0..8
    d = w & _LOW[ndig] & np.uint64(0x0F0F0F0F0F0F0F0F)
    d = d << ((np.uint64(8) - ndig.astype(np.uint64)) * np.uint64(8) & np.uint64(63))
    d = np.where(ndig == 0, np.uint64(0), d)
    d = (d * np.uint64(10)) + (d >> np.uint64(8))
    d = (d & np.uint64(0x000000FF000000FF)) * np.uint64(100 + (1000000 << 32)) + (
        (d >> np.uint64(16)) & np.uint64(0x000000FF000000FF)
    ) * np.uint64(1 + (10000 << 32))
    return (d >> np.uint64(32)).astype(np.int64), ndig.astype(np.int64)


def parse_uints(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned decimal integers of 1-16 digits at the spans. Returns (values, valid); -1 if invalid."""
    u = words64(a)
    hi = len(u) - 1
    lengths = lengths.astype(np.int64)
    head_len = np.clip(lengths - 8, 0, 8)  # digits before the last 8
    tail_start = starts + head_len
    head, head_ok = swar8(u[np.clip(starts, 0, hi)], head_len)
    tail, tail_ok = swar8(u[np.clip(tail_start, 0, hi)], np.minimum(lengths, 8))
    ok = (lengths >= 1) & (lengths <= 16) & tail_ok & (head_ok | (head_len == 0))
    values = np.where(head_len > 0, head * 100_000_000, 0) + tail
    return np.where(ok, values, -1), ok


def binary_array(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An Arrow binary array of the byte ranges ``[starts, ends)``; null where not ``valid``."""
    n = len(starts)
    lengths = np.where(valid, np.maximum(ends - starts, 0), 0).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    idx = np.repeat(starts.astype(np.int64) - offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
    data = a[idx] if total else np.zeros(0, dtype=np.uint8)
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.large_binary(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)])


def token_array(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Like :func:`binary_array` for short, repetitive tokens (link, table, code): the distinct
    values are found on packed words, so only one copy of each is gathered."""
    lengths = np.maximum(ends - starts, 0)
    if not valid.any() or (lengths[valid] > WORD).any():
        return binary_array(a, starts, ends, valid)
    packed = pack_words(a, starts, lengths)
    # one 64-bit hash per token (length included) -> hash-based factorisation, no sort
    h = packed[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ packed[:, 1] ^ (lengths.astype(np.uint64) << np.uint64(56))
    h[~valid] = 0
    codes, uniques = pd.factorize(h)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # first row of each distinct token
    values = binary_array(a, starts[first], ends[first], np.ones(len(first), dtype=bool))
    indices = pa.Array.from_buffers(
        pa.int32(),
        len(codes),
        [
            None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little")),
            pa.py_buffer(codes.astype(np.int32)),
        ],
    )
    return values.take(indices)


def int_array(values: np.ndarray) -> pa.Array:
    """int64 Arrow array; negative values (the parsers' "absent") become null."""
    valid = values >= 0
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), len(values), [validity, pa.py_buffer(np.ascontiguousarray(values, np.int64))])
