"""Bucketing levels of the exact diff: key ranges and hash buckets, rendered and run on SQLite
(the embedded dialect; MariaDB and PostgreSQL run the same SQL in the integration tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from syncverify.compare import CompareSpec, TableRef
from syncverify.compare.buckets import HashLevel, RangeLevel, runs
from syncverify.compare.plan import resolve
from syncverify.connect.engine import make_engine
from syncverify.dialects.sqlite import decimal_fixed


def test_runs_merge_consecutive_buckets() -> None:
    assert runs([]) == []
    assert runs([7, 3, 1, 2, 2]) == [(1, 3), (7, 7)]
    assert runs([0, 2, 4]) == [(0, 0), (2, 2), (4, 4)]


def test_range_levels_span_the_keys_and_refine() -> None:
    level = RangeLevel.spanning(1, 1_000_000, 4096)
    assert level.width == 245 and level.buckets == 4082
    assert RangeLevel.spanning(5, 5, 4096).buckets == 1
    assert RangeLevel.spanning(-10, 10, 3).width == 7
    finer = level.finer(16)
    assert finer.width == 15 and finer.low == level.low
    one = RangeLevel(0, 9, 1)
    assert one.finer(4) == one                 # a key per bucket: nothing finer to split into
    assert HashLevel(4096).finer(8) == HashLevel(32768)


@pytest.fixture(scope="module")
def keyed_table(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    url = f"sqlite:///{tmp_path_factory.mktemp('buckets') / 'b.sqlite'}"
    writer = sa.create_engine(url)
    with writer.begin() as c:
        c.execute(sa.text("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))"))
    writer.dispose()
    engine = make_engine(url, read_only=False)
    yield engine
    engine.dispose()


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.integers(-(2**40), 2**40) | st.integers(-20, 20), unique=True, min_size=1, max_size=40),
       buckets=st.integers(1, 50), pick=st.data())
def test_range_buckets_and_their_filter_agree_with_python(keyed_table: sa.Engine, keys: list[int], buckets: int,
                                                          pick: st.DataObject) -> None:
    with keyed_table.begin() as c:
        c.execute(sa.text("DELETE FROM t"))
        c.execute(sa.text("INSERT INTO t (id, v) VALUES (:id, 'x')"), [{"id": k} for k in keys])
    side = resolve(TableRef(keyed_table, "t"), TableRef(keyed_table, "t"), CompareSpec(key=["id"])).source
    level = RangeLevel.spanning(min(keys), max(keys), buckets)
    with keyed_table.connect() as c:
        got = dict(c.execute(sa.text(f"SELECT id, {level.bucket_expr(side)} FROM t")).all())
        assert got == {k: (k - level.low) // level.width for k in keys}
        assert set(got.values()) <= set(range(level.buckets))
        chosen = pick.draw(st.lists(st.sampled_from(sorted(set(got.values()))), max_size=6))
        inside = {r[0] for r in c.execute(sa.text(f"SELECT id FROM t WHERE {level.within(side, chosen)}"))}
    assert inside == {k for k, b in got.items() if b in set(chosen)}


@pytest.mark.parametrize(("value", "scale", "text"), [
    ("100.5", 2, "100.50"), (5, 2, "5.00"), (100.5, 2, "100.50"), (Decimal("-0.00"), 2, "0.00"),
    (Decimal("-1.2"), 3, "-1.200"), (7, 0, "7"), ("100.505", 2, "100.505"), (None, 2, None),
    (Decimal("12345678901234567890123456.12345678"), 8, "12345678901234567890123456.12345678"),
    (True, 2, "1.00"), ("abc", 2, "abc"),
])
def test_decimal_fixed_writes_the_declared_scale(value: object, scale: int, text: str | None) -> None:
    assert decimal_fixed(value, scale) == text


@given(a=st.decimals(places=3, allow_nan=False, allow_infinity=False, min_value=-10**20, max_value=10**20),
       b=st.decimals(places=3, allow_nan=False, allow_infinity=False, min_value=-10**20, max_value=10**20))
def test_decimal_fixed_text_is_equal_exactly_when_values_are(a: Decimal, b: Decimal) -> None:
    assert (decimal_fixed(a, 3) == decimal_fixed(b, 3)) == (a == b)
    assert decimal_fixed(a, 3) == f"{a:.3f}".replace("-0.000", "0.000")


# Sorted, disjoint half-open ranges: cut points drawn, paired off.
RANGES = st.lists(st.integers(-(2**40), 2**40), unique=True, max_size=60).map(sorted).map(
    lambda cuts: [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)])


@settings(max_examples=60, deadline=None)
@given(ranges=RANGES, probes=st.lists(st.integers(-(2**40) - 2, 2**40 + 2), max_size=30))
def test_in_ranges_flat_and_split_agree_with_python(ranges: list[tuple[int, int]], probes: list[int]) -> None:
    """MySQL's halving spelling and the flat OR select exactly the keys in the ranges (run in
    SQLite, which reads both spellings: the predicate is plain SQL)."""
    from syncverify.dialects.base import Dialect
    from syncverify.dialects.mysql import MySQLDialect

    keys = probes + [a for a, _ in ranges] + [b - 1 for _, b in ranges] + [b for _, b in ranges]
    expected = sorted({k for k in keys if any(a <= k < b for a, b in ranges)})
    engine = sa.create_engine("sqlite://")
    with engine.connect() as c:
        c.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        for k in set(keys):
            c.execute(sa.text("INSERT INTO t VALUES (:k)"), {"k": k})
        for spelling in (Dialect().in_ranges("x", ranges), MySQLDialect().in_ranges("`x`", ranges)):
            got = [r[0] for r in c.execute(sa.text(f"SELECT x FROM t WHERE {spelling} ORDER BY x"))]
            assert got == expected, spelling
    engine.dispose()
