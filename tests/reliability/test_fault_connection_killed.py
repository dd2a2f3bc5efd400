"""A database session killed in the middle of a check: that check is recorded as not run (with
the reason), the rest of the run completes, what was found is kept, and a re-run with the same
run_id redoes only the check that did not finish."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from rel_helpers import admin, my_big_table, pg_big_table, with_app, write_world

from syncverify.results import Outcome
from syncverify.runner.verify import verify
from syncverify.store import Store

TABLES = [{"name": "big_t", "key": ["id"]}, {"name": "small_t", "key": ["id"]}]
BIG_ROWS = 200_000


def _links():
    return [
        {"id": "L-BIG", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
         "tables": [{"table": "big_t"}]},
        {"id": "L-SMALL", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
         "tables": [{"table": "small_t"}]},
    ]


def _nodes(kind: str, src_url: str, dst_url: str):
    return {"hq.src_db": {"kind": kind, "url": src_url, "tables": {"big_t": "big_src", "small_t": "small_src"}},
            "gx.dst_db": {"kind": kind, "url": dst_url, "tables": {"big_t": "big_dst", "small_t": "small_dst"}}}


def _kill_when_running(find_and_kill, done: threading.Event, killed: list[int]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done.is_set():
        n = find_and_kill()
        if n:
            killed.append(n)
            return
        time.sleep(0.01)


def _run_with_killer(world, store, find_and_kill):
    done, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_when_running, args=(find_and_kill, done, killed))
    killer.start()
    try:
        summary = verify(world.options(workers=2), store)
    finally:
        done.set()
        killer.join()
    return summary, killed


def _assert_outcome(summary, store, world):
    by_id = {r.check_id: r for r in summary.results}
    big, small = by_id["diff/L-BIG/big_t"], by_id["diff/L-SMALL/small_t"]
    # the killed check: not run, with a reason that names the lost connection — or retried to a result
    if big.outcome is Outcome.NOT_RUN:
        assert big.error and len(big.error) < 400, big.error
    else:
        assert big.changed_count == BIG_ROWS // 1000
    # the rest of the run completed and its findings are in the store
    assert small.outcome is Outcome.INCONSISTENT and small.changed_count == 3
    stored = {r.check_id: r for r in store.results(summary.run_id)}
    assert stored["diff/L-SMALL/small_t"].changed_keys == small.changed_keys
    assert stored["diff/L-BIG/big_t"].outcome is big.outcome
    # the re-run with the same run id redoes only what did not finish
    again = verify(world.options(workers=2, run_id=summary.run_id), store)
    assert "L-SMALL/small_t" in again.skipped
    rerun_ids = {r.check_id for r in again.results}
    assert "diff/L-SMALL/small_t" not in rerun_ids
    if big.outcome is Outcome.NOT_RUN:
        redone = {r.check_id: r for r in again.results}["diff/L-BIG/big_t"]
        assert redone.outcome is Outcome.INCONSISTENT and redone.changed_count == BIG_ROWS // 1000
    final = {r.check_id: r for r in store.results(summary.run_id)}
    assert final["diff/L-SMALL/small_t"].changed_count == 3
    assert final["diff/L-BIG/big_t"].changed_count == BIG_ROWS // 1000
    assert store.run(summary.run_id).status == "completed"


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_backend_terminated_mid_diff(postgres_url, sv_home, tmp_path):
    pg_big_table(postgres_url, "big_src", BIG_ROWS)
    pg_big_table(postgres_url, "big_dst", BIG_ROWS, differ_every=1000)
    eng = admin(postgres_url)
    with eng.connect() as c:
        for t in ("small_src", "small_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id int PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO small_src SELECT g, 'v' || g FROM generate_series(1, 50) g"))
        c.execute(sa.text("INSERT INTO small_dst SELECT g, CASE WHEN g <= 3 THEN 'changed' ELSE 'v' || g END "
                          "FROM generate_series(1, 50) g"))
    world = write_world(tmp_path, _nodes("postgresql", with_app(postgres_url, "svrel_src"),
                                         with_app(postgres_url, "svrel_dst")), TABLES, _links())
    store = Store(f"sqlite:///{sv_home / 'results.sqlite'}")

    def find_and_kill() -> int:
        with eng.connect() as c:
            return len(c.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'svrel_%' "
                "AND state = 'active' AND query ~ 'big_(src|dst)' AND query ILIKE '%group by%'")).all())

    summary, killed = _run_with_killer(world, store, find_and_kill)
    assert killed, "the diff's GROUP BY was never seen running: nothing was killed"
    _assert_outcome(summary, store, world)
    eng.dispose()


@pytest.mark.mariadb
@pytest.mark.slow
def test_mariadb_connection_killed_mid_diff(mariadb_url, sv_home, tmp_path):
    my_big_table(mariadb_url, "big_src", BIG_ROWS)
    my_big_table(mariadb_url, "big_dst", BIG_ROWS, differ_every=1000)
    eng = admin(mariadb_url)
    db = sa.engine.make_url(mariadb_url).database
    with eng.connect() as c:
        for t in ("small_src", "small_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id int PRIMARY KEY, v varchar(20))"))
        c.execute(sa.text("INSERT INTO small_src SELECT seq, concat('v', seq) FROM seq_1_to_50"))
        c.execute(sa.text("INSERT INTO small_dst SELECT seq, IF(seq <= 3, 'changed', concat('v', seq)) "
                          "FROM seq_1_to_50"))
    world = write_world(tmp_path, _nodes("mysql", mariadb_url, mariadb_url), TABLES, _links())
    store = Store(f"sqlite:///{sv_home / 'results.sqlite'}")

    def find_and_kill() -> int:
        with eng.connect() as c:
            ids = c.execute(sa.text(
                "SELECT id FROM information_schema.processlist WHERE db = :db AND command = 'Query' "
                "AND id <> CONNECTION_ID() AND info REGEXP 'big_(src|dst)' AND info LIKE '%GROUP BY%'"),
                {"db": db}).scalars().all()
            for pid in ids:
                c.execute(sa.text(f"KILL CONNECTION {int(pid)}"))
            return len(ids)

    summary, killed = _run_with_killer(world, store, find_and_kill)
    assert killed, "the diff's GROUP BY was never seen running: nothing was killed"
    _assert_outcome(summary, store, world)
    eng.dispose()
