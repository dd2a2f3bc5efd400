"""Repair plans by target kind, on real databases and a real Kafka-protocol broker:

* duplicated keys on MariaDB and PostgreSQL targets: the extra copies are deleted (one copy kept,
  the one equal to the source), a changed copy count stops the apply, the rollback restores them;
  a key duplicated at the source only gets a note, no statement;
* a Kafka topic target gets a re-publish plan (no SQL), built as the project's producer builds
  messages, with the consumer groups of the topic; an approved plan is published to the broker;
* approval: the plan hash is recorded, a plan changed after approval is refused, and generating
  a script does not start the repair clock.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.catalog import Catalog, Link, Node, TableDef
from syncverify.connect.engine import make_engine
from syncverify.kafka import KafkaSource, produce_json
from syncverify.kafka.client import partitions_of
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.store.models import RepairScript
from syncverify.tickets import (
    TicketError,
    apply_repair_script,
    approve_repair_script,
    generate_repair_script,
    get_ticket,
    latest_script,
    open_or_update,
    plan_hash,
    ticket_view,
    write_script_files,
)
from syncverify.tickets.republish import message_for

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
COLS = ["fpdm", "fphm", "je", "kprq", "gmfmc"]
A, B, C, D = ("1440", "01"), ("1440", "02"), ("1440", "03"), ("1440", "04")
ROW = {A: (Decimal("10.00"), datetime(2026, 10, 1, 9, 0), "甲"), B: (Decimal("20.00"), datetime(2026, 10, 1, 10, 0), "乙"),
       C: (Decimal("30.00"), datetime(2026, 10, 2, 9, 0), "丙"), D: (Decimal("40.00"), datetime(2026, 10, 3, 9, 0), "丁")}
SOURCE = [(*A, *ROW[A]), (*B, *ROW[B]), (*C, *ROW[C]), (*C, *ROW[C]), (*D, *ROW[D])]      # C twice at the source
TARGET = [(*A, *ROW[A]), (*A, *ROW[A]), (*A, *ROW[A]),                                   # A three identical copies
          (*B, Decimal("99.00"), ROW[B][1], "乙"), (*B, *ROW[B]),                         # B: a wrong copy, a right one
          (*C, *ROW[C])]                                                                  # D missing


def _table(engine: sa.Engine, name: str, rows: list[tuple]) -> None:
    md = sa.MetaData()
    t = sa.Table(name, md, sa.Column("fpdm", sa.String(12), nullable=False), sa.Column("fphm", sa.String(20),
                 nullable=False), sa.Column("je", sa.Numeric(18, 2)), sa.Column("kprq", sa.DateTime),
                 sa.Column("gmfmc", sa.String(100)))                      # no primary key: copies can repeat
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(t.insert(), [dict(zip(COLS, r, strict=True)) for r in rows])


def _rows(engine: sa.Engine, name: str) -> list[tuple]:
    with engine.connect() as c:
        return sorted(tuple(r) for r in c.execute(sa.text(f"SELECT {', '.join(COLS)} FROM {name}")))


def _catalog(kind: str, target: Node | None = None, extra_links: dict[str, Link] | None = None) -> Catalog:
    tgt = target or Node(id="gx.tgt_db", side="province", kind=kind, tables={"fp_fpxx": "tgt_dup"})
    return Catalog(
        nodes={"hq.src_db": Node(id="hq.src_db", side="hq", kind=kind, tables={"fp_fpxx": "src_dup"}), tgt.id: tgt},
        tables={"fp_fpxx": TableDef(name="fp_fpxx", key=["fpdm", "fphm"], window_column="kprq")},
        links={"L1": Link(id="L1", kind="kafka-producer" if tgt.is_kafka else "dsg", source="hq.src_db",
                          target=tgt.id, tables=[{"table": "fp_fpxx"}]), **(extra_links or {})})


def _ticket(store: Store, kind: CheckKind = CheckKind.DIFF, target: str = "gx.tgt_db", **lists: list) -> int:
    counts = {f"{k}_count": len(v) for k, v in lists.items()}
    keys = {f"{k}_keys": v for k, v in lists.items()}
    r = CheckResult(kind=kind, link_id="L1", table="fp_fpxx", source_node="hq.src_db", target_node=target,
                    started_at=T0, **counts, **keys).finish()
    [tid] = open_or_update(store, [r], run_id="r1", now=T0, sinks=[])
    return tid


def run_duplicates(url: str, tmp_path: Path) -> None:
    engine = make_engine(url, read_only=False)
    kind = "postgresql" if engine.dialect.name == "postgresql" else "mysql"
    _table(engine, "src_dup", SOURCE)
    _table(engine, "tgt_dup", TARGET)
    before = _rows(engine, "tgt_dup")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    catalog = _catalog(kind)
    tid = _ticket(store, duplicate=[A, B, C], missing=[D])
    script = generate_repair_script(store, tid, source_engine=engine, target_engine=engine, catalog=catalog,
                                    sinks=[])
    plan = script.plan or {}
    assert plan["duplicate_copies_deleted"] == 3 and plan["inserts"] == 1, plan
    assert any("repair at the source" in n and '"03"' in n for n in plan["notes"]), plan["notes"]
    assert ("ctid" if kind == "postgresql" else "LIMIT 2") in script.apply_sql
    assert _rows(engine, "tgt_dup") == before

    # One more copy of A appears after generation: the copy count pre-check refuses.
    approve_repair_script(store, tid, by="审批人", note="dup", sinks=[])
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO tgt_dup VALUES ('1440', '01', 10.00, '2026-10-01 09:00:00', '甲')"))
    out = apply_repair_script(store, tid, target_engine=engine, by="ops", sinks=[])
    assert out.outcome == "precheck_failed" and "3 copies" in out.detail["error"], out.detail
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM tgt_dup WHERE fpdm = '1440' AND fphm = '01'"))
        c.execute(sa.text("INSERT INTO tgt_dup VALUES ('1440', '01', 10.00, '2026-10-01 09:00:00', '甲'), "
                          "('1440', '01', 10.00, '2026-10-01 09:00:00', '甲'), "
                          "('1440', '01', 10.00, '2026-10-01 09:00:00', '甲')"))
    assert _rows(engine, "tgt_dup") == before

    out = apply_repair_script(store, tid, target_engine=engine, by="ops", sinks=[])
    assert out.outcome == "applied", out.detail
    after = _rows(engine, "tgt_dup")
    # One copy per key, the one equal to the source; C untouched (repair at the source); D inserted.
    assert after == sorted({*SOURCE}), after
    out = apply_repair_script(store, tid, target_engine=engine, by="ops", rollback=True, sinks=[])
    assert out.outcome == "rolled_back", out.detail
    assert _rows(engine, "tgt_dup") == before
    engine.dispose()


@pytest.mark.mariadb
def test_duplicates_on_mariadb(mariadb_url: str, tmp_path: Path) -> None:
    run_duplicates(mariadb_url, tmp_path)


@pytest.mark.postgres
def test_duplicates_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    run_duplicates(postgres_url, tmp_path)


def _topic_messages(bootstrap: str, topic: str) -> list[tuple[str | None, str, int]]:
    """Every message of the topic: (key, value, timestamp ms)."""
    source = KafkaSource(bootstrap, topic, {}, 10)
    consumer = source.consumer()
    from confluent_kafka import TopicPartition

    try:
        parts = partitions_of(source, consumer)
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        done: set[int] = set()
        out = []
        while len(done) < len(parts):
            msg = consumer.poll(10)
            assert msg is not None, "no answer from the broker"
            if msg.error() is not None:
                done.add(msg.partition())
                continue
            key = msg.key()
            out.append((key.decode() if key else None, msg.value().decode(), msg.timestamp()[1]))
        return sorted(out, key=lambda m: (m[0] or "", m[1]))
    finally:
        consumer.close()


@pytest.mark.postgres
@pytest.mark.kafka
def test_kafka_target_gets_a_republish_plan_and_apply_publishes(postgres_url: str, kafka_broker: str,
                                                                tmp_path: Path) -> None:
    engine = make_engine(postgres_url, read_only=False)
    rows = [(*A, *ROW[A]), (*B, *ROW[B]), (*D, *ROW[D])]
    _table(engine, "src_dup", rows)
    topic = f"fp_fpxx_{tmp_path.name[-8:]}".replace("-", "_")
    records = [dict(zip(COLS, r, strict=True)) for r in rows]
    # The producer delivered A only; B and D never reached the topic.
    produce_json(kafka_broker, topic, records[:1], ["fpdm", "fphm"], partitions=3, timestamp_field="kprq")
    kafka = Node(id="gx.kafka", side="province", kind="kafka", tables={"fp_fpxx": topic})
    consumer_link = Link(id="GXJF-QUERY", kind="kafka-consumer", source="gx.kafka", target="gx.tgt_db",
                         consumer_group="gxjf-query", key_path=["fpdm", "fphm"], tables=[{"table": "fp_fpxx"}])
    catalog = _catalog("postgresql", target=kafka, extra_links={"GXJF-QUERY": consumer_link})
    catalog.nodes["gx.tgt_db"] = Node(id="gx.tgt_db", side="province", kind="postgresql")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    tid = _ticket(store, kind=CheckKind.KAFKA_KEYS, target="gx.kafka", missing=[B, D], extra=[C])

    script = generate_repair_script(store, tid, source_engine=engine, catalog=catalog, sinks=[])
    assert script.plan_kind == "republish" and script.dialect == "kafka"
    assert script.apply_sql == script.rollback_sql == script.precheck_sql == ""          # no SQL at all
    plan = script.plan or {}
    assert plan["topic"] == topic and len(plan["messages"]) == 2
    assert [g["group"] for g in plan["consumer_groups"]] == ["gxjf-query"]
    assert "reset-offsets" in plan["consumer_groups"][0]["instruction"]
    assert any("cannot be taken back" in n for n in plan["notes"])
    # The messages are what the project's producer builds from the row (A's is on the topic already).
    [on_topic] = _topic_messages(kafka_broker, topic)
    assert (on_topic[0], on_topic[1], on_topic[2]) == tuple(message_for(records[0], ["fpdm", "fphm"], "kprq").values())
    [path] = write_script_files(script, tmp_path / "scripts")
    assert path.name.endswith("republish.json") and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8"))["messages"] == plan["messages"]

    with pytest.raises(TicketError, match="not approved"):
        apply_repair_script(store, tid, by="ops", kafka_bootstrap=kafka_broker, sinks=[])
    approve_repair_script(store, tid, by="审批人", note="重发", sinks=[])
    with pytest.raises(TicketError, match="cannot be rolled back"):
        apply_repair_script(store, tid, by="ops", kafka_bootstrap=kafka_broker, rollback=True, sinks=[])
    out = apply_repair_script(store, tid, by="ops", kafka_bootstrap=kafka_broker, sinks=[])
    assert out.outcome == "applied" and out.detail["published"] == 2, out.detail
    assert out.detail["resets_if_needed"][0]["group"] == "gxjf-query"
    messages = _topic_messages(kafka_broker, topic)
    assert sorted(m[0] for m in messages) == ["1440|01", "1440|02", "1440|04"]
    assert {(m["key"], m["value"], m["timestamp_ms"]) for m in plan["messages"]} <= set(messages)
    ticket = get_ticket(store, tid)[0]
    assert ticket.status == "repaired" and latest_script(store, tid).outcome == "applied"
    with pytest.raises(TicketError, match="already applied"):
        apply_repair_script(store, tid, by="ops", kafka_bootstrap=kafka_broker, sinks=[])
    engine.dispose()


def test_approval_names_the_plan_and_generation_starts_no_clock(tmp_path: Path) -> None:
    urls = {n: f"sqlite:///{tmp_path / (n + '.sqlite')}" for n in ("src", "tgt")}
    engines = {n: make_engine(u, read_only=False) for n, u in urls.items()}
    _table(engines["src"], "src_dup", [(*A, *ROW[A]), (*B, *ROW[B])])
    _table(engines["tgt"], "tgt_dup", [(*A, *ROW[A])])
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    catalog = _catalog("sqlite")
    tid = _ticket(store, missing=[B])
    script = generate_repair_script(store, tid, source_engine=engines["src"], target_engine=engines["tgt"],
                                    catalog=catalog, now=T0, sinks=[])
    ticket, events = get_ticket(store, tid)
    assert ticket.repair_started_at is None and ticket_view(ticket)["sla"]["repair_start"] == "running"
    assert events[-1].event == "script_generated" and script.plan_hash == plan_hash(script.plan or {})

    with pytest.raises(TicketError, match="--note"):
        approve_repair_script(store, tid, by="审批人", note=" ", sinks=[])
    approved = approve_repair_script(store, tid, by="审批人", note="审批单 9", now=T0 + timedelta(hours=1), sinks=[])
    assert approved.approved_at is not None and approved.approved_hash == script.plan_hash
    assert get_ticket(store, tid)[1][-1].event == "script_approved"

    # The stored plan changes after the approval (an edit, a bad copy): apply refuses, writes nothing.
    with store.session() as s:
        row = s.get(RepairScript, script.id)
        assert row is not None
        changed = json.loads(json.dumps(row.plan))
        changed["apply"] = [changed["apply"][0].replace("乙", "丙")]
        row.plan = changed
    with pytest.raises(TicketError, match="changed since 审批人 approved it"):
        apply_repair_script(store, tid, target_engine=engines["tgt"], by="ops", sinks=[])
    assert len(_rows(engines["tgt"], "tgt_dup")) == 1
    with pytest.raises(TicketError, match="changed since it was generated"):
        approve_repair_script(store, tid, by="审批人", note="again", sinks=[])

    # A script generated again is a new plan: the old approval does not cover it.
    generate_repair_script(store, tid, source_engine=engines["src"], target_engine=engines["tgt"],
                           catalog=catalog, now=T0, sinks=[])
    with pytest.raises(TicketError, match="not approved"):
        apply_repair_script(store, tid, target_engine=engines["tgt"], by="ops", sinks=[])
    approve_repair_script(store, tid, by="审批人", note="审批单 10", sinks=[])
    out = apply_repair_script(store, tid, target_engine=engines["tgt"], by="ops", now=T0 + timedelta(hours=2),
                              sinks=[])
    assert out.outcome == "applied"
    ticket = get_ticket(store, tid)[0]
    assert ticket_view(ticket)["sla"]["repair_start"] == "met"
    assert ticket.repair_started_at is not None
    for e in engines.values():
        e.dispose()
