"""Month boundaries in Asia/Shanghai: a row at 2026-10-31 23:59:59 belongs to October, one at
2026-11-01 00:00:00 to November — for naive local timestamps (MariaDB, PostgreSQL) and for a
PostgreSQL ``timestamptz`` column, whose instants must be placed by Shanghai time whatever the
server's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.results import Outcome
from syncverify.runner.options import Depth
from syncverify.runner.verify import verify
from syncverify.store import Store

ROWS = [(1, "2026-10-31 23:59:59"), (2, "2026-11-01 00:00:00"), (3, "2026-11-30 23:59:59"),
        (4, "2026-12-01 00:00:00")]
LATER = datetime(2027, 2, 1, tzinfo=UTC)


def _world(tmp_path, kind: str, url: str):
    nodes = {"hq.src_db": {"kind": kind, "url": url, "tables": {"fp_t": "fp_src"}},
             "gx.dst_db": {"kind": kind, "url": url, "tables": {"fp_t": "fp_dst"}}}
    tables = [{"name": "fp_t", "key": ["id"], "window_column": "kprq"}]
    links = [{"id": "L-MONTH", "kind": "dsg", "source": "hq.src_db", "target": "gx.dst_db", "grace": "1m",
              "tables": [{"table": "fp_t"}]}]
    return write_world(tmp_path, nodes, tables, links)


def _fill(url: str, ts_type: str, values: list[tuple[int, str]], dst_ids: set[int]) -> None:
    with admin(url).connect() as c:
        for t in ("fp_src", "fp_dst"):
            c.execute(sa.text(f"CREATE TABLE {t} (id bigint PRIMARY KEY, kprq {ts_type}, v varchar(9))"))
        for i, ts in values:
            c.execute(sa.text("INSERT INTO fp_src VALUES (:i, :t, 'x')"), {"i": i, "t": ts})
            if i in dst_ids:
                c.execute(sa.text("INSERT INTO fp_dst VALUES (:i, :t, 'x')"), {"i": i, "t": ts})


def _diff(results):
    """The diff of a full verification (the schema comparison runs beside it)."""
    [diff] = [r for r in results if r.kind.value == "diff"]
    return diff


def _assert_months(world, home) -> None:
    store = Store(f"sqlite:///{home / 'results.sqlite'}")
    nov = _diff(verify(world.options(month="2026-11", now=LATER, depth=Depth.DIFF), store).results)
    # the target lacks the October and the December rows: November is complete
    assert nov.outcome is Outcome.CONSISTENT, (nov.error, nov.missing_keys)
    assert nov.source_rows == 2 and nov.target_rows == 2
    octo = _diff(verify(world.options(month="2026-10", now=LATER, depth=Depth.DIFF), store).results)
    assert octo.outcome is Outcome.INCONSISTENT and octo.missing_keys == ["1"] and octo.source_rows == 1
    dec = verify(world.options(month="2026-12", now=LATER, depth=Depth.COUNT), store).results[0]
    assert dec.source_rows == 1 and dec.target_rows == 0


@pytest.mark.mariadb
def test_mariadb_naive_local_month_boundary(mariadb_url, sv_home, tmp_path):
    _fill(mariadb_url, "DATETIME", ROWS, dst_ids={2, 3})
    _assert_months(_world(tmp_path, "mysql", mariadb_url), sv_home)


@pytest.mark.postgres
def test_postgres_naive_local_month_boundary(postgres_url, sv_home, tmp_path):
    _fill(postgres_url, "timestamp", ROWS, dst_ids={2, 3})
    _assert_months(_world(tmp_path, "postgresql", postgres_url), sv_home)


@pytest.mark.postgres
def test_postgres_timestamptz_month_boundary_by_shanghai_time(postgres_url, sv_home, tmp_path):
    """The same instants written with an explicit offset (UTC): 2026-10-31 16:00:00+00 is
    2026-11-01 00:00:00 in Shanghai and belongs to November, although it is still October in UTC."""
    db = sa.engine.make_url(postgres_url).database
    with admin(postgres_url).connect() as c:          # a server whose sessions default to UTC
        c.execute(sa.text(f"ALTER DATABASE {db} SET timezone TO 'UTC'"))
    utc_rows = [(1, "2026-10-31 15:59:59+00"), (2, "2026-10-31 16:00:00+00"), (3, "2026-11-30 15:59:59+00"),
                (4, "2026-11-30 16:00:00+00")]
    _fill(postgres_url, "timestamptz", utc_rows, dst_ids={2, 3})
    _assert_months(_world(tmp_path, "postgresql", postgres_url), sv_home)
