"""The SQLite dialect's fast paths for DECIMAL and TIMESTAMP text give exactly the exact path's text.

The embedded demo spent most of a check in ``decimal_fixed`` (Decimal quantize, 3.2 us a value)
and ``timestamp_canon``; the fast paths skip that work for the values SQLite usually hands back.
The references below are the exact paths, copied from before the fast paths were added.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncverify.dialects import sqlite as lite


def exact_fixed(value: Any, scale: int) -> str | None:
    number = lite._finite_decimal(int(value) if isinstance(value, bool) else value)
    if number is None:
        return str(value)
    with localcontext() as ctx:
        ctx.prec = max(64, len(number.as_tuple().digits) + scale + 2)
        exact = number.quantize(Decimal(1).scaleb(-scale))
    if exact != number:
        return format(number.normalize(), "f")
    text = format(exact, "f")
    return text[1:] if text.startswith("-") and exact == 0 else text


def exact_timestamp(value: Any, precision: int) -> str | None:
    m = lite._parse_time(value)
    if m is None:
        return str(value)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if precision > 0:
        text += "." + f"{m.microsecond:06d}"[:precision]
    return text


def outcome(f: Any, *args: Any) -> Any:
    try:
        return f(*args)
    except ArithmeticError as exc:         # the exact path cannot quantize ~1e308 either
        return type(exc).__name__


AMOUNTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e13, max_value=1e13).map(lambda f: round(f, 2)),
    st.decimals(min_value=-10**12, max_value=10**12, places=4).map(float),
    st.integers(min_value=-(10**20), max_value=10**20), st.booleans(),
    st.sampled_from([0.0, -0.0, 100.0, 1e15, 1e16, 1e-7, 0.1, -0.01, 5e-324, "1.50", " 2 "]))


@settings(max_examples=3000, deadline=None)
@given(value=AMOUNTS, scale=st.integers(0, 8))
def test_decimal_fixed_fast_path_equals_exact_path(value: Any, scale: int) -> None:
    assert outcome(lite.decimal_fixed, value, scale) == outcome(exact_fixed, value, scale)


MOMENTS = st.datetimes().map(lambda m: m.isoformat(sep=" "))
ODD = st.sampled_from(["2026-10-03 12:34:56", "2026-13-03 12:34:56", "2026-10-03 12:34:56+08:00",
                       "2026-10-03 12:34:56.5Z", "2026-10-03T12:34:56", "2026-10-03 12:34:56.",
                       "2026-10-03 24:00:00", "2026-10-03 12:34:5x", "2026-10-03 12:34:56.12+08:00"])


@settings(max_examples=2000, deadline=None)
@given(value=st.one_of(MOMENTS, ODD, MOMENTS.map(lambda t: t + "+08:00")), precision=st.integers(0, 6))
def test_timestamp_fast_path_equals_exact_path(value: str, precision: int) -> None:
    assert lite.timestamp_canon(value, precision) == exact_timestamp(value, precision)
