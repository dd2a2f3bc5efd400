"""Real concurrent processes on one results store — an SQLite file and a fresh PostgreSQL database.

Threads in one interpreter share a GIL and often take turns; the bugs these tests guard against
were measured with separate processes (three ``tickets watch`` delivering every escalation three
times, a concurrent resolve/start leaving a ticket ``repairing`` with ``repaired_at`` set). So each
test starts real processes (multiprocessing "spawn", or the ``syncverify`` command itself), lets
them go at a barrier, and checks the store afterwards:

* three SLA watches over overdue tickets raise each escalation once per ticket and level, and
  each delivery reaches the file drop exactly once (a logging file drop sees every send, also a
  repeated one that would only rewrite its file);
* start and resolve racing on the same tickets leave every ticket consistent with its fields and
  with the order of its events;
* runs opening the same anomalies at once open no duplicate ticket.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.store.models import Delivery, Ticket, TicketEscalation, TicketEvent
from syncverify.tickets import FileDropSink, TicketError, mark_repaired, open_or_update, sla_watch, start_repair

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
SYNCVERIFY = Path(sys.executable).with_name("syncverify")
STORES = [pytest.param("sqlite", id="sqlite"),
          pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store: an SQLite file, or a fresh PostgreSQL database (dropped after)."""
    url = (f"sqlite:///{tmp_path / 'store.sqlite'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    Store(url).engine.dispose()        # migrate once, before any race
    return url


# ---- running work in processes ---------------------------------------------------------------------

def _entry(target: Callable[..., Any], barrier: Any, queue: Any, index: int, args: tuple[Any, ...]) -> None:
    try:
        barrier.wait(timeout=120)      # all processes are up: start together
        queue.put((index, None, target(*args)))
    except BaseException:
        queue.put((index, traceback.format_exc(), None))


def in_processes(target: Callable[..., Any], arg_lists: list[tuple[Any, ...]], timeout: float = 300) -> list[Any]:
    """Run ``target(*args)`` once per args in its own spawned process, all starting at a barrier;
    returns the results in order and fails with the traceback of any process that raised."""
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(len(arg_lists))
    procs = [ctx.Process(target=_entry, args=(target, barrier, queue, i, args)) for i, args in enumerate(arg_lists)]
    for p in procs:
        p.start()
    results: dict[int, Any] = {}
    try:
        for _ in procs:
            index, error, value = queue.get(timeout=timeout)
            assert error is None, f"process {index} failed:\n{error}"
            results[index] = value
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return [results[i] for i in range(len(procs))]


class LoggedFileDrop(FileDropSink):
    """The real file drop, plus one line per send in a log (O_APPEND writes of a line are atomic
    across processes), so a repeated send — which only rewrites the same file — is counted."""

    def __init__(self, folder: Path, log: Path) -> None:
        super().__init__(folder)
        self.log = log

    def send(self, payload: Mapping[str, Any], idempotency_key: str) -> int:
        attempts = super().send(payload, idempotency_key)
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(idempotency_key + "\n")
        return attempts


def anomalies(n: int, started: datetime = T0) -> list[CheckResult]:
    return [CheckResult(kind=CheckKind.DIFF, link_id="zz11", table=f"t{i:03d}", missing_count=1,
                        missing_keys=[str(i)], started_at=started).finish() for i in range(n)]


# ---- (a) escalations and their deliveries -----------------------------------------------------------

def watch_worker(url: str, now: datetime, folder: str, log: str, passes: int) -> dict[str, int]:
    store = Store(url, migrate=False)
    sink = LoggedFileDrop(Path(folder), Path(log))
    raised = delivered = 0
    for _ in range(passes):
        report = sla_watch(store, now=now, sinks={"file": sink})
        raised += len(report.escalations)
        delivered += len(report.deliveries.delivered) if report.deliveries else 0
    store.engine.dispose()
    return {"raised": raised, "delivered": delivered}


def check_escalations(url: str, n: int, expected: Counter[str]) -> None:
    """Each ticket carries exactly the ``expected`` escalation events, each with its claim row."""
    store = Store(url, migrate=False)
    with store.session() as s:
        for tid in s.scalars(sa.select(Ticket.id)):
            got = Counter(s.scalars(sa.select(TicketEvent.event).where(
                TicketEvent.ticket_id == tid, TicketEvent.event.like("%\\_near", escape="\\")
                | TicketEvent.event.like("%\\_overdue", escape="\\"))))
            assert got == expected, f"ticket {tid}: {got}"
            claims = Counter(s.scalars(sa.select(TicketEscalation.level).where(TicketEscalation.ticket_id == tid)))
            assert claims == expected, f"ticket {tid} claims: {claims}"
        assert s.scalar(sa.select(sa.func.count()).select_from(Ticket)) == n
    store.engine.dispose()


def check_delivered_once(url: str, folder: Path, log: Path | None) -> int:
    """Every delivery is delivered, its file is there, and (with a log) it was sent exactly once."""
    store = Store(url, migrate=False)
    with store.session() as s:
        rows = list(s.scalars(sa.select(Delivery)))
    store.engine.dispose()
    assert rows and all(r.status == "delivered" for r in rows), Counter(r.status for r in rows)
    files = sorted(p.stem for p in folder.glob("*.json"))
    assert files == sorted(r.idempotency_key for r in rows)
    if log is not None:
        sends = Counter(log.read_text(encoding="utf-8").split())
        assert sends == Counter({r.idempotency_key: 1 for r in rows}), {k: v for k, v in sends.items() if v > 1}
    return len(rows)


def test_three_watchers_escalate_and_deliver_each_exactly_once(store_url: str, tmp_path: Path) -> None:
    n = 12
    store = Store(store_url)
    open_or_update(store, anomalies(n), run_id="r1", now=T0, sinks=["file"])
    store.engine.dispose()
    folder, log = tmp_path / "drop", tmp_path / "sends.log"
    # Round 1, 7.5 h after detection: only "repair start near" is due.
    near = in_processes(watch_worker, [(store_url, T0 + timedelta(hours=7.5), str(folder), str(log), 3)] * 3)
    check_escalations(store_url, n, Counter({"repair_start_near": 1}))
    # Round 2, 30 h after: both deadlines passed; "correction near" is skipped for the overdue one.
    late = in_processes(watch_worker, [(store_url, T0 + timedelta(hours=30), str(folder), str(log), 3)] * 3)
    check_escalations(store_url, n, Counter({"repair_start_near": 1, "repair_start_overdue": 1,
                                             "correction_overdue": 1}))
    deliveries = check_delivered_once(store_url, folder, log)
    assert deliveries == n * 4                     # opened + three escalations, one sink
    # Each watcher reports only what it raised and sent itself.
    assert sum(r["raised"] for r in near + late) == n * 3
    assert sum(r["delivered"] for r in near + late) == deliveries


def test_three_watch_commands_and_two_deliver_commands_at_once(store_url: str, tmp_path: Path) -> None:
    """The same through the command line: real clock, so the tickets are detected 30 h ago."""
    n = 10
    store = Store(store_url)
    open_or_update(store, anomalies(n), run_id="r1", now=datetime.now(UTC) - timedelta(hours=30), sinks=["file"])
    store.engine.dispose()
    folder = tmp_path / "drop"
    env = {**os.environ, "SYNCVERIFY_HOME": str(tmp_path / "home"), "SYNCVERIFY_TICKET_SINKS": "file",
           "SYNCVERIFY_TICKET_DROP": str(folder)}
    commands = [["watch", "--no-reverify"]] * 3 + [["deliver"]] * 2
    procs = [subprocess.Popen([str(SYNCVERIFY), "tickets", *cmd, "--store", store_url, "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for cmd in commands]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    reports = [json.loads(out) for out, _ in outputs]
    check_escalations(store_url, n, Counter({"repair_start_overdue": 1, "correction_overdue": 1}))
    deliveries = check_delivered_once(store_url, folder, None)
    assert deliveries == n * 3
    assert sum(len(r["escalations"]) for r in reports[:3]) == n * 2
    delivered = [d for r in reports for d in r.get("deliveries", r)["delivered"]]
    assert sorted(d["id"] for d in delivered) == sorted({d["id"] for d in delivered})  # none sent twice
    assert len(delivered) == deliveries


# ---- (b) start and resolve racing -------------------------------------------------------------------

def operator_worker(url: str, action: str, ticket_ids: list[int], seed: int) -> dict[str, int]:
    store = Store(url, migrate=False)
    fn = {"start": start_repair, "resolve": mark_repaired}[action]
    ids = list(ticket_ids)
    random.Random(seed).shuffle(ids)
    done = refused = 0
    for tid in ids:
        try:
            fn(store, tid, actor=f"{action}-{seed}", now=T0 + timedelta(hours=1), sinks=["file"])
            done += 1
        except TicketError:            # the other operator got there first: allowed, and said so
            refused += 1
    store.engine.dispose()
    return {"done": done, "refused": refused}


# event -> (statuses it may follow, status it leads to)
TRANSITIONS = {"opened": ((None,), "open"),
               "repair_started": (("open", "acknowledged", "reopened"), "repairing"),
               "repaired": (("open", "acknowledged", "repairing", "reopened"), "repaired")}


def replay(events: list[str]) -> str | None:
    """The status the events lead to, failing on an event that its predecessor did not allow."""
    status: str | None = None
    for e in events:
        allowed, status_after = TRANSITIONS[e]
        assert status in allowed, f"{e} after {status}: {events}"
        status = status_after
    return status


def test_start_and_resolve_racing_leave_every_ticket_consistent(store_url: str) -> None:
    n = 40
    store = Store(store_url)
    ids = open_or_update(store, anomalies(n), run_id="r1", now=T0, sinks=["file"])
    store.engine.dispose()
    work = [(store_url, "start", ids, 1), (store_url, "resolve", ids, 2),
            (store_url, "start", ids, 3), (store_url, "resolve", ids, 4)]
    results = in_processes(operator_worker, work)
    store = Store(store_url, migrate=False)
    with store.session() as s:
        for t in s.scalars(sa.select(Ticket).order_by(Ticket.id)):
            events = list(s.scalars(sa.select(TicketEvent.event).where(TicketEvent.ticket_id == t.id)
                                    .order_by(TicketEvent.id)))
            assert replay(events) == t.status, (t.id, t.status, events)
            # A resolver tried every ticket, and resolve is allowed from every state start leads to.
            assert t.status == "repaired" and t.repaired_at is not None and t.repair_started_at is not None
            assert events.count("repaired") == 1 and events.count("repair_started") <= 1
            # The outbox got exactly the events that happened.
            assert s.scalar(sa.select(sa.func.count()).select_from(Delivery)
                            .where(Delivery.ticket_id == t.id)) == len(events)
    store.engine.dispose()
    assert sum(r["done"] for r in results[1::2]) == n      # each ticket resolved exactly once
    assert sum(r["done"] + r["refused"] for r in results) == 4 * n


# ---- (c) runs opening the same tickets ----------------------------------------------------------------

def run_worker(url: str, index: int, rounds: int) -> int:
    store = Store(url, migrate=False)
    for r in range(rounds):
        open_or_update(store, anomalies(5), run_id=f"run-{index}-{r}", now=T0, sinks=["file"])
    store.engine.dispose()
    return rounds


def test_runs_in_processes_open_no_duplicate_ticket(store_url: str) -> None:
    runs, rounds = 4, 3
    in_processes(run_worker, [(store_url, i, rounds) for i in range(runs)])
    store = Store(store_url, migrate=False)
    with store.session() as s:
        tickets = list(s.scalars(sa.select(Ticket)))
        events = Counter(s.scalars(sa.select(TicketEvent.event)))
    store.engine.dispose()
    assert sorted(t.table_name for t in tickets) == [f"t{i:03d}" for i in range(5)]
    assert all(t.open_key is not None for t in tickets)
    assert events == Counter({"opened": 5, "seen_again": 5 * (runs * rounds - 1)})
