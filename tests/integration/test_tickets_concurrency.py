"""Two runs at once open no duplicate ticket: threads with separate Store objects on one store,
on an SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.store.models import Ticket, TicketEvent
from syncverify.tickets import open_or_update

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
