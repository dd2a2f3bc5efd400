"""The SLA watch on a frozen clock: escalations once each, re-verification closing and reopening.

Re-verification runs for real: the ticket's keys are compared between two SQLite databases.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from helpers import anomaly as shared_anomaly
from syncverify.catalog import Catalog, Link, Node, TableDef
from syncverify.connect.engine import make_engine
from syncverify.results import CheckKind, CheckResult
from syncverify.tickets import (
    FrozenClock,
    get_ticket,
    mark_repaired,
    open_or_update,
    reverifier,
    sla_watch,
    start_repair,
)

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


# The shared difference, on this file's one-link catalog
anomaly = functools.partial(shared_anomaly, link="L1", source_node="hq.src_db", target_node="gx.tgt_db")


def events_of(store, tid) -> list[str]:
    return [e.event for e in get_ticket(store, tid)[1]]


def test_escalations_near_and_overdue_once_each(store):
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [anomaly()], run_id="r1", now=clock(), sinks=[])
    # Every 15 minutes for 26 hours: each escalation exactly once, at the right time.
    raised: list[tuple[str, datetime]] = []
    while clock() < T0 + timedelta(hours=26):
        clock.advance(minutes=15)
        for e in sla_watch(store, now=clock(), sink_names=[]).escalations:
            raised.append((e["event"], clock()))
    assert raised == [
        ("repair_start_near", T0 + timedelta(hours=7)),
        ("repair_start_overdue", T0 + timedelta(hours=8)),
        ("correction_near", T0 + timedelta(hours=23)),
        ("correction_overdue", T0 + timedelta(hours=24)),
    ]
    assert events_of(store, tid).count("repair_start_overdue") == 1
    t = get_ticket(store, tid)[0]
    assert t.repair_due_at.replace(tzinfo=UTC) == T0 + timedelta(hours=8)


def test_late_watch_raises_only_overdue_and_started_repair_stops_the_8h_clock(store):
    clock = FrozenClock(T0)
    [late] = open_or_update(store, [anomaly()], run_id="r1", now=clock(), sinks=[])
    r2 = CheckResult(kind=CheckKind.DIFF, link_id="L2", table="fp_fpxx", missing_count=1, missing_keys=["2"],
                     started_at=T0).finish()
    [started] = open_or_update(store, [r2], run_id="r1", now=clock(), sinks=[])
    start_repair(store, started, actor="ops", now=clock.advance(hours=2), sinks=[])
    clock.advance(hours=7)                       # T0 + 9 h: first watch after the 8 h deadline
    report = sla_watch(store, now=clock(), sink_names=[])
    assert [(e["ticket_id"], e["event"]) for e in report.escalations] == [(late, "repair_start_overdue")]
    clock.advance(hours=14, minutes=30)          # T0 + 23.5 h
    report = sla_watch(store, now=clock(), sink_names=[])
    assert sorted((e["ticket_id"], e["event"]) for e in report.escalations) == [
        (late, "correction_near"), (started, "correction_near")]
    assert sla_watch(store, now=clock(), sink_names=[]).escalations == []


def _world(tmp_path):
    """Two SQLite databases with an fp_fpxx copy each, and the catalog of the link between them."""
    engines = {}
    for node in ("hq.src_db", "gx.tgt_db"):
        # make_engine: the connections the verifier uses (SQLite gets the engine's sv_* functions)
        engines[node] = make_engine(f"sqlite:///{tmp_path / (node + '.sqlite')}", read_only=False)
        with engines[node].begin() as c:
            c.execute(sa.text("CREATE TABLE fp_fpxx (fphm VARCHAR(20) PRIMARY KEY, je DECIMAL(12,2), "
                              "gmfmc VARCHAR(100))"))
            c.execute(sa.text("INSERT INTO fp_fpxx VALUES ('1', 10.50, '南宁某公司'), ('2', 20, 'b')"))
    catalog = Catalog(
        nodes={n: Node(id=n, side="hq" if n.startswith("hq") else "province", kind="sqlite")
               for n in engines},
        tables={"fp_fpxx": TableDef(name="fp_fpxx", key=["fphm"])},
        links={"L1": Link(id="L1", kind="dsg", source="hq.src_db", target="gx.tgt_db",
                          tables=[{"table": "fp_fpxx"}])})
    return engines, catalog


def test_reverify_closes_matching_and_reopens_differing(store, tmp_path):
    engines, catalog = _world(tmp_path)
    tgt = engines["gx.tgt_db"]
    with tgt.begin() as c:
        c.execute(sa.text("DELETE FROM fp_fpxx WHERE fphm = '2'"))
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [anomaly(["2"])], run_id="r1", now=clock(), sinks=[])
    reverify = reverifier(catalog, engines.__getitem__)

    mark_repaired(store, tid, actor="ops", now=clock.advance(hours=1), sinks=[])
    report = sla_watch(store, now=clock.advance(minutes=15), reverify=reverify, sink_names=[])
    assert report.reopened == [tid]                      # key 2 is still missing in the target
    t = get_ticket(store, tid)[0]
    assert t.status == "reopened" and t.reopen_count == 1

    with tgt.begin() as c:
        c.execute(sa.text("INSERT INTO fp_fpxx VALUES ('2', 20.00, 'b')"))   # 20 = 20.00: equal by value
    mark_repaired(store, tid, actor="ops", now=clock.advance(hours=1), sinks=[])
    report = sla_watch(store, now=clock.advance(minutes=15), reverify=reverify, sink_names=[])
    assert report.verified == [tid]
    t, events = get_ticket(store, tid)
    assert t.status == "verified" and t.open_key is None
    assert (events[-1].event, events[-1].actor) == ("verified", "sla-watch")


def test_reverify_sees_changed_values_and_cannot_decide_without_keys(store, tmp_path):
    engines, catalog = _world(tmp_path)
    with engines["gx.tgt_db"].begin() as c:
        # a trailing space is a difference
        c.execute(sa.text("UPDATE fp_fpxx SET gmfmc = '南宁某公司 ' WHERE fphm = '1'"))
    clock = FrozenClock(T0)
    hop = {"link_id": "L1", "table": "fp_fpxx", "source_node": "hq.src_db", "target_node": "gx.tgt_db",
           "started_at": T0}
    changed = CheckResult(kind=CheckKind.DIFF, changed_count=1, changed_keys=["1"], **hop).finish()
    # Another hop, checked by volume only: no row keys, so re-verification cannot decide.
    count_only = CheckResult(kind=CheckKind.KAFKA_VOLUME, missing_count=5,
                             **{**hop, "link_id": "L9"}).finish()
    ids = open_or_update(store, [changed, count_only], run_id="r1", now=clock(), sinks=[])
    for tid in ids:
        mark_repaired(store, tid, actor="ops", now=clock(), sinks=[])
    report = sla_watch(store, now=clock.advance(minutes=15),
                       reverify=reverifier(catalog, engines.__getitem__), sink_names=[])
    assert report.reopened == [ids[0]] and report.undecided == [ids[1]]


def test_unreachable_node_during_reverify_is_reported_not_fatal(store, tmp_path):
    _, catalog = _world(tmp_path)
    [tid] = open_or_update(store, [anomaly(["1"])], run_id="r1", now=T0, sinks=[])
    mark_repaired(store, tid, actor="ops", now=T0, sinks=[])

    def resolve(node: str) -> sa.Engine:
        return sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'nope.sqlite'}")

    report = sla_watch(store, now=T0, reverify=reverifier(catalog, resolve), sink_names=[])
    assert report.errors and report.errors[0]["ticket_id"] == tid
    assert get_ticket(store, tid)[0].status == "repaired"
