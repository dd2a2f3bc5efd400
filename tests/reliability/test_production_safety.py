"""Gentle with production: the verifier's sessions are read-only and carry a statement timeout,
a node never sees more concurrent queries than its catalog cap, and a diff takes no lock beyond
ACCESS SHARE (a concurrent writer is not blocked)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from rel_helpers import admin, with_app, write_world

from syncverify.catalog import load_catalog
from syncverify.results import Outcome
from syncverify.runner.checks import CheckContext
from syncverify.runner.verify import verify, window_of
from syncverify.store import Store

N_LINKS = 4


def _slow_world(tmp_path, url: str, *, cap: int):
    """N_LINKS link checks between two nodes on one PostgreSQL database, each scan ~0.6 s."""
    with admin(url).connect() as c:
        c.execute(sa.text("CREATE TABLE base (id bigint PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO base SELECT g, 'v' || g FROM generate_series(1, 30) g"))
        for i in range(N_LINKS):
            for side in ("s", "d"):
                c.execute(sa.text(f"CREATE VIEW {side}{i} AS SELECT b.id, b.v FROM base b, "
                                  "LATERAL (SELECT pg_sleep(0.02), b.id AS i) z"))
    nodes = {"hq.src_db": {"kind": "postgresql", "url": with_app(url, "svrel_src"), "max_concurrency": cap,
                           "statement_timeout_s": 60, "tables": {f"t{i}": f"s{i}" for i in range(N_LINKS)}},
             "gx.dst_db": {"kind": "postgresql", "url": with_app(url, "svrel_dst"), "max_concurrency": cap,
                           "statement_timeout_s": 60, "tables": {f"t{i}": f"d{i}" for i in range(N_LINKS)}}}
    return write_world(tmp_path, nodes, [{"name": f"t{i}", "key": ["id"]} for i in range(N_LINKS)],
                       [{"id": f"L{i}", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
                         "tables": [{"table": f"t{i}"}]} for i in range(N_LINKS)])


class ActivityWatch:
    """Polls pg_stat_activity: the most concurrent active queries per application, and every
    relation lock mode the verifier's sessions held."""

    def __init__(self, url: str) -> None:
        self.engine = admin(url)
        self.peak: dict[str, int] = {}
        self.lock_modes: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop)

    def _loop(self) -> None:
        with self.engine.connect() as c:
            while not self._stop.is_set():
                rows = c.execute(sa.text(
                    "SELECT application_name, count(*) FROM pg_stat_activity WHERE application_name LIKE 'svrel_%' "
                    "AND state = 'active' AND backend_type = 'client backend' GROUP BY application_name")).all()
                for app, n in rows:
                    self.peak[app] = max(self.peak.get(app, 0), n)
                self.lock_modes.update(c.execute(sa.text(
                    "SELECT DISTINCT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name LIKE 'svrel_%' AND l.locktype = 'relation'")).scalars())
                self.samples += 1
                time.sleep(0.01)

    def __enter__(self) -> ActivityWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_per_node_concurrency_never_above_catalog_cap(postgres_url, sv_home, tmp_path):
    world = _slow_world(tmp_path, postgres_url, cap=2)
    store = Store(f"sqlite:///{sv_home / 'results.sqlite'}")
    with ActivityWatch(postgres_url) as watch:
        summary = verify(world.options(workers=4), store)
    assert all(r.outcome is Outcome.CONSISTENT for r in summary.results), [r.error for r in summary.results]
    assert watch.samples > 20
    # the run really was concurrent, but never above the cap of 2 per node
    assert max(watch.peak.values()) == 2, watch.peak
    assert set(watch.peak) == {"svrel_src", "svrel_dst"}
    # no lock beyond ACCESS SHARE on anything the verifier read
    assert watch.lock_modes <= {"AccessShareLock"}, watch.lock_modes


@pytest.mark.postgres
def test_concurrent_writer_not_blocked_by_a_diff(postgres_url, sv_home, tmp_path):
    world = _slow_world(tmp_path, postgres_url, cap=4)
    store = Store(f"sqlite:///{sv_home / 'results.sqlite'}")
    run = threading.Thread(target=verify, args=(world.options(workers=4, links=["L0", "L1"]), store))
    writer = admin(postgres_url)
    run.start()
    time.sleep(0.3)                               # the diffs' scans are running now
    waits = []
    with writer.connect() as c:
        c.execute(sa.text("SET lock_timeout = '2s'"))
        for i in range(5):
            t0 = time.monotonic()
            c.execute(sa.text("UPDATE base SET v = v WHERE id = :i"), {"i": i + 1})
            waits.append(time.monotonic() - t0)
            time.sleep(0.05)
    run.join(60)
    writer.dispose()
    assert max(waits) < 0.5, waits


def _runner_engine(world, node_id: str) -> sa.Engine:
    """The engine the runner uses for a node (catalog caps applied)."""
    options = world.options()
    return CheckContext(load_catalog(world.catalog), options, window_of(options)).engine(node_id)


def _write_must_fail(engine: sa.Engine, table: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as failure, engine.connect() as c:
        c.execute(sa.text(f"INSERT INTO {table} (id, v) VALUES (999, 'written')"))
        c.commit()
    return str(failure.value.orig).lower()


def _ddl_must_fail(url: str, engine: sa.Engine) -> str:
    """DROP and TRUNCATE of a table nothing depends on are refused; the table keeps its row."""
    with admin(url).connect() as c:
        c.execute(sa.text("CREATE TABLE lonely (id int)"))
        c.execute(sa.text("INSERT INTO lonely VALUES (1)"))
    messages = []
    for statement in ("TRUNCATE TABLE lonely", "DROP TABLE lonely"):
        with pytest.raises(sa.exc.DBAPIError) as failure, engine.connect() as c:
            c.execute(sa.text(statement))
            c.commit()
        messages.append(str(failure.value.orig).lower())
    with admin(url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM lonely")).scalar() == 1
    assert all("read-only" in m or "read only" in m for m in messages), messages
    return messages[1]


@pytest.mark.postgres
def test_postgres_session_read_only_with_timeout(postgres_url, sv_home, tmp_path):
    world = _slow_world(tmp_path, postgres_url, cap=2)
    engine = _runner_engine(world, "hq.src_db")
    assert "read-only" in _write_must_fail(engine, "base")
    with engine.connect() as c:
        assert c.execute(sa.text("SHOW statement_timeout")).scalar() == "1min"
        assert c.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
    assert "read-only" in _ddl_must_fail(postgres_url, engine)
    assert engine.pool.size() == 2
    with admin(postgres_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM base WHERE id = 999")).scalar() == 0


@pytest.mark.mariadb
def test_mariadb_session_read_only_with_timeout(mariadb_url, sv_home, tmp_path):
    with admin(mariadb_url).connect() as c:
        c.execute(sa.text("CREATE TABLE base (id bigint PRIMARY KEY, v varchar(20))"))
    world = write_world(tmp_path, {"hq.src_db": {"kind": "mysql", "url": mariadb_url, "max_concurrency": 3,
                                                 "statement_timeout_s": 45}},
                        [{"name": "base", "key": ["id"]}], [])
    engine = _runner_engine(world, "hq.src_db")
    assert "read only" in _write_must_fail(engine, "base")
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT @@session.tx_read_only")).scalar() == 1
        assert float(c.execute(sa.text("SELECT @@session.max_statement_time")).scalar()) == 45.0
    assert "read only" in _ddl_must_fail(mariadb_url, engine)
    assert engine.pool.size() == 3
    with admin(mariadb_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM base")).scalar() == 0
