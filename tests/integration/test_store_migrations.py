"""The results store under Alembic: a store built by the hand-written migrations that came before
it (recorded DDL in tests/data/store_legacy/, at versions 2 and 5) is recognised, stamped and
upgraded with its data; a new store and an upgraded one have the same schema, and that schema is
the models'; processes opening one store at once migrate it once.

On an SQLite file and a fresh PostgreSQL database (MariaDB: the fresh store only).
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from syncverify.store import Store, models
from syncverify.store.migrations import LEGACY_VERSION_TABLE, current_revision, head

LEGACY = Path(__file__).resolve().parents[1] / "data" / "store_legacy"
STORES = [pytest.param("sqlite", id="sqlite"),
          pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file's path, or a fresh PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def _backend(url: str) -> str:
    return sa.engine.make_url(url).get_backend_name()


def build_legacy(url: str, version: int) -> None:
    """The store as the hand-written migrations left it at ``version``: their recorded DDL and
    version rows, then a few rows of data in the tables of that version."""
    script = (LEGACY / f"v{version}.{_backend(url)}.sql").read_text()
    statements = [s.strip().rstrip(";") for s in script.split(";\n\n")]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                conn.exec_driver_sql(body.replace("%", "%%") if _backend(url) == "postgresql" else body)
        at = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
        conn.execute(sa.text(
            "INSERT INTO sv_runs (id, kind, month, started_at, finished_at, status, params, summary) "
            "VALUES ('monthly-old', 'monthly', '2026-10', :at, :at, 'completed', '{}', '{\"n\": 1}')"), {"at": at})
        conn.execute(sa.text(
            "INSERT INTO sv_check_results (run_id, check_id, kind, link_id, table_name, outcome, missing_count, "
            "extra_count, changed_count, duplicate_count, in_flight_count, payload) VALUES ('monthly-old', "
            "'count/zz11/fp_fpxx', 'count', 'zz11', 'fp_fpxx', 'consistent', 0, 0, 0, 0, 0, :payload)"),
            {"payload": '{"kind": "count", "link_id": "zz11", "table": "fp_fpxx", "outcome": "consistent", '
                        '"source_rows": 7, "target_rows": 7}'})
        conn.execute(sa.text(
            "INSERT INTO sv_tickets (open_key, dedup_key, kind, link_id, table_name, check_id, title, status, "
            "detected_at, repair_due_at, correct_due_at, reopen_count, evidence, updated_at) VALUES "
            "('zz11/fp_fpxx/missing', 'zz11/fp_fpxx/missing', 'missing', 'zz11', 'fp_fpxx', 'diff/zz11/fp_fpxx', "
            "'3 rows missing', 'open', :at, :at, :at, 0, '{\"keys\": [1, 2, 3]}', :at)"), {"at": at})
        ticket_id = conn.execute(sa.text("SELECT id FROM sv_tickets")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO sv_ticket_events (ticket_id, at, actor, event, detail) "
            "VALUES (:t, :at, 'runner', 'opened', '{}')"), {"t": ticket_id, "at": at})
        conn.execute(sa.text(
            "INSERT INTO sv_repair_scripts (ticket_id, dialect, apply_sql, rollback_sql, precheck_sql, generated_at, "
            "plan) VALUES (:t, 'mysql', 'INSERT 1', 'DELETE 1', 'SELECT 1', :at, '{\"apply\": [\"INSERT 1\"]}')"),
            {"t": ticket_id, "at": at})
    engine.dispose()


def schema_of(engine: sa.Engine) -> dict[str, Any]:
    """Tables with their columns (type, nullability, default), primary key, foreign keys, unique
    constraints and indexes, as SQLAlchemy reflects them (column order aside)."""
    inspector = sa.inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        out[table] = {
            "columns": {c["name"]: (repr(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)},
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in inspector.get_foreign_keys(table)),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
        }
    return out


def fresh_schema(url: str) -> dict[str, Any]:
    store = Store(url)
    try:
        return schema_of(store.engine)
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("version", [2, 5])
def test_a_store_of_the_hand_written_migrations_is_upgraded_with_its_data(empty_url: str, version: int,
                                                                          tmp_path: Path, request) -> None:
    build_legacy(empty_url, version)
    store = Store(empty_url)
    with store.engine.connect() as conn:
        assert current_revision(conn) == head() == "v6"
        assert not sa.inspect(conn).has_table(LEGACY_VERSION_TABLE)
    # the data of the old store, read through today's API and models
    run = store.run("monthly-old")
    assert run is not None and run.summary == {"n": 1} and run.finished_at is not None
    [result] = store.results("monthly-old")
    assert (result.check_id, result.source_rows, result.target_rows) == ("count/zz11/fp_fpxx", 7, 7)
    with store.session() as s:
        ticket = s.scalars(sa.select(models.Ticket)).one()
        assert (ticket.title, ticket.evidence, ticket.occurred_at) == ("3 rows missing", {"keys": [1, 2, 3]}, None)
        assert [e.event for e in ticket.events] == ["opened"]
        script = s.scalars(sa.select(models.RepairScript)).one()
        assert script.plan == {"apply": ["INSERT 1"]} and script.approved_hash is None
        # what later versions added is there and writable
        ticket.occurred_at = datetime(2026, 10, 4, tzinfo=UTC)
        s.add(models.TicketEscalation(ticket_id=ticket.id, level="repair_overdue", at=datetime.now(UTC)))
        s.add(models.OffsetSnapshot(taken_at=datetime.now(UTC), group_id="g", topic="t", partition=0,
                                    end_offset=10, committed_offset=9, lag=1))
    upgraded = schema_of(store.engine)
    store.engine.dispose()

    # the same schema as a store created new today, in a database of its own
    if _backend(empty_url) == "sqlite":
        other = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    else:
        other = str(request.getfixturevalue("postgres_module_url"))
    assert upgraded == fresh_schema(other)


@pytest.mark.parametrize("store_kind", [*STORES, pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb)])
def test_a_new_store_has_exactly_the_schema_of_the_models(store_kind: str, tmp_path: Path, request) -> None:
    url = (f"sqlite:///{tmp_path / 'store.sqlite'}" if store_kind == "sqlite"
           else str(request.getfixturevalue(f"{'postgres' if store_kind == 'postgresql' else 'mariadb'}_url")))
    store = Store(url)
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                       models.Base.metadata)
        assert current_revision(conn) == head()
    store.engine.dispose()
    assert differences == []          # the revisions build what the models describe, no more


def test_a_version_missing_below_a_later_one_is_applied(tmp_path: Path) -> None:
    """The hand-written migrations applied each missing version, also one below a later one (a
    store repaired by hand): the stamp is the last version with every version below it."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    build_legacy(url, 5)
    engine = sa.create_engine(url)
    with engine.begin() as conn:       # a store of version 5 whose version 2 was never applied
        conn.exec_driver_sql("ALTER TABLE sv_repair_scripts DROP COLUMN plan")
        conn.exec_driver_sql(f"DELETE FROM {LEGACY_VERSION_TABLE} WHERE version = 2")
    engine.dispose()
    store = Store(url)
    assert "plan" in {c["name"] for c in sa.inspect(store.engine).get_columns("sv_repair_scripts")}
    with store.engine.connect() as conn:
        assert current_revision(conn) == head()
    store.engine.dispose()


