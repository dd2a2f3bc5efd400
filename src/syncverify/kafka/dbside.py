"""The database side of a Kafka hop: the rows of a window, counted or streamed by key.

The caller passes an SQLAlchemy engine (in a run: :func:`syncverify.connect.engine.make_engine`
with read-only sessions and a statement timeout). Only ``SELECT COUNT(*)`` and a key-only
``SELECT`` streamed through a server-side cursor are issued; identifiers are quoted by the
engine's dialect; the optional ``where`` is SQL the catalog compiled from a routing predicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syncverify.errors import SchemaError, UnreachableError
from syncverify.masking import mask_text, mask_url


@dataclass(frozen=True)
class DbSide:
    """A table (with its key columns and window column) on one database."""

    engine: sa.Engine
    table: str
    key_columns: tuple[str, ...] = ()
    window_column: str | None = None
    where: str | None = None
    schema: str | None = None

    def describe(self) -> str:
        name = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"{mask_url(self.engine.url.render_as_string(hide_password=False))} table {name}"

    def _from_where(self, window: tuple[datetime, datetime] | None) -> tuple[str, dict[str, Any]]:
        quote = self.engine.dialect.identifier_preparer.quote
        table = quote(self.table) if not self.schema else f"{quote(self.schema)}.{quote(self.table)}"
        clauses, params = [], {}
        if window is not None and self.window_column:
            col = quote(self.window_column)
            clauses.append(f"{col} >= :w_start AND {col} < :w_end")
            params = {"w_start": window[0], "w_end": window[1]}
        if self.where:
            clauses.append(f"({self.where})")
        sql = f" FROM {table}" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        return sql, params

    def count(self, window: tuple[datetime, datetime] | None) -> int:
        """Rows in the window (and ``where``)."""
        sql, params = self._from_where(window)
        with _db_errors(self), self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*)" + sql), params).scalar_one())

    def stream_keys(self, window: tuple[datetime, datetime] | None, batch: int = 10_000) -> Iterator[Sequence[Any]]:
        """The key columns of every row in the window, streamed (server-side cursor)."""
        if not self.key_columns:
            raise SchemaError(f"no key columns given for {self.describe()}")
        quote = self.engine.dialect.identifier_preparer.quote
        sql, params = self._from_where(window)
        columns = ", ".join(quote(c) for c in self.key_columns)
        with _db_errors(self), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                sa.text(f"SELECT {columns}" + sql), params)
            for partition in result.partitions(batch):
                yield from partition


@contextmanager
def _db_errors(side: DbSide) -> Iterator[None]:
    """Turn driver errors into errors that name the database and table, password masked."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        message = mask_text(f"{side.describe()}: {detail}")
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not _looks_like_schema(detail):
            raise UnreachableError(message) from None
        raise SchemaError(message) from None


def _looks_like_schema(detail: str) -> bool:
    lowered = detail.lower()
    return any(w in lowered for w in ("doesn't exist", "does not exist", "no such", "unknown column"))
