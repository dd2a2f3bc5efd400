"""SQLAlchemy engines that are gentle with production databases.

Every new connection runs the dialect's session statements (read-only transactions, a statement
timeout) and its per-connection setup; the pool holds at most ``max_concurrency`` connections
and never overflows, so one process never runs more concurrent queries on a database than its
cap. Engines connect lazily: call :func:`check_reachable` (the comparison functions do) to turn
a refused connection into :class:`~syncverify.errors.UnreachableError` with the URL masked.

Sessions are hardened below the predicate checks (defence in depth, docs/reliability.md): the
dialect adjusts the driver's connect arguments (MySQL: no CLIENT_MULTI_STATEMENTS; PostgreSQL:
read-only transactions and standard strings from the startup packet on) and checks the new
connection, and no call through the engine may carry several statements where the driver would
send them all (PostgreSQL's simple query protocol): such a call is refused before it is sent.
"""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from syncverify.dialects import for_url
from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.masking import mask_text, mask_url

_names: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()


def redacted(url: str | sa.URL) -> str:
    """The URL with its password replaced by ``***``."""
    return mask_url(url if isinstance(url, str) else url.render_as_string(hide_password=False))


def engine_name(engine: sa.Engine) -> str:
    """The name given to :func:`make_engine`, else the masked URL."""
    return _names.get(engine) or engine.url.render_as_string(hide_password=True)


def make_engine(url: str, *, read_only: bool = True, statement_timeout_s: float = 300,
                max_concurrency: int = 4, name: str | None = None) -> sa.Engine:
    """An engine whose connections are read-only (unless told), time-limited and capped.

    ``statement_timeout_s`` <= 0 disables the timeout. SQLite has no statement timeout.
    """
    dialect = for_url(url)
    parsed = sa.engine.make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if not dialect.in_memory(parsed):
        kwargs.update(pool_size=max(1, int(max_concurrency)), max_overflow=0, pool_timeout=600)
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except Exception as exc:
        raise UnreachableError(f"cannot use database {redacted(url)}: {exc.__class__.__name__}: "
                               f"{mask_text(str(exc).splitlines()[0] if str(exc) else '')}") from None
    timeout_ms = int(max(0.0, statement_timeout_s) * 1000)

    @event.listens_for(engine, "do_connect")
    def _harden(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        dialect.harden_connect_params(cparams, read_only)

    @event.listens_for(engine, "before_cursor_execute")
    def _one_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if dialect.several_statements(statement):
            raise SyncverifyError(f"refused to send several statements in one call to {engine_name(engine)}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dialect.check_session(dbapi_connection)
        dialect.on_connect(dbapi_connection)
        version = dialect.server_version(dbapi_connection)
        cursor = dbapi_connection.cursor()
        try:
            for statement in dialect.session_statements(read_only, timeout_ms, version):
                cursor.execute(statement)
        finally:
            cursor.close()
        dialect.end_session_setup(dbapi_connection)

    _names[engine] = name or engine.url.render_as_string(hide_password=True)
    return engine


def check_reachable(engine: sa.Engine) -> None:
    """Open (and return) one connection; raise UnreachableError naming the masked URL if refused."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        detail = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        reason = mask_text(detail[0]) if detail else exc.__class__.__name__
        label = engine_name(engine)
        url = engine.url.render_as_string(hide_password=True)
        where = url if label == url else f"{label} ({url})"
        raise UnreachableError(f"cannot connect to {where}: {reason}") from None
