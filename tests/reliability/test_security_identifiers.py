"""Hostile input never reaches a database: catalog identifiers with quotes, spaces or SQL are
rejected with a clear CatalogError naming the entry and field; predicate values are short codes;
reserved-word and mixed-case names are quoted everywhere and work; the CLI's --where and --table
are validated and a rejected one exits 2 with one line on stderr while the table survives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml
from rel_helpers import admin, write_world

from syncverify.catalog import load_catalog
from syncverify.cli import main
from syncverify.compare import validate_predicate
from syncverify.dialects import MySQLDialect, PostgreSQLDialect
from syncverify.errors import CatalogError, PredicateError
from syncverify.results import Outcome
from syncverify.runner.verify import verify
from syncverify.store import Store

HOSTILE_NAMES = ['fp"; DROP TABLE victim; --', "fp fpxx", "fp'x", "x;y", "a/*b*/", "t`x`", "名字", "", "1abc",
                 "a" * 65, "victim)--", "fp\nfpxx"]


def _catalog(tmp_path, table: dict | None = None, link_table: dict | None = None, node_tables: dict | None = None):
    data = {
        "nodes": [{"id": "hq.a_db", "side": "hq", "kind": "postgresql", "tables": node_tables or {}},
                  {"id": "gx.b_db", "side": "province", "kind": "postgresql"}],
        "tables": [table or {"name": "fp", "key": ["id"]}],
        "links": [{"id": "L1", "kind": "dsg", "source": "hq.a_db", "target": "gx.b_db",
                   "tables": [link_table or {"table": (table or {"name": "fp"})["name"]}]}],
    }
    folder = tmp_path / "checks"
    folder.mkdir(exist_ok=True)
    (folder / "c.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_table_name_rejected(tmp_path, name):
    with pytest.raises(CatalogError) as err:
        load_catalog(_catalog(tmp_path, table={"name": name, "key": ["id"]}))
    assert "c.yaml" in str(err.value) and "name" in str(err.value)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_column_names_rejected(tmp_path, name):
    for table in ({"name": "fp", "key": [name]}, {"name": "fp", "key": ["id"], "columns": [name]},
                  {"name": "fp", "key": ["id"], "window_column": name}, {"name": "fp", "key": ["id"], "totals": [name]}):
        with pytest.raises(CatalogError) as err:
            load_catalog(_catalog(tmp_path, table=table))
        assert "fp" in str(err.value)
    with pytest.raises(CatalogError):
        load_catalog(_catalog(tmp_path, link_table={"table": "fp", "column_map": {"id": name}}))
    with pytest.raises(CatalogError):
        load_catalog(_catalog(tmp_path, link_table={"table": "fp", "routing": {"column": name, "equals": "1"}}))


@pytest.mark.parametrize("physical", ['fp"x', "fp x", "fp;drop", "a'b", "x/*"])
def test_hostile_physical_name_rejected(tmp_path, physical):
    with pytest.raises(CatalogError) as err:
        load_catalog(_catalog(tmp_path, node_tables={"fp": physical}))
    assert "hq.a_db" in str(err.value)


@pytest.mark.parametrize("value", ["x' OR '1'='1", "1; DROP TABLE victim", "a%", "'", "a\\", "x'--"])
def test_hostile_predicate_values_rejected(tmp_path, value):
    for leaf in ({"column": "v", "equals": value}, {"column": "v", "prefix": value}, {"column": "v", "in": [value]}):
        with pytest.raises(CatalogError) as err:
            load_catalog(_catalog(tmp_path, link_table={"table": "fp", "routing": leaf}))
        assert "routing" in str(err.value)


@pytest.mark.parametrize("where", [
    "1=1; DROP TABLE victim", "id = 1 -- and the rest", "id = 1 /* x */", "id IN (SELECT 1); DELETE FROM victim",
    "id = 1 OR pg_sleep(10) IS NULL", "id = 'unbalanced", "(id = 1", "x' ; drop table y",
    "1=1 INTO OUTFILE '/tmp/x'", "id IN (SELECT id FROM victim)",
    "id = 1 OR pg_sleep_for('10 s') IS NULL", "GET_LOCK('x', 10) = 1", "victim.id = 1",
])
@pytest.mark.parametrize("dialect", [None, PostgreSQLDialect(), MySQLDialect()], ids=["generic", "postgresql", "mysql"])
def test_cli_where_validated(where, dialect):
    """Parsed for the database it runs on (compare/predicate.py): refused on every dialect."""
    with pytest.raises(PredicateError, match=r"^--where: "):
        validate_predicate(where, "--where", dialect)


def test_backslash_quote_is_read_as_each_database_reads_it():
    """``id = '\\' OR 1=1 --'``: PostgreSQL ends the literal at the second quote (the rest is a
    comment: refused); MySQL reads one literal (accepted, written back as that one literal);
    without a dialect it is ambiguous (refused)."""
    where = "id = '\\' OR 1=1 --'"
    for dialect in (None, PostgreSQLDialect()):
        with pytest.raises(PredicateError):
            validate_predicate(where, "--where", dialect)
    assert validate_predicate(where, "--where", MySQLDialect()) == "id = ''' OR 1=1 --'"


@pytest.mark.postgres
def test_cli_rejects_hostile_where_and_table_without_executing(postgres_url, capsys):
    with admin(postgres_url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id bigint PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO victim VALUES (1, 'a')"))
    base = ["diff", postgres_url, postgres_url, "--key", "id"]
    assert main([*base, "--table", "victim", "--where", "1=1; DROP TABLE victim"]) == 2
    assert main([*base, "--table", "victim; DROP TABLE victim"]) == 2
    assert main([*base, "--table", 'victim"; DROP TABLE victim; --']) == 2
    assert main([*base, "--table", "victim", "--key", "id; DROP TABLE victim"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("syncverify: error:") for line in err), err
    with admin(postgres_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == 1


@pytest.mark.postgres
def test_hostile_catalog_stops_a_run_before_any_query(postgres_url, sv_home, tmp_path):
    with admin(postgres_url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id bigint PRIMARY KEY)"))
    folder = _catalog(tmp_path, table={"name": 'fp"; DROP TABLE victim; --', "key": ["id"]})
    from syncverify.runner.options import RunOptions
    with pytest.raises(CatalogError):
        verify(RunOptions(month="2026-11", catalog_path=str(folder)), Store(f"sqlite:///{sv_home / 'r.sqlite'}"))
    with admin(postgres_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == 0


def _reserved_world(tmp_path, kind: str, url: str, mixed: str):
    nodes = {"hq.src_db": {"kind": kind, "url": url, "tables": {"order": "order", "mixed_t": mixed}},
             "gx.dst_db": {"kind": kind, "url": url, "tables": {"order": "select", "mixed_t": mixed + "_dst"}}}
    tables = [{"name": "order", "key": ["from"], "window_column": "group", "totals": ["sum"]},
              {"name": "mixed_t", "key": ["Id"]}]
    links = [{"id": "L-RESERVED", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
              "tables": [{"table": "order", "routing": {"column": "where", "prefix": "145"}}]},
             {"id": "L-MIXED", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
              "tables": [{"table": "mixed_t"}]}]
    return write_world(tmp_path, nodes, tables, links)


def _assert_reserved(summary) -> None:
    r = {x.check_id: x for x in summary.results}
    diff = r["diff/L-RESERVED/order"]
    assert diff.outcome is Outcome.INCONSISTENT, diff.error
    assert diff.source_rows == 2 and diff.missing_keys == ["3"]
    assert r["totals/L-RESERVED/order"].outcome is not Outcome.NOT_RUN, r["totals/L-RESERVED/order"].error
    mixed = r["diff/L-MIXED/mixed_t"]
    assert mixed.outcome is Outcome.CONSISTENT and mixed.source_rows == 2, mixed.error


@pytest.mark.postgres
def test_reserved_words_and_mixed_case_quoted_postgres(postgres_url, sv_home, tmp_path):
    with admin(postgres_url).connect() as c:
        for t in ('"order"', '"select"'):
            c.execute(sa.text(f'CREATE TABLE {t} ("from" bigint PRIMARY KEY, "group" timestamp, "sum" numeric(10,2), '
                              '"where" text)'))
        c.execute(sa.text('''INSERT INTO "order" VALUES (1, '2026-11-02', 1.5, '1450'), (2, '2026-11-03', 2, '9999'),
                             (3, '2026-11-04', 3, '1451')'''))
        c.execute(sa.text('''INSERT INTO "select" VALUES (1, '2026-11-02', 1.5, '1450')'''))
        for t in ('"FpMixed"', '"FpMixed_dst"'):
            c.execute(sa.text(f'CREATE TABLE {t} ("Id" bigint PRIMARY KEY, "Val" text)'))
            c.execute(sa.text(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')"))
    world = _reserved_world(tmp_path, "postgresql", postgres_url, "FpMixed")
    from datetime import UTC, datetime
    _assert_reserved(verify(world.options(now=datetime(2027, 1, 1, tzinfo=UTC)),
                            Store(f"sqlite:///{sv_home / 'r.sqlite'}")))


@pytest.mark.mariadb
def test_reserved_words_quoted_mariadb(mariadb_url, sv_home, tmp_path):
    with admin(mariadb_url).connect() as c:
        for t in ("`order`", "`select`"):
            c.execute(sa.text(f"CREATE TABLE {t} (`from` bigint PRIMARY KEY, `group` datetime, `sum` decimal(10,2), "
                              "`where` varchar(9))"))
        c.execute(sa.text("INSERT INTO `order` VALUES (1, '2026-11-02', 1.5, '1450'), (2, '2026-11-03', 2, '9999'), "
                          "(3, '2026-11-04', 3, '1451')"))
        c.execute(sa.text("INSERT INTO `select` VALUES (1, '2026-11-02', 1.5, '1450')"))
        for t in ("FpMixed", "FpMixed_dst"):
            c.execute(sa.text(f"CREATE TABLE `{t}` (`Id` bigint PRIMARY KEY, `Val` varchar(9))"))
            c.execute(sa.text(f"INSERT INTO `{t}` VALUES (1, 'a'), (2, 'b')"))
    world = _reserved_world(tmp_path, "mysql", mariadb_url, "FpMixed")
    from datetime import UTC, datetime
    _assert_reserved(verify(world.options(now=datetime(2027, 1, 1, tzinfo=UTC)),
                            Store(f"sqlite:///{sv_home / 'r.sqlite'}")))
