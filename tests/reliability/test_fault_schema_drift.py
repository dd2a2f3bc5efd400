"""Schema drift between two copies: a column added, removed or retyped on one side, a table
missing. Each gives a clear result or a not-run reason that names the column or table, and the
other checks of the run still complete."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.results import Outcome
from syncverify.runner.verify import verify
from syncverify.store import Store

TABLES = [
    {"name": "added_t", "key": ["id"]},
    {"name": "removed_t", "key": ["id"], "columns": ["v", "w"]},
    {"name": "retyped_t", "key": ["id"]},
    {"name": "gone_t", "key": ["id"]},
    {"name": "ok_t", "key": ["id"]},
]


@pytest.mark.postgres
def test_schema_drift_is_named(postgres_url, sv_home, tmp_path):
    with admin(postgres_url).connect() as c:
        for t in ("added", "removed", "retyped", "gone", "ok"):
            c.execute(sa.text(f"CREATE TABLE {t}_src (id bigint PRIMARY KEY, v text, w numeric(10,2))"))
            c.execute(sa.text(f"INSERT INTO {t}_src SELECT g, 'v' || g, g + 0.5 FROM generate_series(1, 30) g"))
        c.execute(sa.text("CREATE TABLE added_dst AS SELECT *, 'new' AS added_col FROM added_src"))
        c.execute(sa.text("CREATE TABLE removed_dst AS SELECT id, v FROM removed_src"))
        # retyped: w becomes text on the target and one value is written differently
        c.execute(sa.text("CREATE TABLE retyped_dst AS SELECT id, v, CAST(w AS text) AS w FROM retyped_src"))
        c.execute(sa.text("UPDATE retyped_dst SET w = '1.50x' WHERE id = 1"))
        c.execute(sa.text("CREATE TABLE ok_dst AS SELECT * FROM ok_src"))
    links = [{"id": f"L-{t.upper()}", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
              "tables": [{"table": f"{t}_t"}]} for t in ("added", "removed", "retyped", "gone", "ok")]
    names = ("added", "removed", "retyped", "gone", "ok")
    nodes = {"hq.src_db": {"kind": "postgresql", "url": postgres_url, "tables": {f"{t}_t": f"{t}_src" for t in names}},
             "gx.dst_db": {"kind": "postgresql", "url": postgres_url, "tables": {f"{t}_t": f"{t}_dst" for t in names}}}
    world = write_world(tmp_path, nodes, TABLES, links)
    summary = verify(world.options(), Store(f"sqlite:///{sv_home / 'results.sqlite'}"))
    r = {x.check_id.split("/")[1]: x for x in summary.results}

    # a column only on the target: the common columns are compared (documented contract), and
    # the result says exactly which ones
    assert r["L-ADDED"].outcome is Outcome.CONSISTENT
    assert r["L-ADDED"].details["columns"] == ["v", "w"]
    # a catalog column removed on the target: not run, naming the column and the table
    assert r["L-REMOVED"].outcome is Outcome.NOT_RUN
    assert "'w'" in r["L-REMOVED"].error and "removed_dst" in r["L-REMOVED"].error
    # a retyped column: compared by value across the types; the one real difference is found
    assert r["L-RETYPED"].outcome is Outcome.INCONSISTENT, r["L-RETYPED"].error
    assert r["L-RETYPED"].changed_count == 1 and r["L-RETYPED"].changed_keys == ["1"]
    # a table missing on the target: not run, naming the table
    assert r["L-GONE"].outcome is Outcome.NOT_RUN and "gone_dst" in r["L-GONE"].error
    assert "not found" in r["L-GONE"].error
    assert r["L-OK"].outcome is Outcome.CONSISTENT and r["L-OK"].source_rows == 30


@pytest.mark.mariadb
def test_mariadb_table_missing_and_column_removed_are_named(mariadb_url, sv_home, tmp_path):
    with admin(mariadb_url).connect() as c:
        c.execute(sa.text("CREATE TABLE removed_src (id bigint PRIMARY KEY, v varchar(9), w decimal(10,2))"))
        c.execute(sa.text("INSERT INTO removed_src SELECT seq, seq, seq FROM seq_1_to_10"))
        c.execute(sa.text("CREATE TABLE removed_dst (id bigint PRIMARY KEY, v varchar(9))"))
        c.execute(sa.text("INSERT INTO removed_dst SELECT seq, seq FROM seq_1_to_10"))
        c.execute(sa.text("CREATE TABLE gone_src (id bigint PRIMARY KEY, v varchar(9), w decimal(10,2))"))
    links = [{"id": f"L-{t.upper()}", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db",
              "tables": [{"table": f"{t}_t"}]} for t in ("removed", "gone")]
    nodes = {side: {"kind": "mysql", "url": mariadb_url,
                    "tables": {"removed_t": f"removed_{suffix}", "gone_t": f"gone_{suffix}"}}
             for side, suffix in (("hq.src_db", "src"), ("gx.dst_db", "dst"))}
    world = write_world(tmp_path, nodes, [t for t in TABLES if t["name"] in ("removed_t", "gone_t")], links)
    summary = verify(world.options(), Store(f"sqlite:///{sv_home / 'results.sqlite'}"))
    r = {x.check_id.split("/")[1]: x for x in summary.results}
    assert r["L-REMOVED"].outcome is Outcome.NOT_RUN and "'w'" in r["L-REMOVED"].error
    assert r["L-GONE"].outcome is Outcome.NOT_RUN and "gone_dst" in r["L-GONE"].error
