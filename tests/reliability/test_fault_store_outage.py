"""The results store goes away during a run: every result is kept in the spool, the run fails
loudly naming the spool, and ``replay_spools`` writes every result once the store is back —
never a silent loss."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rel_helpers import admin, unique, write_world

from syncverify.errors import SyncverifyError
from syncverify.results import Outcome
from syncverify.runner.spool import Spool
from syncverify.runner.verify import replay_spools, verify
from syncverify.store import Store

POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _world(tmp_path, url: str, n_links: int):
    tables, links = [], []
    with admin(url).connect() as c:
        for i in range(n_links):
            c.execute(sa.text(f"CREATE TABLE s{i} (id bigint PRIMARY KEY, v text)"))
            c.execute(sa.text(f"CREATE TABLE d{i} (id bigint PRIMARY KEY, v text)"))
            c.execute(sa.text(f"INSERT INTO s{i} SELECT g, 'v' || g FROM generate_series(1, 40) g"))
            # link i loses i rows on the target
            c.execute(sa.text(f"INSERT INTO d{i} SELECT g, 'v' || g FROM generate_series(1, {40 - i}) g"))
            tables.append({"name": f"t{i}", "key": ["id"]})
            links.append({"id": f"L{i}", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
                          "tables": [{"table": f"t{i}"}]})
    nodes = {"hq.src_db": {"kind": "postgresql", "url": url, "tables": {f"t{i}": f"s{i}" for i in range(n_links)}},
             "gx.dst_db": {"kind": "postgresql", "url": url, "tables": {f"t{i}": f"d{i}" for i in range(n_links)}}}
    return write_world(tmp_path, nodes, tables, links)


@pytest.mark.postgres
def test_store_database_dropped_mid_run_then_replayed(postgres_url, sv_home, tmp_path):
    n = 4
    world = _world(tmp_path, postgres_url, n)
    store_db = unique()
    boss = admin(POSTGRES_ADMIN)
    with boss.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {store_db}"))
    store_url = sa.engine.make_url(POSTGRES_ADMIN).set(database=store_db).render_as_string(hide_password=False)
    try:
        store = Store(store_url)
        seen = []

        def outage(result) -> None:
            seen.append(result)
            if len(seen) == 1:      # the store disappears right after the first result is recorded
                with boss.connect() as c:
                    c.execute(sa.text(f"DROP DATABASE {store_db} WITH (FORCE)"))

        with pytest.raises(SyncverifyError) as failure:
            verify(world.options(workers=1), store, on_result=outage)
        message = str(failure.value)
        assert "spool" in message and "--replay-spool" in message, message
        assert len(seen) == 2 * n       # per table: the schema comparison and the diff
        spooled = Spool.pending()
        assert len(spooled) == 1
        kept = spooled[0].read()
        assert sorted(r.check_id for r in kept) == sorted(r.check_id for r in seen)

        # the store comes back (empty): the replay writes every result, with its findings
        with boss.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {store_db}"))
        store.engine.dispose()
        back = Store(store_url)
        run_ids = replay_spools(back)
        assert run_ids == [spooled[0].path.stem]
        stored = {r.check_id: r for r in back.results(run_ids[0])}
        assert len(stored) == 2 * n
        for i in range(n):
            r = stored[f"diff/L{i}/t{i}"]
            assert r.missing_count == i and r.outcome is (Outcome.INCONSISTENT if i else Outcome.CONSISTENT)
        assert Spool.pending() == []
        back.engine.dispose()
    finally:
        with boss.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {store_db} WITH (FORCE)"))
        boss.dispose()


@pytest.mark.postgres
def test_store_refusing_connections_from_the_start_fails_loudly(postgres_url, sv_home, tmp_path):
    """A store that refuses connections when the run starts: a clear error, nothing half-done."""
    world = _world(tmp_path, postgres_url, 1)
    with pytest.raises(SyncverifyError) as failure:
        store = Store("postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
        verify(world.options(), store)
    assert "not reachable" in str(failure.value)
