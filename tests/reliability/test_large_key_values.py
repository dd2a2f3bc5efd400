"""Integer keys across their whole range: a diff must not overflow on large key values (found by
the connection-kill test on a 300,000-row table with an INTEGER key)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rel_helpers import admin

from syncverify.compare import CompareSpec, TableRef, diff_tables
from syncverify.connect.engine import make_engine
from syncverify.results import Outcome


@pytest.mark.postgres
def test_postgres_integer_key_above_44488(postgres_url):
    with admin(postgres_url).connect() as c:
        for t in ("k_src", "k_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id integer PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO k_src VALUES (44489, 'a'), (2147483647, 'b'), (7, 'c')"))
        c.execute(sa.text("INSERT INTO k_dst VALUES (44489, 'a'), (2147483647, 'B')"))
    engine = make_engine(postgres_url)
    try:
        result = diff_tables(TableRef(engine, "k_src"), TableRef(engine, "k_dst"), CompareSpec(key=["id"]))
    finally:
        engine.dispose()
    assert result.outcome is Outcome.INCONSISTENT
    assert result.missing_keys == ["7"] and result.changed_keys == ["2147483647"]


@pytest.mark.mariadb
@pytest.mark.parametrize("key_type", ["bigint", "integer", "smallint"])
def test_large_integer_keys_mariadb(mariadb_url, key_type):
    top = {"bigint": 9223372036854775807, "integer": 2147483647, "smallint": 32767}[key_type]
    with admin(mariadb_url).connect() as c:
        for t in ("k_src", "k_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id {key_type} PRIMARY KEY, v varchar(9))"))
        c.execute(sa.text(f"INSERT INTO k_src VALUES ({top}, 'a'), ({top - 1}, 'b'), (7, 'c')"))
        c.execute(sa.text(f"INSERT INTO k_dst VALUES ({top}, 'a'), ({top - 1}, 'B')"))
    engine = make_engine(mariadb_url)
    try:
        result = diff_tables(TableRef(engine, "k_src"), TableRef(engine, "k_dst"), CompareSpec(key=["id"]))
    finally:
        engine.dispose()
    assert result.missing_keys == ["7"] and result.changed_keys == [str(top - 1)], result.error
