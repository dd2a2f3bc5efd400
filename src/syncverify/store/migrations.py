"""Versioned schema migrations of the results store.

Each migration is applied once, in order, inside a transaction, and recorded in
``sv_schema_version``. Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from syncverify.store import models


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1(conn: sa.Connection) -> None:
    tables = [models.Base.metadata.tables[name] for name in (
        "sv_runs", "sv_check_results", "sv_tickets", "sv_ticket_events", "sv_deliveries",
        "sv_repair_scripts", "sv_synclog_analyses")]
    models.Base.metadata.create_all(conn, tables=tables)


def _v2(conn: sa.Connection) -> None:
    # A store created by _v1 from today's models already has the column (create_all uses the
    # current models); only stores created before version 2 need the ALTER.
    columns = {c["name"] for c in sa.inspect(conn).get_columns("sv_repair_scripts")}
    if "plan" not in columns:
        json_type = sa.JSON().compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE sv_repair_scripts ADD COLUMN plan {json_type}"))


def _add_missing_columns(conn: sa.Connection, table: str, names: list[str]) -> None:
    """ALTER TABLE ADD COLUMN for each of ``names`` the table lacks (typed as the model says)."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    model = models.Base.metadata.tables[table]
    for name in names:
        if name not in have:
            col_type = model.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {col_type}"))


def _v3(conn: sa.Connection) -> None:
    _add_missing_columns(conn, "sv_tickets", ["occurred_at"])
    _add_missing_columns(conn, "sv_repair_scripts", [
        "plan_kind", "plan_hash", "approved_at", "approval_note", "approved_hash", "lease_owner",
        "lease_until"])
    _add_missing_columns(conn, "sv_deliveries", ["claim_token", "claimed_until"])
    models.Base.metadata.tables["sv_ticket_escalations"].create(conn, checkfirst=True)


def _v4(conn: sa.Connection) -> None:
    models.Base.metadata.tables["sv_schema_snapshots"].create(conn, checkfirst=True)


def _v5(conn: sa.Connection) -> None:
    models.Base.metadata.tables["sv_offset_snapshots"].create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    Migration(1, "runs, check results, tickets, events, deliveries, repair scripts, sync-log analyses", _v1),
    Migration(2, "repair scripts: structured plan (pre-check, apply, rollback statements)", _v2),
    Migration(3, "tickets: occurred_at; repair scripts: plan kind and hash, approval, apply lease; "
                 "deliveries: sender claim; escalations raised once per ticket and level", _v3),
    Migration(4, "schema snapshots: the normalised shape of each copy of a table, per month and change", _v4),
    Migration(5, "offset snapshots: consumer groups' end and committed offsets over time (consumer health)", _v5),
]

LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table(models.SchemaVersion.__tablename__):
        return 0
    value = conn.execute(sa.select(sa.func.max(models.SchemaVersion.version))).scalar()
    return int(value or 0)


def migrate(engine: sa.Engine) -> int:
    """Bring the store to the latest version; returns the version it is at."""
    with engine.begin() as conn:
        models.Base.metadata.tables[models.SchemaVersion.__tablename__].create(conn, checkfirst=True)
    for migration in MIGRATIONS:
        with engine.begin() as conn:
            # Each version by itself, not the highest one: a version missing below a later one
            # (a store repaired by hand) is still applied.
            done = conn.execute(sa.select(models.SchemaVersion.version).where(
                models.SchemaVersion.version == migration.version)).first()
            if done is not None:
                continue
            migration.apply(conn)
            conn.execute(sa.insert(models.SchemaVersion).values(
                version=migration.version, description=migration.description,
                applied_at=datetime.now(UTC)))
    with engine.connect() as conn:
        return current_version(conn)
