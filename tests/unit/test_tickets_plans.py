"""Repair plans on the embedded (SQLite) path, where a column's stored text and its typed value differ.

The sandbox (and any application writing SQLite) stores a DATETIME as '2026-10-19 09:21:10'; read
through SQLAlchemy it is a datetime, rendered back as '2026-10-19 09:21:10.000000', which equals no
stored row. Keys arrive from the comparison engine as text ("900004") for an INTEGER key column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from syncverify.catalog import Catalog, Link, Node, TableDef
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.tickets import get_ticket, open_or_update
from syncverify.tickets.keyrows import StoredRow, fetch_copies, reflect
from syncverify.tickets.plans import build_plan

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
DDL = "CREATE TABLE {t} (zsid BIGINT NOT NULL, bt VARCHAR(20), je NUMERIC(18, 2), fbsj DATETIME, rq DATE)"
SOURCE = [(1, "甲", 10.5, "2026-10-19 09:21:10", "2026-10-19"), (2, "乙", 20, "2026-10-20 08:00:00", "2026-10-20"),
          (3, "丙", 0.13, "2026-10-21 00:00:01", "2026-10-21")]
TARGET = [SOURCE[0], SOURCE[0],                                        # key 1 twice
          (2, "乙", 20, "2026-10-20 16:00:00", "2026-10-21"),           # key 2 shifted by 8 h (and a day)
          SOURCE[2]]


def _world(tmp_path: Path) -> tuple[sa.Engine, sa.Engine, Catalog]:
    engines = []
    for name, rows in (("src", SOURCE), ("tgt", TARGET)):
        engine = sa.create_engine(f"sqlite:///{tmp_path / (name + '.sqlite')}")
        with engine.begin() as c:             # the rows as the writing application stored them
            c.exec_driver_sql(DDL.format(t="zsk_zsxx"))
            c.exec_driver_sql("INSERT INTO zsk_zsxx VALUES (?, ?, ?, ?, ?)", rows)
        engines.append(engine)
    catalog = Catalog(
        nodes={"gx.kb": Node(id="gx.kb", side="province", kind="sqlite"),
               "gx.patrol": Node(id="gx.patrol", side="province", kind="sqlite")},
        tables={"zsk_zsxx": TableDef(name="zsk_zsxx", key=["zsid"])},
        links={"SS22": Link(id="SS22", kind="dsg", source="gx.kb", target="gx.patrol", tables=[{"table": "zsk_zsxx"}])})
    return engines[0], engines[1], catalog


def _run(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.exec_driver_sql(sql).scalar_one())


def test_rows_read_by_key_keep_the_stored_text_of_converted_columns(tmp_path: Path) -> None:
    _src, tgt, _catalog = _world(tmp_path)
    table = reflect(tgt, "zsk_zsxx", None, "tgt")
    copies = fetch_copies(tgt, table, [table.c.zsid], [(1,)], list(table.columns))
    [rows] = copies.values()
    assert len(rows) == 2 and all(isinstance(r, StoredRow) for r in rows)
    assert rows[0]["fbsj"] == datetime(2026, 10, 19, 9, 21, 10)
    assert rows[0].stored == {"fbsj": "2026-10-19 09:21:10", "rq": "2026-10-19"}       # text kept as stored


def test_plan_on_sqlite_text_datetimes_and_text_integer_keys(tmp_path: Path) -> None:
    src, tgt, catalog = _world(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    result = CheckResult(kind=CheckKind.DIFF, link_id="SS22", table="zsk_zsxx", source_node="gx.kb",
                         target_node="gx.patrol", duplicate_count=1, changed_count=1,
                         duplicate_keys=["1"], changed_keys=["2"], started_at=T0).finish()
    [tid] = open_or_update(store, [result], run_id="r1", now=T0, sinks=[])
    plan = build_plan(get_ticket(store, tid)[0], catalog, src, tgt)

    # The duplicated key is found as one (typed like the table's key), the shifted row as changed.
    assert (plan.duplicate_copies_deleted, plan.updates, plan.skipped) == (1, 1, 0), plan
    # Every pre-check holds on the target as it is: the values compare with the stored text.
    assert [_run(tgt, p.sql) for p in plan.precheck] == [p.expect for p in plan.precheck]
    assert any("'2026-10-20 16:00:00'" in p.sql for p in plan.precheck)
    with tgt.begin() as c:
        for stmt in plan.apply:
            c.exec_driver_sql(stmt)
    with tgt.connect() as c:
        assert c.exec_driver_sql("SELECT COUNT(*) FROM zsk_zsxx WHERE zsid = 1").scalar_one() == 1
    assert [_run(tgt, p.sql) for p in plan.rollback_precheck] == [p.expect for p in plan.rollback_precheck]
    # The rollback writes back the text the table held, not SQLAlchemy's rendering of it.
    with tgt.begin() as c:
        for stmt in plan.rollback:
            c.exec_driver_sql(stmt)
    with tgt.connect() as c:
        back = sorted(tuple(r) for r in c.exec_driver_sql("SELECT * FROM zsk_zsxx"))
    assert back == sorted(TARGET)
