"""Concurrency points of the tickets, on an SQLite file and on a real PostgreSQL database.

* Two runs at once open no duplicate ticket (threads with separate Store objects on one store).
* A store transaction on SQLite holds the write lock from its first statement (BEGIN IMMEDIATE).
* An escalation claim lost to another watch skips that level only: the transaction goes on
  (a SAVEPOINT; on PostgreSQL a failed INSERT would abort it) and other tickets' claims commit.
* Escalations recorded as events before the claims table existed still count as raised.
* A delivery claimed by a sender is not sent by another until the claim's lease runs out.

Real concurrent processes: ``test_tickets_processes_races.py``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.store.models import Delivery, Ticket, TicketEscalation, TicketEvent
from syncverify.tickets import FileDropSink, deliver_pending, escalate, open_or_update, pending_count
from syncverify.tickets.outbox import claim_next
from syncverify.tickets.sla import claim_escalation

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
TABLES = ["fp_fpxx", "yp_ypxx", "hz_tzd", "dm_csb", "zsk_zsxx"]


def results() -> list[CheckResult]:
    return [CheckResult(kind=CheckKind.DIFF, link_id="zz11", table=t, missing_count=1, missing_keys=["1"],
                        started_at=T0).finish() for t in TABLES]


def race(url: str, runs: int = 4, rounds: int = 3) -> list[Exception]:
    stores = [Store(url) for _ in range(runs)]        # separate engines and pools, like separate workers
    errors: list[Exception] = []
    barrier = threading.Barrier(runs)

    def work(i: int) -> None:
        try:
            for n in range(rounds):
                barrier.wait(timeout=30)
                open_or_update(stores[i], results(), run_id=f"run-{i}-{n}", now=T0, sinks=["file"])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.engine.dispose()
    return errors


def check_no_duplicates(url: str, runs: int = 4, rounds: int = 3) -> None:
    store = Store(url)
    with store.session() as s:
        tickets = list(s.scalars(sa.select(Ticket)))
        opened = s.scalar(sa.select(sa.func.count()).select_from(TicketEvent)
                          .where(TicketEvent.event == "opened"))
        seen = s.scalar(sa.select(sa.func.count()).select_from(TicketEvent)
                        .where(TicketEvent.event == "seen_again"))
    assert sorted(t.table_name for t in tickets) == sorted(TABLES)
    assert opened == len(TABLES)
    assert seen == len(TABLES) * (runs * rounds - 1)      # every other run updated the one ticket
    store.engine.dispose()


def test_concurrent_runs_on_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).engine.dispose()                        # migrate once before the race
    assert race(url) == []
    check_no_duplicates(url)


@pytest.mark.postgres
def test_concurrent_runs_on_postgres(postgres_url):
    Store(postgres_url).engine.dispose()
    assert race(postgres_url) == []
    check_no_duplicates(postgres_url)


# ---- the store, escalation claims and delivery claims ------------------------------------------------

@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'store.sqlite'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    store = Store(url)
    yield store
    store.engine.dispose()


def test_sqlite_store_transaction_holds_the_write_lock_from_its_first_read(tmp_path):
    path = tmp_path / "store.sqlite"
    store = Store(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    with store.session() as s:
        s.scalar(sa.select(sa.func.count()).select_from(Ticket))          # a read, nothing written yet
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")                              # no second writer meanwhile
        assert other.execute("SELECT count(*) FROM sv_tickets").fetchone() == (0,)   # WAL: readers go on
    other.execute("BEGIN IMMEDIATE")                                      # free again after commit
    other.execute("ROLLBACK")
    other.close()
    store.engine.dispose()


def test_a_lost_escalation_claim_skips_that_level_only(store):
    ids = open_or_update(store, results(), run_id="r1", now=T0, sinks=[])
    with store.session() as s:           # another watch claimed (and committed) ticket 1's level
        assert claim_escalation(s, ids[0], "repair_start_overdue", T0)
    with store.session() as s:
        assert not claim_escalation(s, ids[0], "repair_start_overdue", T0)   # IntegrityError, caught
        assert claim_escalation(s, ids[1], "repair_start_overdue", T0)       # the transaction goes on
    raised = escalate(store, now=T0 + timedelta(hours=9), sinks=[])
    assert sorted(e["ticket_id"] for e in raised) == sorted(ids[2:])
    with store.session() as s:
        levels = s.execute(sa.select(TicketEscalation.ticket_id, TicketEscalation.level)).all()
    assert sorted(levels) == sorted((tid, "repair_start_overdue") for tid in ids)


def test_escalation_events_from_before_the_claims_table_still_count(store):
    [tid] = open_or_update(store, results()[:1], run_id="r1", now=T0, sinks=[])
    with store.session() as s:           # raised by a watch of an older version: an event, no claim
        s.add(TicketEvent(ticket_id=tid, at=T0 + timedelta(hours=8), actor="sla-watch",
                          event="repair_start_overdue", detail={}))
    assert escalate(store, now=T0 + timedelta(hours=9), sinks=[]) == []
    assert [e["event"] for e in escalate(store, now=T0 + timedelta(hours=25), sinks=[])] == ["correction_overdue"]


def test_a_claimed_delivery_waits_for_its_lease(store, tmp_path):
    open_or_update(store, results()[:1], run_id="r1", now=T0, sinks=["file"])
    sink = FileDropSink(tmp_path / "drop")
    claimed = claim_next(store, ["file"])              # a sender holds it (and may be sending now)
    assert claimed is not None
    assert deliver_pending(store, [sink], T0).delivered == []
    assert pending_count(store) == 1 and not (tmp_path / "drop").exists()
    # The sender died: its claim is taken over once the lease has run out, and sent once.
    with store.session() as s:
        s.execute(sa.update(Delivery).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    report = deliver_pending(store, [sink], T0)
    assert [d["id"] for d in report.delivered] == [claimed[0].id]
    assert pending_count(store) == 0 and len(list((tmp_path / "drop").glob("*.json"))) == 1
