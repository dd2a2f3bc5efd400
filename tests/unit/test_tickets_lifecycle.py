"""Anomalies to tickets and the lifecycle, on a real SQLite results store with a frozen clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from syncverify.catalog import load_catalog
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store.models import Delivery, Ticket, TicketEvent
from syncverify.tickets import (
    FrozenClock,
    TicketError,
    acknowledge,
    get_ticket,
    list_tickets,
    mark_repaired,
    open_or_update,
    start_repair,
    ticket_view,
)

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
TAXPAYER = "91450100MA5K8X2Q3D"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("checks")


def diff(table: str = "fp_fpxx", link: str = "zz11", *, missing=(), extra=(), changed=(),
         outcome: Outcome | None = None, started: datetime = T0, **kw) -> CheckResult:
    r = CheckResult(kind=kw.pop("kind", CheckKind.DIFF), link_id=link, table=table, source_node="hq.query_db",
                    target_node="hq.ledger_db", source_rows=100, target_rows=100 - len(missing) + len(extra),
                    missing_count=len(missing), extra_count=len(extra), changed_count=len(changed),
                    missing_keys=list(missing), extra_keys=list(extra), changed_keys=list(changed),
                    started_at=started, **kw)
    r.finish()
    if outcome is not None:
        r.outcome = outcome
    return r


def test_anomaly_opens_ticket_with_deadlines_and_masked_evidence(store, catalog):
    clock = FrozenClock(T0)
    r = diff(missing=[("144031900111", "01234567")], changed=[("144031900111", "01234568")],
             details={"trace": {"hops": ["zz11"], "note": f"seller {TAXPAYER}"}})
    ids = open_or_update(store, [r], run_id="run-1", now=clock(), catalog=catalog, sinks=[],
                         evidence_extra={"incidents": [{"line": f"ERROR nsrsbh={TAXPAYER} timeout"}]})
    assert len(ids) == 1
    ticket, events = get_ticket(store, ids[0])
    assert ticket.status == "open" and ticket.kind == "consistency"
    assert ticket.repair_due_at.replace(tzinfo=UTC) == T0 + timedelta(hours=8)
    assert ticket.correct_due_at.replace(tzinfo=UTC) == T0 + timedelta(hours=24)
    assert [e.event for e in events] == ["opened"] and events[0].actor == "run:run-1"
    view = ticket_view(ticket)
    text = json.dumps(view, ensure_ascii=False)
    # invoice numbers are shown; taxpayer ids never are, and the raw keys stay internal
    assert "01234567" in text and TAXPAYER not in text and "914501" in text
    assert "_keys" not in view["evidence"]
    assert view["evidence"]["trace"]["hops"] == ["zz11"]
    assert view["evidence"]["incidents"][0]["line"].startswith("ERROR nsrsbh=914501")


def test_taxpayer_id_keys_are_masked_with_catalog_and_without(store, catalog):
    r = diff("nsr_jcxx", "ZZ15-2", missing=[TAXPAYER])
    [tid] = open_or_update(store, [r], run_id="run-1", now=T0, catalog=catalog, sinks=[])
    sample = ticket_view(get_ticket(store, tid)[0])["evidence"]["checks"][r.check_id]["sample_keys"]
    assert sample["missing"] == ["914501**********3D"]
    r2 = diff("nsr_jcxx", "SS31", missing=[TAXPAYER])
    [tid2] = open_or_update(store, [r2], run_id="run-1", now=T0, catalog=None, sinks=[])
    assert TAXPAYER not in json.dumps(ticket_view(get_ticket(store, tid2)[0]))


def test_repeated_run_updates_the_open_ticket_never_duplicates(store):
    clock = FrozenClock(T0)
    first = open_or_update(store, [diff(missing=["1"])], run_id="run-1", now=clock(), sinks=[])
    clock.advance(hours=2)
    # the same anomaly seen by COUNT and DIFF of a later run: one ticket for the (link, table)
    again = open_or_update(store, [diff(missing=["1", "2"]), diff(kind=CheckKind.COUNT, missing=["1", "2"])],
                           run_id="run-2", now=clock(), sinks=[])
    assert first == again
    tickets = list_tickets(store, open_only=True)
    assert len(tickets) == 1
    t, events = get_ticket(store, first[0])
    assert t.last_run_id == "run-2" and t.detected_at.replace(tzinfo=UTC) == T0   # deadlines keep
    assert [e.event for e in events] == ["opened", "seen_again"]
    assert sorted(t.evidence["_keys"]["missing"]) == ["1", "2"]
    # another table or link is another ticket
    other = open_or_update(store, [diff("yp_ypxx", missing=["9"])], run_id="run-2", now=clock(), sinks=[])
    assert other != first


def test_not_run_results_open_nothing(store):
    r = CheckResult.not_run(CheckKind.DIFF, "zz11", "fp_fpxx", "node unreachable")
    assert open_or_update(store, [r], run_id="run-1", now=T0, sinks=[]) == []
    assert list_tickets(store, open_only=False) == []


def test_operator_lifecycle_records_every_change_with_actor(store):
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [diff(missing=["1"])], run_id="r", now=clock(), sinks=[])
    clock.advance(minutes=30)
    acknowledge(store, tid, actor="li.wei", now=clock(), sinks=[])
    with pytest.raises(TicketError, match="cannot acknowledge"):
        acknowledge(store, tid, actor="li.wei", now=clock(), sinks=[])
    clock.advance(hours=1)
    start_repair(store, tid, actor="li.wei", now=clock(), note="DSG resync", sinks=[])
    clock.advance(hours=3)
    t = mark_repaired(store, tid, actor="li.wei", now=clock(), sinks=[])
    assert t.status == "repaired"
    view = ticket_view(t)
    assert view["sla"] == {"repair_start": "met", "correction": "met"}
    _, events = get_ticket(store, tid)
    assert [(e.event, e.actor) for e in events] == [
        ("opened", "run:r"), ("acknowledged", "li.wei"), ("repair_started", "li.wei"), ("repaired", "li.wei")]
    assert events[2].detail == {"note": "DSG resync"}
    with pytest.raises(TicketError, match="no ticket 999"):
        acknowledge(store, 999, actor="x", now=clock(), sinks=[])
    with pytest.raises(TicketError, match="actor"):
        start_repair(store, tid, actor=" ", now=clock(), sinks=[])


def test_consistent_run_marks_for_verification_then_verifies(store):
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [diff(missing=["1"])], run_id="r1", now=clock(), sinks=[])
    clock.advance(hours=3)
    open_or_update(store, [diff(started=clock())], run_id="r2", now=clock(), sinks=[])
    t, events = get_ticket(store, tid)
    # not closed silently: marked repaired by the run, waiting for a proof
    assert t.status == "repaired" and t.open_key is not None and events[-1].event == "consistent_again"
    clock.advance(hours=3)
    open_or_update(store, [diff(started=clock())], run_id="r3", now=clock(), sinks=[])
    t, events = get_ticket(store, tid)
    assert t.status == "verified" and t.open_key is None and t.closed_at is not None
    assert (events[-1].event, events[-1].actor) == ("verified", "run:r3")
    # a new anomaly after closing opens a new ticket (same dedup key)
    [tid2] = open_or_update(store, [diff(missing=["7"], started=clock())], run_id="r4", now=clock(), sinks=[])
    assert tid2 != tid
    assert get_ticket(store, tid2)[0].dedup_key == t.dedup_key


def test_run_after_repair_that_still_finds_the_anomaly_reopens(store):
    clock = FrozenClock(T0)
    [tid] = open_or_update(store, [diff(missing=["1"])], run_id="r1", now=clock(), sinks=[])
    clock.advance(hours=1)
    mark_repaired(store, tid, actor="ops", now=clock(), sinks=[])
    # a run that started BEFORE the repair was declared does not reopen it
    open_or_update(store, [diff(missing=["1"], started=T0 + timedelta(minutes=30))], run_id="r2",
                   now=clock(), sinks=[])
    assert get_ticket(store, tid)[0].status == "repaired"
    clock.advance(hours=1)
    open_or_update(store, [diff(missing=["1"], started=clock())], run_id="r3", now=clock(), sinks=[])
    t, events = get_ticket(store, tid)
    assert t.status == "reopened" and t.reopen_count == 1 and t.repaired_at is None
    assert events[-1].event == "reopened"


def test_events_write_outbox_rows_in_the_same_transaction(store):
    [tid] = open_or_update(store, [diff(missing=["1"])], run_id="r1", now=T0, sinks=["file", "webhook"])
    open_or_update(store, [diff(missing=["1"])], run_id="r2", now=T0, sinks=["file", "webhook"])
    acknowledge(store, tid, actor="ops", now=T0, sinks=["file", "webhook"])
    with store.session() as s:
        rows = list(s.scalars(sa.select(Delivery).order_by(Delivery.id)))
        n_events = s.scalar(sa.select(sa.func.count()).select_from(TicketEvent))
    assert n_events == 3      # opened, seen_again (kept in the store only), acknowledged
    assert [(r.sink, r.payload["event"]["event"]) for r in rows] == [
        ("file", "opened"), ("webhook", "opened"), ("file", "acknowledged"), ("webhook", "acknowledged")]
    assert len({r.idempotency_key for r in rows}) == 4
    assert all(r.status == "pending" and "_keys" not in r.payload["ticket"]["evidence"] for r in rows)


def test_unknown_status_is_a_clear_error(store):
    with pytest.raises(TicketError, match="unknown ticket status 'done'"):
        list_tickets(store, status="done")


def test_ticket_row_is_unique_per_open_key(store):
    open_or_update(store, [diff(missing=["1"])], run_id="r1", now=T0, sinks=[])
    with pytest.raises(sa.exc.IntegrityError), store.session() as s:
        t = s.scalars(sa.select(Ticket)).one()
        s.add(Ticket(**{c.name: getattr(t, c.name) for c in Ticket.__table__.columns if c.name != "id"}))


def test_a_link_carrying_one_table_from_two_sources_gets_a_ticket_per_source(store, catalog):
    # zz04 carries yp_ypxx from the use database and from the entry database into hq.query_db
    def on(source: str) -> CheckResult:
        return CheckResult(kind=CheckKind.DIFF, link_id="zz04", table="yp_ypxx", source_node=source,
                           target_node="hq.query_db", missing_count=1, missing_keys=["1"],
                           details={"link_check": f"zz04/yp_ypxx@{source}"}, started_at=T0).finish()

    with_catalog = open_or_update(store, [on("hq.use_db"), on("hq.entry_db")], run_id="r1", now=T0,
                                  catalog=catalog, sinks=[])
    assert len(set(with_catalog)) == 2
    without = open_or_update(store, [on("hq.use_db"), on("hq.entry_db")], run_id="r2", now=T0, sinks=[])
    assert without == with_catalog
    assert {get_ticket(store, t)[0].source_node for t in without} == {"hq.use_db", "hq.entry_db"}