def test_a_read_only_open_creates_nothing(tmp_path: Path) -> None:
    from syncverify.errors import UnreachableError

    missing = tmp_path / "nowhere" / "results.sqlite"
    with pytest.raises(UnreachableError, match="does not exist"):
        Store(f"sqlite:///{missing}", create=False)
    assert not missing.parent.exists()


# ---- processes opening one store at once -------------------------------------------------------------

def _open_and_count_creates(url: str, barrier: Any, queue: Any) -> None:
    try:
        creates: list[str] = []

        def log(conn, cursor, statement, *_args) -> None:
            if statement.lstrip().upper().startswith("CREATE TABLE"):
                creates.append(statement)

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", log)
        barrier.wait(timeout=120)
        Store(url).engine.dispose()
        queue.put((None, len(creates)))
    except BaseException:
        queue.put((traceback.format_exc(), 0))


@pytest.mark.parametrize(("backend", "legacy"), [
    pytest.param("sqlite", False, id="sqlite-new"),
    pytest.param("sqlite", True, id="sqlite-legacy-v2"),
    pytest.param("postgres", False, id="postgres-new", marks=pytest.mark.postgres),
    pytest.param("postgres", True, id="postgres-legacy-v2", marks=pytest.mark.postgres),
    pytest.param("mariadb", False, id="mariadb-new", marks=pytest.mark.mariadb),
])
def test_processes_opening_a_store_at_once_migrate_it_once(backend: str, legacy: bool, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    empty_url = (f"sqlite:///{tmp_path / 'store.sqlite'}" if backend == "sqlite"
                 else str(request.getfixturevalue(f"{backend}_url")))
    if legacy:
        build_legacy(empty_url, 2)
    ctx = mp.get_context("spawn")
    n = 4
    queue, barrier = ctx.Queue(), ctx.Barrier(n)
    procs = [ctx.Process(target=_open_and_count_creates, args=(empty_url, barrier, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        outcomes = [queue.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    assert [error for error, _ in outcomes if error] == []
    creates = sorted(count for _, count in outcomes)
    # one process created the tables (and Alembic's version table), the others found the store at head
    expected = 3 if legacy else 10       # v2 -> head creates escalations, two snapshot tables (+ alembic_version)
    assert creates[:-1] == [0] * (n - 1)
    assert creates[-1] == expected + 1
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head()]
    engine.dispose()
