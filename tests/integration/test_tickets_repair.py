"""Repair scripts on real MariaDB and PostgreSQL targets: generate, approve, refuse a stale
pre-check, apply (copies become consistent), roll back (prior state restored, ticket reopened).

The table has a composite key, a DECIMAL, a DATETIME, Chinese text and text with quotes, '%',
':name' and a backslash; rows are missing, extra and changed (including NULL against a value).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from syncverify.catalog import Catalog, Link, Node, TableDef
from syncverify.connect.engine import make_engine
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.tickets import (
    TicketError,
    apply_repair_script,
    approve_repair_script,
    generate_repair_script,
    get_ticket,
    keys_consistent,
    latest_script,
    open_or_update,
)

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
TRICKY = "含'引号' 50% :x \\ 反斜杠"

SOURCE_ROWS = [
    ("144031900111", "00000001", Decimal("100.50"), datetime(2026, 10, 1, 9, 30, 5), "南宁某科技", None),
    ("144031900111", "00000002", Decimal("200.00"), datetime(2026, 10, 1, 10, 0, 0), "柳州某公司", "备注"),
    ("144031900111", "00000003", Decimal("0.01"), datetime(2026, 10, 2, 23, 59, 59), "桂林", TRICKY),
    ("244031900222", "00000001", Decimal("-5.25"), datetime(2026, 10, 3, 0, 0, 0), "北海", "x"),
    ("244031900222", "00000002", Decimal("999999.99"), datetime(2026, 10, 4, 12, 0, 0), "梧州", None),
]
# target: row 2 missing, row 3 missing (tricky text), row 1 changed (je), row 5 changed (bz NULL -> value),
# row 4 identical, one extra row
TARGET_ROWS = [
    ("144031900111", "00000001", Decimal("100.40"), datetime(2026, 10, 1, 9, 30, 5), "南宁某科技", None),
    ("244031900222", "00000001", Decimal("-5.25"), datetime(2026, 10, 3, 0, 0, 0), "北海", "x"),
    ("244031900222", "00000002", Decimal("999999.99"), datetime(2026, 10, 4, 12, 0, 0), "梧州", "多余"),
    ("344031900333", "00000009", Decimal("1.00"), datetime(2026, 9, 30, 8, 0, 0), "多余行", "extra"),
]
MISSING = [["144031900111", "00000002"], ["144031900111", "00000003"]]
EXTRA = [["344031900333", "00000009"]]
CHANGED = [["144031900111", "00000001"], ["244031900222", "00000002"]]


def _create(engine: sa.Engine, name: str, rows: list[tuple]) -> None:
    md = sa.MetaData()
    table = sa.Table(name, md,
                     sa.Column("fpdm", sa.String(12), primary_key=True),
                     sa.Column("fphm", sa.String(20), primary_key=True),
                     sa.Column("je", sa.Numeric(18, 2), nullable=False),
                     sa.Column("kprq", sa.DateTime, nullable=False),
                     sa.Column("gmfmc", sa.String(200)),
                     sa.Column("bz", sa.Text))
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(table.insert(), [dict(zip(["fpdm", "fphm", "je", "kprq", "gmfmc", "bz"], r, strict=True))
                                   for r in rows])


def engine_diff(engine: sa.Engine, source: str, target: str) -> CheckResult:
    """What the comparison engine (the one behind `syncverify diff`) says about the two copies."""
    from syncverify.compare.engine import diff_tables
    from syncverify.compare.spec import CompareSpec, TableRef

    return diff_tables(TableRef(engine, source, label="source"), TableRef(engine, target, label="target"),
                       CompareSpec(key=["fpdm", "fphm"]))


def snapshot(engine: sa.Engine, name: str) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(
            f"SELECT fpdm, fphm, je, kprq, gmfmc, bz FROM {name} ORDER BY fpdm, fphm"))]


def world(url: str):
    # Writable, as the apply command opens the target; the verifier's own engines are read-only.
    engine = make_engine(url, read_only=False)
    kind = "mysql" if engine.dialect.name in {"mysql", "mariadb"} else "postgresql"
    _create(engine, "src_fp", SOURCE_ROWS)
    _create(engine, "tgt_fp", TARGET_ROWS)
    catalog = Catalog(
        nodes={"hq.src_db": Node(id="hq.src_db", side="hq", kind=kind, tables={"fp_fpxx": "src_fp"}),
               "gx.tgt_db": Node(id="gx.tgt_db", side="province", kind=kind, tables={"fp_fpxx": "tgt_fp"})},
        tables={"fp_fpxx": TableDef(name="fp_fpxx", key=["fpdm", "fphm"], masked_columns=["gmfmc"])},
        links={"L1": Link(id="L1", kind="dsg", source="hq.src_db", target="gx.tgt_db",
                          tables=[{"table": "fp_fpxx"}])})
    return engine, catalog


def ticket_for(store: Store) -> int:
    r = CheckResult(kind=CheckKind.DIFF, link_id="L1", table="fp_fpxx", source_node="hq.src_db",
                    target_node="gx.tgt_db", missing_count=2, extra_count=1, changed_count=2,
                    missing_keys=[tuple(k) for k in MISSING], extra_keys=[tuple(k) for k in EXTRA],
                    changed_keys=[tuple(k) for k in CHANGED], started_at=T0).finish()
    [tid] = open_or_update(store, [r], run_id="r1", now=T0, sinks=[])
    return tid


def run_repair_cycle(url: str, tmp_path) -> None:
    engine, catalog = world(url)
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    before = snapshot(engine, "tgt_fp")
    # The ticket comes from the comparison engine's own finding (its key format, its counts).
    found = engine_diff(engine, "src_fp", "tgt_fp")
    assert (found.missing_count, found.extra_count, found.changed_count) == (2, 1, 2)
    found.link_id, found.table, found.started_at = "L1", "fp_fpxx", T0
    found.source_node, found.target_node = "hq.src_db", "gx.tgt_db"
    [tid] = open_or_update(store, [found], run_id="r1", now=T0, sinks=[])

    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    now=T0, sinks=[])
    assert script.plan is not None
    assert (script.plan["inserts"], script.plan["updates"], script.plan["deletes"]) == (2, 2, 1)
    assert script.dialect == engine.dialect.name and "COMMIT;" in script.apply_sql
    assert get_ticket(store, tid)[0].repair_started_at is None          # preparing a script starts nothing
    assert snapshot(engine, "tgt_fp") == before                         # generating never writes

    # Nothing is applied without a recorded approval, nor without someone who applies it.
    with pytest.raises(TicketError, match="not approved"):
        apply_repair_script(store, tid, target_engine=engine, by="张三", sinks=[])
    approve = lambda: approve_repair_script(store, tid, by="审批人", note="审批单 2026-118", sinks=[])  # noqa: E731
    approve()
    with pytest.raises(TicketError, match="--by"):
        apply_repair_script(store, tid, target_engine=engine, by=" ", sinks=[])

    # The target changes after generation: the pre-check refuses, nothing is written.
    with engine.begin() as c:
        c.execute(sa.text("UPDATE tgt_fp SET gmfmc = '改了' WHERE fpdm = '344031900333'"))
    changed_state = snapshot(engine, "tgt_fp")
    out = apply_repair_script(store, tid, target_engine=engine, by="张三", sinks=[])
    assert out.outcome == "precheck_failed" and not out.ok
    assert snapshot(engine, "tgt_fp") == changed_state
    with engine.begin() as c:
        c.execute(sa.text("UPDATE tgt_fp SET gmfmc = '多余行' WHERE fpdm = '344031900333'"))

    # A statement that fails half-way (the INSERT, after the DELETE and UPDATEs ran) leaves nothing
    # behind: one transaction.
    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    now=T0, sinks=[])
    approve()
    with engine.begin() as c:
        c.execute(sa.text("ALTER TABLE tgt_fp ADD CONSTRAINT ck_small CHECK (bz IS NULL OR bz <> '备注')"))
    out = apply_repair_script(store, tid, target_engine=engine, by="张三", sinks=[])
    assert out.outcome == "failed" and "ck_small" in out.detail["error"]
    assert snapshot(engine, "tgt_fp") == before
    with engine.begin() as c:
        c.execute(sa.text("ALTER TABLE tgt_fp DROP CONSTRAINT ck_small"))

    # The verifier's own (read-only) connection cannot apply a repair.
    read_only = make_engine(url)
    out = apply_repair_script(store, tid, target_engine=read_only, by="张三", sinks=[])
    read_only.dispose()
    assert out.outcome == "failed" and "read" in out.detail["error"].lower()
    assert snapshot(engine, "tgt_fp") == before

    # Approved apply: consistent afterwards, ticket verified by re-verification.
    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    now=T0, sinks=[])
    approve()
    out = apply_repair_script(store, tid, target_engine=engine, by="张三", sinks=[],
                              reverify=lambda t: keys_consistent(t, catalog, engine, engine))
    assert out.outcome == "applied", out.detail
    assert snapshot(engine, "tgt_fp") == snapshot(engine, "src_fp")
    assert engine_diff(engine, "src_fp", "tgt_fp").outcome.value == "consistent"
    ticket, events = get_ticket(store, tid)
    assert ticket.status == "verified" and out.detail["reverified"] is True
    applied = latest_script(store, tid)
    assert applied.applied_by == "张三" and applied.approved_by == "审批人" and applied.applied_at is not None
    assert applied.approval_note == "审批单 2026-118" and applied.approved_hash == applied.plan_hash
    assert applied.lease_owner is None and applied.lease_until is None
    assert {"script_approved", "script_apply_approved", "script_applied", "repaired", "verified"} <= {
        e.event for e in events}
    assert ticket.repair_started_at is not None                         # the applied script started it
    with pytest.raises(TicketError, match="already applied"):
        apply_repair_script(store, tid, target_engine=engine, by="张三", sinks=[])

    # Rollback restores the prior state exactly and reopens the (verified, closed) ticket.
    out = apply_repair_script(store, tid, target_engine=engine, by="李四", rollback=True, sinks=[])
    assert out.outcome == "rolled_back", out.detail
    assert snapshot(engine, "tgt_fp") == before
    assert latest_script(store, tid).outcome == "rolled_back"
    ticket = get_ticket(store, tid)[0]
    assert ticket.status == "reopened" and ticket.open_key is not None and out.ticket_status == "reopened"
    engine.dispose()


@pytest.mark.mariadb
def test_repair_script_on_mariadb(mariadb_url, tmp_path):
    run_repair_cycle(mariadb_url, tmp_path)


@pytest.mark.postgres
def test_repair_script_on_postgres(postgres_url, tmp_path):
    run_repair_cycle(postgres_url, tmp_path)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_repair_from_postgres_source_to_mariadb_target(postgres_url, mariadb_url, tmp_path):
    """Values read from one dialect are written as literals of the other."""
    src = make_engine(postgres_url, read_only=False)
    tgt = make_engine(mariadb_url, read_only=False)
    _create(src, "fp_fpxx", SOURCE_ROWS)
    _create(tgt, "fp_fpxx", TARGET_ROWS)
    catalog = Catalog(
        nodes={"hq.src_db": Node(id="hq.src_db", side="hq", kind="postgresql"),
               "gx.tgt_db": Node(id="gx.tgt_db", side="province", kind="mysql")},
        tables={"fp_fpxx": TableDef(name="fp_fpxx", key=["fpdm", "fphm"])},
        links={"L1": Link(id="L1", kind="dsg", source="hq.src_db", target="gx.tgt_db",
                          tables=[{"table": "fp_fpxx"}])})
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    tid = ticket_for(store)
    script = generate_repair_script(store, tid, source_engine=src, target_engine=tgt, catalog=catalog,
                                    sinks=[])
    assert script.dialect == "mysql"
    approve_repair_script(store, tid, by="bureau", note="ok", sinks=[])
    out = apply_repair_script(store, tid, target_engine=tgt, by="ops", sinks=[],
                              reverify=lambda t: keys_consistent(t, catalog, src, tgt))
    assert out.outcome == "applied" and out.ticket_status == "verified"
    assert snapshot(tgt, "fp_fpxx") == snapshot(src, "fp_fpxx")
    src.dispose()
    tgt.dispose()
