"""Versioned schema migrations of the results store.

Each migration is applied once, in order, inside a transaction, and recorded in
``sv_schema_version``. Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

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


MIGRATIONS: list[Migration] = [
    Migration(1, "runs, check results, tickets, events, deliveries, repair scripts, sync-log analyses", _v1),
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
        models.SchemaVersion.__table__.create(conn, checkfirst=True)
    for migration in MIGRATIONS:
        with engine.begin() as conn:
            if current_version(conn) >= migration.version:
                continue
            migration.apply(conn)
            conn.execute(sa.insert(models.SchemaVersion).values(
                version=migration.version, description=migration.description,
                applied_at=datetime.now(timezone.utc)))
    with engine.connect() as conn:
        return current_version(conn)
