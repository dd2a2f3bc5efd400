"""The results store's schema, migrated by Alembic (revisions in ``store/alembic/versions/``).

A store opened for writing is brought to the head revision (:class:`syncverify.store.Store`).
The whole upgrade runs in one transaction that first takes the dialect's schema-change lock
(PostgreSQL: an advisory lock; MySQL/MariaDB: a named lock; SQLite: the ``BEGIN IMMEDIATE`` that
opens every store transaction), so two processes opening a new store at once never both create
it: the second waits, then finds the store at head.

A store built by the hand-written migrations that came before Alembic has their version table
``sv_schema_version`` and no ``alembic_version``. Those migrations applied versions 1, 2, 3...
in order, each recorded by a row; the store is stamped with revision ``vN``, N the highest
version with every version from 1 to N recorded, and upgraded from there (revisions ``v2``-``v5``
add only what such a store lacks; ``v6`` drops the old version table).

Adding a change: a new file in ``versions/`` whose ``down_revision`` is the current head
(``alembic -c src/syncverify/store/alembic/alembic.ini revision -m "..."`` writes one); never edit
a revision that has shipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from syncverify.dialects import for_engine

ALEMBIC_DIR = Path(__file__).with_name("alembic")
# The newest revision in alembic/versions, the schema of syncverify.store.models (a test holds
# the two equal). Known here so that opening a store at head imports no Alembic (a quarter of a
# second in every command).
HEAD = "v6"
VERSION_TABLE = "alembic_version"
LEGACY_VERSION_TABLE = "sv_schema_version"
SCHEMA_LOCK = "syncverify-results-store-schema"

# Alembic's ``context`` and ``op`` are process-wide: two threads migrating two stores at once
# would run in each other's context.
_ALEMBIC_IN_USE = threading.Lock()


def head() -> str:
    """The newest revision (the schema of :mod:`syncverify.store.models`)."""
    return HEAD


def current_revision(conn: sa.Connection) -> str | None:
    """The store's revision; None for a new store (or one of the hand-written migrations)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def legacy_version(conn: sa.Connection) -> int | None:
    """The version of a store built by the hand-written migrations; None for any other."""
    if not sa.inspect(conn).has_table(LEGACY_VERSION_TABLE):
        return None
    recorded = set(conn.execute(sa.text(f"SELECT version FROM {LEGACY_VERSION_TABLE}")).scalars())
    version = 0
    while version + 1 in recorded:
        version += 1
    return version


@contextmanager
def schema_lock(conn: sa.Connection) -> Iterator[None]:
    """Hold the store's schema-change lock on ``conn`` (inside its transaction)."""
    dialect = for_engine(conn)
    dialect.lock_schema_changes(conn, SCHEMA_LOCK)
    try:
        yield
    finally:
        dialect.unlock_schema_changes(conn, SCHEMA_LOCK)


def migrate(engine: sa.Engine, target: str = "head") -> str | None:
    """Bring the store to ``target`` (the head revision); returns the revision it is at."""
    wanted = head() if target == "head" else target
    with engine.connect() as conn:
        if current_revision(conn) == wanted:       # the usual case: no lock, no Alembic run
            return wanted
    from alembic import command  # only when there is work (see HEAD)
    from alembic.config import Config

    with _ALEMBIC_IN_USE, engine.begin() as conn, schema_lock(conn):
        config = Config()
        config.set_main_option("script_location", str(ALEMBIC_DIR))
        config.attributes["connection"] = conn
        if current_revision(conn) is None:
            version = legacy_version(conn)
            if version:
                command.stamp(config, f"v{version}")
        command.upgrade(config, target)
        return current_revision(conn)


__all__ = ["HEAD", "LEGACY_VERSION_TABLE", "current_revision", "head", "legacy_version", "migrate", "schema_lock"]
