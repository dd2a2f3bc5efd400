"""Hypothesis properties of the comparison engine on real MariaDB, PostgreSQL and SQLite.

1. Equal rows give the same canonical key, row hash and bucket on every dialect.
2. For random small tables and random mutations, ``diff_tables`` equals a naive in-Python diff,
   for each pair of dialects and for PostgreSQL with itself (its native row hash; direction
   drawn at random), with the target's decimals at another scale and its timestamps carrying
   sub-second noise that the default precision ignores.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from compare_helpers import create_table, drop_tables, found, naive_diff, ts6, unique_name
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from syncverify.compare import CompareSpec, TableRef, diff_tables
from syncverify.compare.buckets import MAX_RANGE_SPAN, HashLevel
from syncverify.compare.plan import resolve
from syncverify.connect.engine import make_engine

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]

# Every pair of dialects, and PostgreSQL to itself: the one pair that hashes rows with a native
# hash (hashtextextended) instead of SHA-256.
PAIRS = [("mariadb", "postgresql"), ("postgresql", "sqlite"), ("sqlite", "mariadb"), ("postgresql", "postgresql")]


def expected_row_hash(a: str, b: str) -> str:
    return "postgresql-hashtextextended" if a == b == "postgresql" else "sha256"

TEXT = st.text(alphabet=st.sampled_from(list("aAbB 0-_中文發票")), max_size=6)
KEY = st.text(alphabet=st.sampled_from(list("abcAB01 中")), min_size=1, max_size=5)


def keyed(values: st.SearchStrategy[Any], prefix: str = "", max_size: int = 12) -> st.SearchStrategy[dict[str, Any]]:
    """Rows by key. Keys differ beyond case and trailing spaces: MariaDB's default collation
    would take 'a' and 'A ' for the same primary key."""
    keys = st.lists(KEY.map(lambda k: prefix + k), unique_by=lambda k: k.rstrip().lower(), max_size=max_size)
    return keys.flatmap(lambda ks: st.tuples(*[values for _ in ks]).map(lambda vs: dict(zip(ks, vs, strict=True))))
# SQLite keeps NUMERIC values as doubles: amounts stay within 15 significant digits there.
AMOUNT = st.decimals(min_value=Decimal("-9999999999999.99"), max_value=Decimal("9999999999999.99"), places=2,
                     allow_nan=False, allow_infinity=False)
MOMENT = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31))
# Each example creates tables on real servers: no shrinking, so a failure reports quickly.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
FLOAT = st.integers(min_value=-10**9, max_value=10**9).map(lambda n: n / 64)   # exact in binary


def row_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "je": st.none() | AMOUNT,
        "bz": st.none() | TEXT,
        "n": st.none() | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
        "kprq": st.none() | MOMENT.map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)),
        "f": st.none() | FLOAT,
    })


def columns(scale: int) -> list[sa.Column[Any]]:
    return [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(20, scale)),
            sa.Column("bz", sa.String(20)), sa.Column("n", sa.BigInteger), sa.Column("kprq", ts6()),
            sa.Column("f", sa.Double)]


@pytest.fixture(scope="module")
def urls(mariadb_module_url: str, postgres_module_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"mariadb": mariadb_module_url, "postgresql": postgres_module_url,
            "sqlite": f"sqlite:///{tmp_path_factory.mktemp('svprop') / 'prop.sqlite'}"}


@pytest.fixture(scope="module")
def engines(urls: dict[str, str]) -> dict[str, sa.Engine]:
    made = {name: make_engine(url) for name, url in urls.items()}
    yield made
    for e in made.values():
        e.dispose()


@settings(max_examples=12, deadline=None, phases=NO_SHRINK, suppress_health_check=SLOW_OK)
@given(rows=keyed(row_values()))
def test_equal_rows_hash_alike_on_every_dialect(urls: dict[str, str], engines: dict[str, sa.Engine],
                                                rows: dict[str, dict[str, Any]]) -> None:
    name = unique_name("svp_eq")
    data = [{"fphm": k, **v} for k, v in rows.items()]
    seen = {}
    for db, url in urls.items():
        create_table(url, name, columns(2), data)
        try:
            # SHA-256, the hash every dialect shares (a table compared with itself on PostgreSQL
            # would use its native hash).
            pair = resolve(TableRef(engines[db], name), TableRef(engines[db], name),
                           CompareSpec(key=["fphm"], row_hash="sha256"))
            side = pair.source
            sql, params = side.rows_sql(HashLevel(7), list(range(7)))
            hashes = set(side.run(sql, params))
            buckets = {tuple(r[:1]) for r in side.run(*side.bucket_sums_sql(HashLevel(7), None))}
            seen[db] = (hashes, buckets)
        finally:
            drop_tables(url, name)
    assert seen["mariadb"] == seen["postgresql"] == seen["sqlite"]
    assert {r[0] for r in seen["mariadb"][0]} == set(rows)


def mutate(data: list[dict[str, Any]], ops: list[tuple[int, str, Any]], extra: dict[Any, dict[str, Any]],
           key: str = "fphm") -> list[dict[str, Any]]:
    target = {r[key]: dict(r) for r in data}
    keys = sorted(target)
    for index, column, value in ops:
        if not keys:
            break
        k = keys[index % len(keys)]
        if column == "delete":
            target.pop(k, None)
        elif k in target and column in target[k]:
            target[k][column] = value
    for k, values in extra.items():
        target.setdefault(k, {key: k, **values})
    # Sub-second noise the default whole-second comparison must ignore.
    for r in target.values():
        if r["kprq"] is not None and r["kprq"].microsecond == 0:
            r["kprq"] = r["kprq"].replace(microsecond=123000)
    return list(target.values())


def typed(ops: list[tuple[int, str, Any]], not_null: tuple[str, ...] = ()) -> list[tuple[int, str, Any]]:
    """Drawn values that suit each column's type; text columns get the drawn text (or NULL,
    or '' where the column is NOT NULL)."""
    out = []
    for index, column, value in ops:
        if column in ("je", "n", "f") and value is not None:
            value = {"je": Decimal("1.10"), "n": -7, "f": 2.5}[column]
        if column == "kprq" and value is not None:
            value = dt.datetime(2001, 2, 3, 4, 5, 6)
        if column in not_null and value is None:
            value = ""
        out.append((index, column, value))
    return out


OPS = st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["delete", "je", "bz", "n", "kprq", "f"]),
                         st.none() | st.sampled_from(["", " ", "中", "0"])), max_size=5)


@pytest.mark.parametrize("pair", PAIRS)
@settings(max_examples=10, deadline=None, phases=NO_SHRINK, suppress_health_check=SLOW_OK)
@given(rows=keyed(row_values()), ops=OPS, extra=keyed(row_values(), prefix="x", max_size=2), flip=st.booleans(),
       slices=st.sampled_from([1, 2]), ranges=st.sampled_from([0, 1, 3]))
def test_diff_equals_naive_diff(urls: dict[str, str], engines: dict[str, sa.Engine], pair: tuple[str, str],
                                rows: dict[str, dict[str, Any]], ops: list[tuple[int, str, Any]],
                                extra: dict[str, dict[str, Any]], flip: bool, slices: int, ranges: int) -> None:
    """Hash buckets (``ranges`` 0) or key ranges of ``ranges`` rows (keys that differ in case
    sort apart on PostgreSQL and SQLite and together on MariaDB: the ranges' fallback and the
    held one-sided keys are exercised)."""
    a, b = pair[::-1] if flip else pair
    source = [{"fphm": k, **v} for k, v in rows.items()]
    target = mutate(source, typed(ops), extra)
    s_name, t_name = unique_name("svp_s"), unique_name("svp_t")
    create_table(urls[a], s_name, columns(2), source)
    create_table(urls[b], t_name, columns(4), target)     # another declared scale on the target
    try:
        result = diff_tables(TableRef(engines[a], s_name), TableRef(engines[b], t_name),
                             CompareSpec(key=["fphm"], bucket_count=4, leaf_rows=1, fetch_limit=3,
                                         hash_slices=slices, key_ranges=ranges > 0, range_rows=max(1, ranges)))
    finally:
        drop_tables(urls[a], s_name)
        drop_tables(urls[b], t_name)
    expected = naive_diff(source, target, ["fphm"], ["je", "bz", "n", "kprq", "f"])
    assert found(result) == expected
    assert result.details["row_hash"] == expected_row_hash(a, b)
    assert result.source_rows == len(source) and result.target_rows == len(target)
    assert result.duplicate_count == 0


# Integer keys are bucketed by key range: dense runs, gaps, negatives and keys near 2**62.
INT_KEYS = st.lists(st.one_of(st.integers(-50, 200), st.integers(-(2**61), 2**61), st.integers(10**12, 10**12 + 40)),
                    unique=True, max_size=14)


def int_columns(scale: int) -> list[sa.Column[Any]]:
    return [sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("je", sa.Numeric(20, scale)), sa.Column("bz", sa.String(20), nullable=False),
            sa.Column("n", sa.BigInteger), sa.Column("kprq", ts6())]


@pytest.mark.parametrize("pair", PAIRS)
@settings(max_examples=10, deadline=None, phases=NO_SHRINK, suppress_health_check=SLOW_OK)
@given(keys=INT_KEYS, values=st.data(), ops=OPS, extra=st.lists(st.integers(-(2**61), 2**61), max_size=3),
       flip=st.booleans(), target_scale=st.sampled_from([2, 4]), buckets=st.sampled_from([1, 3, 4096]))
def test_int_key_diff_equals_naive_diff(urls: dict[str, str], engines: dict[str, sa.Engine], pair: tuple[str, str],
                                        keys: list[int], values: st.DataObject, ops: list[tuple[int, str, Any]],
                                        extra: list[int], flip: bool, target_scale: int, buckets: int) -> None:
    """Range buckets over integer keys, refined over several rounds (tiny leaves), with equal
    declared decimal scales on both sides (the databases' own text) or different ones."""
    a, b = pair[::-1] if flip else pair
    draw = values.draw
    row = st.fixed_dictionaries({"je": st.none() | AMOUNT, "bz": TEXT, "n": st.none() | st.integers(-(2**40), 2**40),
                                 "kprq": st.none() | MOMENT.map(lambda m: m.replace(microsecond=0))})
    source = [{"id": k, **draw(row)} for k in keys]
    target = mutate(source, typed(ops, not_null=("bz",)), {k: draw(row) for k in extra}, key="id")
    s_name, t_name = unique_name("svp_is"), unique_name("svp_it")
    create_table(urls[a], s_name, int_columns(2), source)
    create_table(urls[b], t_name, int_columns(target_scale), target)
    try:
        result = diff_tables(TableRef(engines[a], s_name), TableRef(engines[b], t_name),
                             CompareSpec(key=["id"], bucket_count=buckets, leaf_rows=1, fetch_limit=2))
    finally:
        drop_tables(urls[a], s_name)
        drop_tables(urls[b], t_name)
    expected = naive_diff(source, target, ["id"], ["je", "bz", "n", "kprq"])
    assert found(result) == expected
    assert result.details["row_hash"] == expected_row_hash(a, b)
    everything = keys + extra
    narrow = bool(everything) and max(everything) - min(everything) < MAX_RANGE_SPAN
    assert result.details["bucketing"] == ("range" if narrow else "hash")
    assert result.source_rows == len(source) and result.target_rows == len(target)


# Composite text keys (the invoice table's fpdm, fphm): key parts that differ beyond case and
# trailing spaces, as MariaDB's default collation would otherwise take them for one key.
PART = st.text(alphabet=st.sampled_from(list("aAb01 中")), min_size=1, max_size=3)
COMPOSITE_KEYS = st.lists(st.tuples(PART, PART), unique_by=lambda k: (k[0].rstrip().lower(), k[1].rstrip().lower()),
                          max_size=12)


def composite_columns(scale: int) -> list[sa.Column[Any]]:
    return [sa.Column("fpdm", sa.String(12), primary_key=True), sa.Column("fphm", sa.String(8), primary_key=True),
            sa.Column("je", sa.Numeric(20, scale)), sa.Column("bz", sa.String(20)),
            sa.Column("kprq", ts6())]


@pytest.mark.parametrize("pair", PAIRS)
@settings(max_examples=10, deadline=None, phases=NO_SHRINK, suppress_health_check=SLOW_OK)
@given(keys=COMPOSITE_KEYS, values=st.data(), deletes=st.lists(st.integers(0, 50), max_size=3),
       changes=st.lists(st.integers(0, 50), max_size=3), extra=st.lists(st.tuples(PART, PART), max_size=2),
       flip=st.booleans(), ranges=st.sampled_from([0, 1, 2, 5]), fetch_limit=st.sampled_from([1, 3, 1000]))
def test_composite_key_diff_equals_naive_diff(urls: dict[str, str], engines: dict[str, sa.Engine],
                                              pair: tuple[str, str], keys: list[tuple[str, str]],
                                              values: st.DataObject, deletes: list[int], changes: list[int],
                                              extra: list[tuple[str, str]], flip: bool, ranges: int,
                                              fetch_limit: int) -> None:
    """Composite text keys, by hash buckets (``ranges`` 0) or by key ranges of ``ranges`` rows."""
    a, b = pair[::-1] if flip else pair
    row = st.fixed_dictionaries({"je": st.none() | AMOUNT, "bz": st.none() | TEXT,
                                 "kprq": st.none() | MOMENT.map(lambda m: m.replace(microsecond=0))})
    source = [{"fpdm": k[0], "fphm": k[1], **values.draw(row)} for k in keys]
    target = {(r["fpdm"], r["fphm"]): dict(r) for r in source}
    ordered = sorted(target)
    for i in deletes:
        if ordered:
            target.pop(ordered[i % len(ordered)], None)
    for i in changes:
        if ordered and ordered[i % len(ordered)] in target:
            target[ordered[i % len(ordered)]]["bz"] = "changed"
    folded = {(k[0].rstrip().lower(), k[1].rstrip().lower()) for k in keys}
    for k in extra:
        if (k[0].rstrip().lower(), k[1].rstrip().lower()) not in folded:
            folded.add((k[0].rstrip().lower(), k[1].rstrip().lower()))
            target[k] = {"fpdm": k[0], "fphm": k[1], **values.draw(row)}
    s_name, t_name = unique_name("svp_cs"), unique_name("svp_ct")
    create_table(urls[a], s_name, composite_columns(2), source)
    create_table(urls[b], t_name, composite_columns(4), list(target.values()))
    try:
        result = diff_tables(TableRef(engines[a], s_name), TableRef(engines[b], t_name),
                             CompareSpec(key=["fpdm", "fphm"], bucket_count=4, leaf_rows=1, fetch_limit=fetch_limit,
                                         key_ranges=ranges > 0, range_rows=max(1, ranges)))
    finally:
        drop_tables(urls[a], s_name)
        drop_tables(urls[b], t_name)
    expected = naive_diff(source, list(target.values()), ["fpdm", "fphm"], ["je", "bz", "kprq"])
    assert found(result) == expected
    assert result.source_rows == len(source) and result.target_rows == len(target)
    assert result.duplicate_count == 0
    assert result.details["bucketing"].startswith("key ranges" if ranges else "hash") or \
        result.details["bucketing"].endswith("(key ranges overlapped)")
