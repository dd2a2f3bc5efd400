"""Database dialects: one module per database, one interface (:class:`Dialect`).

Look a dialect up by engine, URL or backend name; the comparison engine never asks which one it
got.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from syncverify.dialects.base import Canon, ColumnInfo, Dialect, ValueKind, joint_kind, kind_of_type
from syncverify.dialects.mysql import MySQLDialect
from syncverify.dialects.oracle import OracleDialect
from syncverify.dialects.postgresql import PostgreSQLDialect
from syncverify.dialects.sqlite import SQLiteDialect
from syncverify.dialects.types import ColumnType, TypeFamily
from syncverify.errors import SyncverifyError

__all__ = ["Canon", "ColumnInfo", "ColumnType", "Dialect", "MySQLDialect", "OracleDialect", "PostgreSQLDialect",
           "SQLiteDialect", "TypeFamily", "ValueKind", "absolute_file_url", "airflow_url", "alike_everywhere",
           "for_engine", "for_kind", "for_name", "for_sa_dialect", "for_url", "joint_kind",
           "kind_of_type"]

_BY_NAME: dict[str, type[Dialect]] = {
    "mysql": MySQLDialect,
    "mariadb": MySQLDialect,
    "postgresql": PostgreSQLDialect,
    "postgres": PostgreSQLDialect,
    "sqlite": SQLiteDialect,
}


def for_name(name: str) -> Dialect:
    """The dialect of a backend name (``mysql``, ``mariadb``, ``postgresql``, ``sqlite``)."""
    try:
        return _BY_NAME[name.lower()]()
    except KeyError:
        raise SyncverifyError(
            f"unsupported database {name!r}: syncverify compares MySQL/MariaDB, PostgreSQL and SQLite"
        ) from None


def for_url(url: str | sa.URL) -> Dialect:
    """The dialect of a SQLAlchemy URL such as ``postgresql+psycopg2://...``."""
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except Exception as exc:
        raise SyncverifyError(f"not a database URL: {exc.__class__.__name__}") from None
    return for_name(backend)


def for_engine(engine: sa.Engine | sa.Connection) -> Dialect:
    """The dialect of an engine or connection (after its first connection, MySQL-protocol
    engines know whether the server is MariaDB)."""
    return for_sa_dialect(engine.dialect)


def for_sa_dialect(dialect: sa.Dialect) -> Dialect:
    """The dialect of a SQLAlchemy dialect (an engine's ``.dialect``)."""
    if dialect.name in ("mysql", "mariadb"):
        return MySQLDialect(mariadb=bool(getattr(dialect, "is_mariadb", True)))
    return for_name(dialect.name)


# Airflow connection types and the SQLAlchemy scheme (driver) syncverify opens them with.
_AIRFLOW_SCHEMES = {"mysql": "mysql+pymysql", "postgres": "postgresql+psycopg2",
                    "postgresql": "postgresql+psycopg2", "sqlite": "sqlite", "oracle": "oracle+oracledb"}


def airflow_url(conn_type: str, *, host: str | None, login: str | None = None, password: str | None = None,
                port: int | None = None, schema: str | None = None) -> str | None:
    """The SQLAlchemy URL of an Airflow connection's fields; None for a type syncverify does not
    open (an Airflow SQLite connection keeps the file's path in ``host``)."""
    scheme = _AIRFLOW_SCHEMES.get(conn_type)
    if scheme is None:
        return None
    if scheme == "sqlite":
        return f"sqlite:///{host}"
    url = sa.engine.URL.create(scheme, username=login, password=password, host=host, port=port, database=schema)
    return url.render_as_string(hide_password=False)


def absolute_file_url(url: str) -> str:
    """``url`` with a file database's relative path made absolute (relative to the working
    directory, as the database would read it); any other URL unchanged."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    return url


def alike_everywhere(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """``type_`` with a variant for each server whose default for it holds less (see
    :meth:`Dialect.storage_type`): for creating copies of a table that are alike on every server."""
    out = type_
    for name, cls in _BY_NAME.items():
        stored = cls().storage_type(type_)
        if stored is not None:
            out = out.with_variant(stored, name)
    return out


def for_kind(kind: str) -> Dialect:
    """The dialect of a catalog node kind, Oracle included: Oracle types are read from DDL files
    (the schema check, the release gate), never compared row by row."""
    if kind.lower() == "oracle":
        return OracleDialect()
    return for_name(kind)
