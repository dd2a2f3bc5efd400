"""Alembic's entry point for the results store.

:func:`syncverify.store.migrations.migrate` runs it with the connection in
``config.attributes["connection"]``, inside the transaction that holds the schema-change lock
(and after stamping a store of the hand-written migrations with its version). The ``alembic``
command line (``alembic -c src/syncverify/store/alembic/alembic.ini ...``, for writing and
autogenerating revisions) runs it on ``$SYNCVERIFY_STORE_URL`` or the embedded default, under the
same lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from syncverify.store import models


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=models.Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
elif context.is_offline_mode():
    raise SystemExit("the results store is migrated online only")
else:
    from syncverify.dialects import for_url
    from syncverify.store.migrations import schema_lock
    from syncverify.store.store import default_url

    _url = default_url()
    _engine = for_url(_url).store_engine(_url)
    with _engine.begin() as _conn, schema_lock(_conn):
        _run(_conn)
    _engine.dispose()
