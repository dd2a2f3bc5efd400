"""The native row hash on real PostgreSQL: chosen only when both sides compute the same values,
and finding exactly what SHA-256 finds (text, integer and composite keys; NULL against ''; case
under a case-insensitive collation; Chinese text)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from compare_helpers import create_table, drop_tables, found, naive_diff, unique_name

from syncverify.compare import CompareSpec, TableRef, diff_tables
from syncverify.compare.plan import resolve, shares_native_hash
from syncverify.connect.engine import make_engine
from syncverify.dialects.postgresql import PostgreSQLDialect

pytestmark = [pytest.mark.postgres]


class OtherSeeds(PostgreSQLDialect):
    """Claims PostgreSQL's native hash but computes it with other seeds (another function)."""

    def native_hash(self, text_expr: str, seed: int) -> str:
        return super().native_hash(text_expr, seed + 7)


class Missing(PostgreSQLDialect):
    """Claims PostgreSQL's native hash on a server that lacks the function (PostgreSQL < 11)."""

    def native_hash(self, text_expr: str, seed: int) -> str:
        return f"sv_no_such_hash({text_expr}, {seed})"


@pytest.fixture(scope="module")
def pg(postgres_module_url: str) -> Any:
    engine = make_engine(postgres_module_url, name="pg")
    yield engine
    engine.dispose()


@pytest.fixture
def two_tables(postgres_module_url: str) -> Any:
    made: list[str] = []

    def make(columns: list[sa.Column[Any]], source: list[dict[str, Any]], target: list[dict[str, Any]]
             ) -> tuple[str, str]:
        names = unique_name("svn_s"), unique_name("svn_t")
        create_table(postgres_module_url, names[0], columns, source)
        create_table(postgres_module_url, names[1], columns, target)
        made.extend(names)
        return names

    yield make
    drop_tables(postgres_module_url, *made)


def invoices() -> tuple[list[sa.Column[Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    columns = [sa.Column("fpdm", sa.String(12), primary_key=True), sa.Column("fphm", sa.String(20), primary_key=True),
               sa.Column("id", sa.BigInteger, nullable=False, unique=True),
               sa.Column("bz", sa.String(30, collation="sv_ci")), sa.Column("je", sa.Numeric(18, 2))]
    source = [{"fpdm": f"1450{i % 3}", "fphm": f"2645{i:08d}", "id": i, "bz": f"发票{i}" if i % 4 else "",
               "je": i * 10} for i in range(1, 400)]
    source[8]["bz"] = "invoice-abc"
    target = [dict(r) for r in source if r["id"] not in (5, 77)]                  # missing
    target += [{"fpdm": "14509", "fphm": "x1", "id": 1000, "bz": None, "je": 1}]  # extra
    for r in target:
        if r["id"] == 8:
            r["bz"] = None            # '' in the source
        if r["id"] == 9:
            r["bz"] = "INVOICE-ABC"   # case only: the column's collation calls them equal
        if r["id"] == 10:
            r["bz"] = "发票10 "       # a trailing space
        if r["id"] == 11:
            r["je"] = 110.01
    return columns, source, target


@pytest.fixture(scope="module", autouse=True)
def case_insensitive_collation(postgres_module_url: str) -> Any:
    engine = sa.create_engine(postgres_module_url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE COLLATION IF NOT EXISTS sv_ci "
                          "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"))
    yield
    engine.dispose()


@pytest.mark.parametrize("key", [["fpdm", "fphm"], ["fphm"], ["id"]])
def test_native_hash_finds_what_sha256_finds(pg: Any, two_tables: Any, key: list[str]) -> None:
    columns, source, target = invoices()
    s_name, t_name = two_tables(columns, source, target)
    values = [c for c in ("fpdm", "fphm", "id", "bz", "je") if c not in key]
    results = {}
    for row_hash in ("auto", "sha256"):
        spec = CompareSpec(key=key, columns=values, bucket_count=8, leaf_rows=4, fetch_limit=16, row_hash=row_hash)
        results[row_hash] = diff_tables(TableRef(pg, s_name), TableRef(pg, t_name), spec)
    assert results["auto"].details["row_hash"] == "postgresql-hashtextextended"
    assert results["sha256"].details["row_hash"] == "sha256"
    expected = naive_diff(source, target, key, values)
    assert found(results["auto"]) == found(results["sha256"]) == expected
    assert results["auto"].changed_count == 4 and results["auto"].missing_count == 2
    steps = results["auto"].details["steps"]       # wall seconds per step, in order
    assert list(steps)[:2] == ["resolve", "key range" if key == ["id"] else "round 1"]
    assert "fetch rows" in steps and all(v >= 0 for v in steps.values())


def test_native_hash_needs_both_sides_to_agree(pg: Any, two_tables: Any) -> None:
    columns, source, target = invoices()
    s_name, t_name = two_tables(columns, source, target)
    pair = resolve(TableRef(pg, s_name), TableRef(pg, t_name), CompareSpec(key=["fphm"]))
    assert pair.source.native_hash and pair.target.native_hash
    assert shares_native_hash(pair.source, pair.target)
    # Same name, different values (another build or encoding): SHA-256.
    assert not shares_native_hash(pair.source, replace(pair.target, dialect=OtherSeeds()))
    # The function is missing on one side: SHA-256, and the probe's error is not fatal.
    assert not shares_native_hash(replace(pair.source, dialect=Missing()), pair.target)
    assert not resolve(TableRef(pg, s_name), TableRef(pg, t_name),
                       CompareSpec(key=["fphm"], row_hash="sha256")).source.native_hash
