"""The comparison engine on real MariaDB and PostgreSQL, both directions: the equality rules,
keys of every kind, duplicates, per-side scope, recursion, in-flight rows, levels and tracing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from compare_helpers import create_table, drop_tables, ts6, unique_name
from sqlalchemy.dialects import mysql

from syncverify.compare import (
    CompareSpec,
    HopRef,
    TableRef,
    business_totals,
    checksum,
    count_rows,
    diff_tables,
    trace_flow,
    trace_keys,
)
from syncverify.connect.engine import make_engine
from syncverify.results import CheckKind, Outcome

pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]

DIRECTIONS = [("mariadb", "postgresql"), ("postgresql", "mariadb")]


@pytest.fixture(scope="module")
def urls(mariadb_module_url: str, postgres_module_url: str) -> dict[str, str]:
    return {"mariadb": mariadb_module_url, "postgresql": postgres_module_url}


@pytest.fixture(scope="module")
def engines(urls: dict[str, str]) -> Any:
    made = {name: make_engine(url, name=name) for name, url in urls.items()}
    yield made
    for e in made.values():
        e.dispose()


@pytest.fixture
def tables(urls: dict[str, str]) -> Any:
    """Creates tables by (database, name) and drops them after the test."""
    made: list[tuple[str, str]] = []

    def make(db: str, columns: list[sa.Column[Any]], rows: list[dict[str, Any]], prefix: str = "svc") -> str:
        name = unique_name(prefix)
        create_table(urls[db], name, columns, rows)
        made.append((db, name))
        return name

    yield make
    for db, name in made:
        drop_tables(urls[db], name)


def ts0() -> sa.types.TypeEngine[Any]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=0), "mysql", "mariadb")


T0 = dt.datetime(2024, 1, 5, 10, 0, 0)


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_equality_rules_no_false_positives_no_misses(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    src_cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(18, 2)),
                sa.Column("bz", sa.String(30)), sa.Column("kprq", ts6()), sa.Column("n", sa.BigInteger)]
    tgt_cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(20, 4)),
                sa.Column("bz", sa.String(30)), sa.Column("kprq", ts0()), sa.Column("n", sa.BigInteger)]
    base = {"je": Decimal("100.50"), "bz": "中文发票", "kprq": T0.replace(microsecond=123456), "n": -(2**63) + 1}
    source = {k: dict(base) for k in "ABCDEFGHIK"}
    source["B"]["bz"] = None
    source["C"]["bz"] = ""
    source["D"]["bz"] = "abc"
    source["E"]["bz"] = "Abc"
    source["F"]["je"] = None
    source["G"]["n"] = 12345678901234567
    source["H"]["je"] = Decimal("-0.01")
    source["K"]["kprq"] = None
    target = {k: dict(v, kprq=None if v["kprq"] is None else T0) for k, v in source.items() if k != "I"}
    target["J"] = dict(base, kprq=T0)
    target["B"]["bz"] = ""                      # NULL vs ''
    target["D"]["bz"] = "abc "                  # trailing space
    target["E"]["bz"] = "abc"                   # case
    target["F"]["je"] = Decimal(0)              # NULL vs 0
    target["G"]["n"] = 12345678901234568        # large numbers
    s = tables(src_db, src_cols, [{"fphm": k, **v} for k, v in source.items()])
    t = tables(tgt_db, tgt_cols, [{"fphm": k, **v} for k, v in target.items()])
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), CompareSpec(key=["fphm"]))
    assert result.kind is CheckKind.DIFF and result.outcome is Outcome.INCONSISTENT
    assert result.missing_keys == ["I"] and result.extra_keys == ["J"]
    assert sorted(result.changed_keys) == ["B", "D", "E", "F", "G"]
    assert (result.source_rows, result.target_rows) == (10, 10)
    # Finer timestamps: the fractional seconds now count (A's 10:00:00.123456 vs 10:00:00).
    finer = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t),
                        CompareSpec(key=["fphm"], columns=["kprq"], timestamp_precision=3))
    assert "A" in finer.changed_keys and "K" not in finer.changed_keys


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_integer_key_renamed_columns_and_tables(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    rows = [{"id": i, "je": Decimal(i) / 4, "kprq": T0 + dt.timedelta(hours=i)} for i in range(-50, 300)]
    s = tables(src_db, [sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
                        sa.Column("je", sa.Numeric(12, 2)), sa.Column("kprq", ts6())], rows, prefix="fp_hq")
    changed = [{"ident": r["id"], "amount": r["je"] + (Decimal("0.01") if r["id"] == 7 else 0), "kprq": r["kprq"]}
               for r in rows if r["id"] != -3]
    t = tables(tgt_db, [sa.Column("ident", sa.Integer, primary_key=True, autoincrement=False),
                        sa.Column("amount", sa.Numeric(14, 3)), sa.Column("kprq", ts6())], changed, prefix="fp_gx")
    target = TableRef(engines[tgt_db], t, columns_map={"id": "ident", "je": "amount"})
    result = diff_tables(TableRef(engines[src_db], s), target, CompareSpec(key=["id"]))
    assert (result.missing_keys, result.extra_keys, result.changed_keys) == (["-3"], [], ["7"])
    assert result.details["columns"] == ["je", "kprq"]


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_mysql_columns_in_other_character_sets(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    """GBK, latin1 and utf8mb3 columns hash the UTF-8 bytes of their text, like PostgreSQL's,
    whether the column's character set is declared on it or inherited from the table."""
    names = ["中文發票有限公司", "Café ÀÉ", "ascii only", "", "税号 91450100"]
    rows = [{"id": i, "gbk": n if i != 1 else "ascii", "lat": ("Café " + str(i)), "u3": n} for i, n in enumerate(names)]
    target = [dict(r) for r in rows]
    target[0]["gbk"] = "中文發票有限公司 "       # a trailing space is a difference
    target[1]["lat"] = "Cafe 1"

    def cols(db: str) -> list[sa.Column[Any]]:
        mariadb = db == "mariadb"
        return [sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                sa.Column("gbk", mysql.VARCHAR(40, charset="gbk") if mariadb else sa.String(40)),
                sa.Column("lat", mysql.VARCHAR(40, charset="latin1") if mariadb else sa.String(40)),
                sa.Column("u3", mysql.VARCHAR(40, charset="utf8mb3") if mariadb else sa.String(40))]

    s, t = tables(src_db, cols(src_db), rows), tables(tgt_db, cols(tgt_db), target)
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), CompareSpec(key=["id"]))
    assert (result.missing_keys, result.extra_keys, sorted(result.changed_keys)) == ([], [], ["0", "1"])


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_composite_key(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    cols = [sa.Column("fpdm", sa.String(12), primary_key=True), sa.Column("fphm", sa.String(20), primary_key=True),
            sa.Column("se", sa.Numeric(12, 2))]
    rows = [{"fpdm": f"1450{i % 3}", "fphm": f"{i:08d}", "se": Decimal(i)} for i in range(40)]
    target = [dict(r) for r in rows if r["fphm"] != "00000005"]
    target[10]["se"] = Decimal("-1")
    target.append({"fpdm": "14509", "fphm": "00000005", "se": Decimal(5)})   # same fphm, other fpdm
    s, t = tables(src_db, cols, rows), tables(tgt_db, cols, target)
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t),
                         CompareSpec(key=["fpdm", "fphm"]))
    assert result.missing_keys == [("14502", "00000005")]
    assert result.extra_keys == [("14509", "00000005")]
    assert result.changed_keys == [(target[10]["fpdm"], target[10]["fphm"])]


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_duplicate_keys_are_their_own_finding(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    cols = [sa.Column("fphm", sa.String(20)), sa.Column("je", sa.Numeric(12, 2))]     # no unique index
    rows = [{"fphm": f"N{i}", "je": Decimal(i)} for i in range(20)]
    source = [*rows, {"fphm": "N3", "je": Decimal(3)}, {"fphm": "N4", "je": Decimal(4)}]
    target = [*rows, {"fphm": "N3", "je": Decimal(3)}]        # N3 repeated alike on both; N4 only on the source
    s, t = tables(src_db, cols, source), tables(tgt_db, cols, target)
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), CompareSpec(key=["fphm"]))
    assert sorted(result.duplicate_keys) == ["N3", "N4"] and result.duplicate_count == 2
    assert result.missing_count == result.extra_count == result.changed_count == 0
    assert result.outcome is Outcome.INCONSISTENT
    assert result.details["duplicate_scan"] == {"source": True, "target": True}


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_routing_predicate_and_window(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("gmf_swjg_dm", sa.String(11)),
            sa.Column("kprq", ts6())]
    hq = [{"fphm": f"F{i}", "gmf_swjg_dm": ("145" if i % 2 else "144") + "01000000",
           "kprq": dt.datetime(2024, 1 + i % 2, 10)} for i in range(30)]
    gx = [r for r in hq if r["gmf_swjg_dm"].startswith("145")]
    s, t = tables(src_db, cols, hq), tables(tgt_db, cols, gx)
    plain = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), CompareSpec(key=["fphm"]))
    assert plain.missing_count == 15
    routed = CompareSpec(key=["fphm"], source_where="gmf_swjg_dm LIKE '145%'",
                         window_column="kprq", window_start=dt.datetime(2024, 2, 1), window_end=dt.datetime(2024, 3, 1))
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), routed)
    assert result.outcome is Outcome.CONSISTENT and result.source_rows == result.target_rows == 15


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_recursion_into_buckets_finds_exactly_the_differences(engines: Any, tables: Any, src_db: str,
                                                              tgt_db: str) -> None:
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("bz", sa.String(20))]
    rows = [{"fphm": f"2645{i:016d}", "bz": f"v{i}"} for i in range(3000)]
    target = [dict(r, bz="x") if i % 701 == 3 else r for i, r in enumerate(rows) if i % 997 != 11]
    s, t = tables(src_db, cols, rows), tables(tgt_db, cols, target)
    spec = CompareSpec(key=["fphm"], bucket_count=64, leaf_rows=4, fetch_limit=40)
    result = diff_tables(TableRef(engines[src_db], s), TableRef(engines[tgt_db], t), spec)
    assert sorted(result.missing_keys) == [f"2645{i:016d}" for i in range(3000) if i % 997 == 11]
    assert sorted(result.changed_keys) == [f"2645{i:016d}" for i in range(3000) if i % 701 == 3 and i % 997 != 11]
    assert result.details["rounds"] > 1
    assert result.details["rows_fetched"]["source"] < 200      # only small buckets' rows travelled


