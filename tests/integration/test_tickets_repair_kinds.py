"""The repair kinds found broken on the demo world, on real MariaDB and PostgreSQL targets:

* duplicated keys of an INTEGER key: the ticket carries the keys as the comparison engine writes
  them (text), the table holds integers; every extra copy is deleted, one copy per key is left;
* changed rows whose DATETIME and DATE columns were shifted (a time-zone slip of a sync): the
  rows are updated to the source values.

Each ticket comes from the comparison engine's finding, is planned, approved, applied and
re-verified against the link's check (as `syncverify tickets apply` does), and rolled back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.catalog import Catalog, Link, Node, TableDef
from syncverify.catalog.table_refs import check_refs
from syncverify.compare.engine import diff_tables
from syncverify.connect.engine import make_engine
from syncverify.results import CheckResult
from syncverify.store import Store
from syncverify.tickets import apply_repair_script, approve_repair_script, generate_repair_script, open_or_update
from syncverify.tickets.reverify import reverify_pair

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
COLS = ["zsid", "bt", "je", "fbsj", "rq"]
BASE = [(900000 + i, f"知识条目 {i}", Decimal(f"{i}.25"), datetime(2026, 10, 1 + i, 9, 30, 5), date(2026, 10, 1 + i))
        for i in range(1, 9)]
SHIFT = timedelta(hours=8)


def _create(engine: sa.Engine, name: str, rows: list[tuple]) -> None:
    md = sa.MetaData()
    table = sa.Table(name, md, sa.Column("zsid", sa.BigInteger, nullable=False),   # no unique key: copies repeat
                     sa.Column("bt", sa.String(200), nullable=False), sa.Column("je", sa.Numeric(18, 2)),
                     sa.Column("fbsj", sa.DateTime, nullable=False), sa.Column("rq", sa.Date))
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(table.insert(), [dict(zip(COLS, r, strict=True)) for r in rows])


def _rows(engine: sa.Engine, name: str) -> list[tuple]:
    with engine.connect() as c:
        return sorted(tuple(r) for r in c.execute(sa.text(f"SELECT {', '.join(COLS)} FROM {name}")))


def _catalog(kind: str, table: str) -> Catalog:
    return Catalog(
        nodes={"gx.kb": Node(id="gx.kb", side="province", kind=kind, tables={"zsk_zsxx": f"src_{table}"}),
               "gx.patrol": Node(id="gx.patrol", side="province", kind=kind, tables={"zsk_zsxx": f"tgt_{table}"})},
        tables={"zsk_zsxx": TableDef(name="zsk_zsxx", key=["zsid"])},
        links={"SS22": Link(id="SS22", kind="dsg", source="gx.kb", target="gx.patrol",
                            tables=[{"table": "zsk_zsxx"}])})


def _found(engine: sa.Engine, catalog: Catalog) -> CheckResult:
    [lc] = catalog.link_checks(links=["SS22"], tables=["zsk_zsxx"])
    refs = check_refs(lc, engine, engine)
    found = diff_tables(refs.source, refs.target, refs.spec, link_id="SS22")
    found.table, found.started_at, found.source_node, found.target_node = "zsk_zsxx", T0, "gx.kb", "gx.patrol"
    return found


def _cycle(url: str, tmp_path: Path, name: str, target_rows: list[tuple], expect: dict[str, int],
           copies_deleted: int = 0) -> None:
    engine = make_engine(url, read_only=False)
    kind = "postgresql" if engine.dialect.name == "postgresql" else "mysql"
    _create(engine, f"src_{name}", BASE)
    _create(engine, f"tgt_{name}", target_rows)
    before = _rows(engine, f"tgt_{name}")
    catalog = _catalog(kind, name)
    found = _found(engine, catalog)
    counts = {k: getattr(found, f"{k}_count") for k in ("missing", "extra", "changed", "duplicate")}
    assert counts == {"missing": 0, "extra": 0, "changed": 0, "duplicate": 0, **expect}, counts
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    [tid] = open_or_update(store, [found], run_id="r1", now=T0, sinks=[])

    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    sinks=[])
    plan = script.plan or {}
    assert plan["skipped"] == 0, plan
    assert plan["duplicate_copies_deleted"] == copies_deleted, plan
    assert plan["updates"] == expect.get("changed", 0), plan
    approve_repair_script(store, tid, by="审批人", note="repair kinds", sinks=[])
    out = apply_repair_script(store, tid, target_engine=engine, by="ops", sinks=[],
                              reverify=lambda t: reverify_pair(t, catalog, engine, engine))
    assert out.outcome == "applied", out.detail
    assert out.detail["reverified"] is True and out.ticket_status == "verified", out.detail
    assert _rows(engine, f"tgt_{name}") == _rows(engine, f"src_{name}")      # exactly one copy per key
    assert _found(engine, catalog).outcome.value == "consistent"

    back = apply_repair_script(store, tid, target_engine=engine, by="ops", rollback=True, sinks=[])
    assert back.outcome == "rolled_back" and back.ticket_status == "reopened", back.detail
    assert _rows(engine, f"tgt_{name}") == before
    engine.dispose()


def _duplicated() -> list[tuple]:
    # three keys twice, one of them three times (identical copies: only the row identity tells them apart)
    return [*BASE, BASE[0], BASE[3], BASE[3], BASE[6]]


def _shifted() -> list[tuple]:
    out = list(BASE)
    for i in (1, 4, 7):
        zsid, bt, je, fbsj, rq = out[i]
        out[i] = (zsid, bt, je, fbsj + SHIFT, rq + timedelta(days=1))
    out[2] = (*out[2][:3], out[2][3] - SHIFT, out[2][4])
    return out


@pytest.mark.mariadb
def test_duplicated_integer_keys_on_mariadb(mariadb_url: str, tmp_path: Path) -> None:
    _cycle(mariadb_url, tmp_path, "dupkind", _duplicated(), {"duplicate": 3}, copies_deleted=4)


@pytest.mark.postgres
def test_duplicated_integer_keys_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    _cycle(postgres_url, tmp_path, "dupkind", _duplicated(), {"duplicate": 3}, copies_deleted=4)


@pytest.mark.mariadb
def test_date_shift_on_mariadb(mariadb_url: str, tmp_path: Path) -> None:
    _cycle(mariadb_url, tmp_path, "shiftkind", _shifted(), {"changed": 4})


@pytest.mark.postgres
def test_date_shift_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    _cycle(postgres_url, tmp_path, "shiftkind", _shifted(), {"changed": 4})
