"""Two verifications of the same month at once (two threads, one shared PostgreSQL store):
consistent results in both runs and exactly one open ticket per anomalous (link, table)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.catalog import load_catalog
from syncverify.runner.verify import verify
from syncverify.store import Store
from syncverify.tickets import lifecycle


@pytest.mark.mariadb
@pytest.mark.postgres
def test_two_runs_of_one_month_at_once(mariadb_url, postgres_url, sv_home, tmp_path):
    n = 4
    with admin(mariadb_url).connect() as c:
        for i in range(n):
            c.execute(sa.text(f"CREATE TABLE s{i} (id bigint PRIMARY KEY, v varchar(20))"))
            c.execute(sa.text(f"CREATE TABLE d{i} (id bigint PRIMARY KEY, v varchar(20))"))
            c.execute(sa.text(f"INSERT INTO s{i} SELECT seq, concat('v', seq) FROM seq_1_to_200"))
            # links 1..3 lose i rows and change one value; link 0 is consistent
            c.execute(sa.text(f"INSERT INTO d{i} SELECT seq, IF(seq = 7 AND {i} > 0, 'changed', concat('v', seq)) "
                              f"FROM seq_1_to_{200 - i}"))
    nodes = {"hq.src_db": {"kind": "mysql", "url": mariadb_url, "tables": {f"t{i}": f"s{i}" for i in range(n)}},
             "gx.dst_db": {"kind": "mysql", "url": mariadb_url, "tables": {f"t{i}": f"d{i}" for i in range(n)}}}
    world = write_world(tmp_path, nodes, [{"name": f"t{i}", "key": ["id"]} for i in range(n)],
                        [{"id": f"L{i}", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
                          "tables": [{"table": f"t{i}"}]} for i in range(n)])
    catalog = load_catalog(world.catalog)
    store = Store(postgres_url)
    barrier = threading.Barrier(2)
    summaries, errors = [], []

    def one_run() -> None:
        try:
            barrier.wait()
            summary = verify(world.options(workers=2), store)
            barrier.wait()       # both runs finished: open tickets at the same moment
            lifecycle.open_or_update(store, summary.results, run_id=summary.run_id, catalog=catalog, sinks=[])
            summaries.append(summary)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    a, b = ({r.check_id: (r.outcome, r.missing_count, r.changed_count) for r in s.results} for s in summaries)
    # each table: the schema comparison and the diff (a full verification runs both)
    assert a == b and len(a) == 2 * n and sum(k.startswith("diff/") for k in a) == n
    assert summaries[0].run_id != summaries[1].run_id
    tickets = lifecycle.list_tickets(store, open_only=True)
    keys = [t.open_key for t in tickets]
    assert len(keys) == len(set(keys)) == n - 1, keys
    assert sorted(t.link_id for t in tickets) == ["L1", "L2", "L3"]
    store.engine.dispose()