def test_in_flight_rows_converge_during_confirmation(urls: dict[str, str], engines: Any, tables: Any) -> None:
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(12, 2))]
    rows = [{"fphm": f"F{i}", "je": Decimal(i)} for i in range(10)]
    s = tables("mariadb", cols, rows)
    t = tables("postgresql", cols, rows[:8])                  # F8, F9 not there yet
    writer = sa.create_engine(urls["postgresql"])

    def land_one() -> None:
        time.sleep(0.3)
        with writer.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {t} (fphm, je) VALUES ('F8', 8)"))

    thread = threading.Thread(target=land_one)
    thread.start()
    try:
        result = diff_tables(TableRef(engines["mariadb"], s), TableRef(engines["postgresql"], t),
                             CompareSpec(key=["fphm"]), confirm_delay_s=1.5)
    finally:
        thread.join()
        writer.dispose()
    assert result.in_flight_keys == ["F8"] and result.in_flight_count == 1
    assert result.missing_keys == ["F9"] and result.missing_count == 1
    assert result.details["rechecked_keys"] == 2


@pytest.mark.parametrize("src_db,tgt_db", DIRECTIONS)
def test_levels_count_totals_checksum(engines: Any, tables: Any, src_db: str, tgt_db: str) -> None:
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("kprq", ts6()),
            sa.Column("je", sa.Numeric(14, 2)), sa.Column("se", sa.Numeric(14, 2))]
    rows = [{"fphm": f"F{i}", "kprq": dt.datetime(2024, 3, 1 + i % 3, 12), "je": Decimal("10.10"),
             "se": Decimal("1.30")} for i in range(30)]
    target = [dict(r, je=Decimal("10.11")) if r["fphm"] == "F4" else r for r in rows]
    s, t = tables(src_db, cols, rows), tables(tgt_db, cols, target)
    src, tgt = TableRef(engines[src_db], s), TableRef(engines[tgt_db], t)
    spec = CompareSpec(key=["fphm"], window_column="kprq", totals=["je", "se"])
    counted = count_rows(src, tgt, spec)
    assert counted.kind is CheckKind.COUNT and counted.outcome is Outcome.CONSISTENT
    assert counted.source_rows == counted.target_rows == 30
    totals = business_totals(src, tgt, spec)
    assert totals.changed_keys == ["2024-03-02"]
    day = totals.details["days"][0]
    assert Decimal(day["source_sums"]["je"]) + Decimal("0.01") == Decimal(day["target_sums"]["je"])
    summed = checksum(src, tgt, spec)
    assert summed.outcome is Outcome.INCONSISTENT and summed.details["mismatched_buckets"] == 1
    same = checksum(src, TableRef(engines[src_db], s), spec)
    assert same.outcome is Outcome.CONSISTENT


