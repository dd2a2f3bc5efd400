"""A statement timeout hit on a slow table: the check is reported clearly as not run (naming the
timeout and the table), it never hangs, and the other checks of the run complete."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.results import Outcome
from syncverify.runner.verify import verify
from syncverify.store import Store

TABLES = [{"name": "slow_t", "key": ["id"]}, {"name": "fast_t", "key": ["id"]}]
LINKS = [{"id": "L-SLOW", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db", "tables": [{"table": "slow_t"}]},
         {"id": "L-FAST", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db", "tables": [{"table": "fast_t"}]}]


def _nodes(kind: str, url: str) -> dict:
    # 0.5 s statement timeout from the connection profile; the slow view sleeps ~3 s per scan
    return {"hq.src_db": {"kind": kind, "url": url, "profile": {"statement_timeout_s": 0.5},
                          "tables": {"slow_t": "slow_src", "fast_t": "fast_src"}},
            "gx.dst_db": {"kind": kind, "url": url, "profile": {"statement_timeout_s": 0.5},
                          "tables": {"slow_t": "slow_dst", "fast_t": "fast_dst"}}}


def _run_and_check(world, home) -> None:
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    started = time.monotonic()
    summary = verify(world.options(), store)
    elapsed = time.monotonic() - started
    by_id = {r.check_id: r for r in summary.results}
    slow, fast = by_id["diff/L-SLOW/slow_t"], by_id["diff/L-FAST/fast_t"]
    assert slow.outcome is Outcome.NOT_RUN
    assert "timeout" in slow.error.lower() and "slow_" in slow.error, slow.error
    assert fast.outcome is Outcome.CONSISTENT and fast.source_rows == 20
    assert elapsed < 30, f"the run took {elapsed:.1f} s: the timeout did not stop the slow query"
    assert store.run(summary.run_id).status == "partial"


@pytest.mark.postgres
def test_postgres_statement_timeout_reported(postgres_url, sv_home, tmp_path):
    with admin(postgres_url).connect() as c:
        c.execute(sa.text("CREATE TABLE base (id bigint PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO base SELECT g, 'v' || g FROM generate_series(1, 30) g"))
        for t in ("slow_src", "slow_dst"):
            c.execute(sa.text(f"CREATE VIEW {t} AS SELECT id, v FROM base, LATERAL (SELECT pg_sleep(0.1), base.id AS i) s"))
        for t in ("fast_src", "fast_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} AS SELECT * FROM base WHERE id <= 20"))
            c.execute(sa.text(f"ALTER TABLE {t} ADD PRIMARY KEY (id)"))
    _run_and_check(write_world(tmp_path, _nodes("postgresql", postgres_url), TABLES, LINKS), sv_home)


@pytest.mark.mariadb
def test_mariadb_max_statement_time_reported(mariadb_url, sv_home, tmp_path):
    with admin(mariadb_url).connect() as c:
        c.execute(sa.text("CREATE TABLE base (id bigint PRIMARY KEY, v varchar(20))"))
        c.execute(sa.text("INSERT INTO base SELECT seq, concat('v', seq) FROM seq_1_to_30"))
        for t in ("slow_src", "slow_dst"):
            c.execute(sa.text(f"CREATE VIEW {t} AS SELECT id, v FROM base WHERE SLEEP(0.1) = 0"))
        for t in ("fast_src", "fast_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id bigint PRIMARY KEY, v varchar(20))"))
            c.execute(sa.text(f"INSERT INTO {t} SELECT * FROM base WHERE id <= 20"))
    _run_and_check(write_world(tmp_path, _nodes("mysql", mariadb_url), TABLES, LINKS), sv_home)