def test_trace_flow_names_the_first_hop_that_lost_a_key(engines: Any, tables: Any) -> None:
    cols = [sa.Column("fphm", sa.String(20), primary_key=True), sa.Column("je", sa.Numeric(12, 2))]
    rows = [{"fphm": f"F{i}", "je": Decimal(i)} for i in range(12)]
    a = tables("mariadb", cols, rows)
    b = tables("postgresql", cols, [r for r in rows if r["fphm"] != "F1"])
    c = tables("mariadb", cols, [r for r in rows if r["fphm"] not in ("F1", "F2")])
    hops = [HopRef("zz11", TableRef(engines["mariadb"], a), TableRef(engines["postgresql"], b)),
            HopRef("ZS01", TableRef(engines["postgresql"], b), TableRef(engines["mariadb"], c))]
    result = trace_flow(hops, CompareSpec(key=["fphm"]), flow_id="flow1")
    assert result.kind is CheckKind.TRACE
    assert result.details["first_missing_hop"] == {"zz11": ["F1"], "ZS01": ["F2"]}
    assert result.missing_count == 2
    by_key = trace_keys(hops, ["F1", "F2", "F3"], CompareSpec(key=["fphm"]), flow_id="flow1")
    assert by_key.details["first_missing_hop"] == {"zz11": ["F1"], "ZS01": ["F2"]}


@pytest.mark.parametrize("db", ["mariadb", "postgresql"])
def test_engines_are_read_only_time_limited_and_capped(urls: dict[str, str], tables: Any, db: str) -> None:
    name = tables(db, [sa.Column("x", sa.Integer, primary_key=True)], [{"x": 1}])
    engine = make_engine(urls[db], statement_timeout_s=7, max_concurrency=3)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text(f"INSERT INTO {name} (x) VALUES (2)"))
        with engine.connect() as conn:
            if db == "mariadb":
                timeout = conn.execute(sa.text("SELECT @@max_statement_time")).scalar()
                assert float(timeout) == 7
            else:
                assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "7s"
        assert engine.pool.size() == 3 and engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()
