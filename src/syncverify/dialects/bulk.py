"""Fast loading of many rows through a driver's own bulk paths (the sandbox writes its worlds so).

Each dialect picks its path (:meth:`syncverify.dialects.Dialect.bulk_load`): ``COPY ... FROM
STDIN`` with CSV for PostgreSQL, ``LOAD DATA LOCAL INFILE`` with a TSV file (or pymysql's
multi-row INSERT rewrite of ``executemany``) for MySQL / MariaDB, ``executemany`` for SQLite. Rows
are converted to each path's text once: :class:`RowCache` keeps the conversion by row identity.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_CHUNK = 5_000           # rows per multi-row INSERT
_COPY_CHUNK = 50_000     # rows per COPY / executemany call


def plain_value(v: Any) -> Any:
    """A value as a driver without date and decimal types stores it (SQLite)."""
    if isinstance(v, datetime | date | Decimal):
        return str(v)            # '2026-10-09 09:41:07', '2026-10-09', '1432.31'
    return v


def csv_field(v: Any) -> str:
    # NULL is an unquoted empty field; every text is quoted, so '' stays an empty string.
    if v is None:
        return ""
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    return str(v)


def tsv_field(v: Any) -> str:
    # LOAD DATA's default escapes: \N is NULL, an empty field is ''.
    if v is None:
        return "\\N"
    if isinstance(v, str):
        return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(v)


class RowCache:
    """Converted rows by identity: the copies of one build share their row tuples (a row that
    crosses ten hops unchanged is one object), so each is converted for the driver once."""

    def __init__(self) -> None:
        self.plain: dict[int, tuple[Any, ...]] = {}
        self.csv: dict[int, str] = {}
        self.tsv: dict[int, str] = {}
        self._keep: list[Any] = []   # ids stay valid only while the rows are alive

    def for_plain(self, row: Sequence[Any]) -> tuple[Any, ...]:
        found = self.plain.get(id(row))
        if found is None:
            found = self.plain[id(row)] = tuple(plain_value(v) for v in row)
            self._keep.append(row)
        return found

    def for_tsv(self, row: Sequence[Any]) -> str:
        found = self.tsv.get(id(row))
        if found is None:
            found = self.tsv[id(row)] = "\t".join(tsv_field(v) for v in row)
            self._keep.append(row)
        return found

    def for_csv(self, row: Sequence[Any]) -> str:
        found = self.csv.get(id(row))
        if found is None:
            found = self.csv[id(row)] = ",".join(csv_field(v) for v in row)
            self._keep.append(row)
        return found


Suffixes = Sequence[Sequence[Any]] | None


def copy_csv(cursor: Any, table_sql: str, columns_sql: str, rows: Sequence[Sequence[Any]],
             suffixes: Suffixes, cache: RowCache) -> None:
    """PostgreSQL (psycopg2): ``COPY ... FROM STDIN`` in CSV."""
    # A generated world: no need to wait for each commit's WAL flush.
    cursor.execute("SET LOCAL synchronous_commit = off")
    for i in range(0, len(rows), _COPY_CHUNK):
        part = rows[i:i + _COPY_CHUNK]
        if suffixes is None:
            lines = [cache.for_csv(r) + "\n" for r in part]
        else:
            lines = [cache.for_csv(r) + "," + ",".join(csv_field(v) for v in sfx) + "\n"
                     for r, sfx in zip(part, suffixes[i:i + _COPY_CHUNK], strict=True)]
        cursor.copy_expert(f"COPY {table_sql} ({columns_sql}) FROM STDIN WITH (FORMAT csv)", io.StringIO("".join(lines)))


def executemany_plain(cursor: Any, table_sql: str, columns_sql: str, width: int, rows: Sequence[Sequence[Any]],
                      suffixes: Suffixes, cache: RowCache) -> None:
    """SQLite: ``executemany`` with '?' parameters and plain values."""
    sql = f"INSERT INTO {table_sql} ({columns_sql}) VALUES ({', '.join('?' * width)})"
    for i in range(0, len(rows), _COPY_CHUNK):
        part = rows[i:i + _COPY_CHUNK]
        if suffixes is None:
            cursor.executemany(sql, [cache.for_plain(r) for r in part])
        else:
            cursor.executemany(sql, [cache.for_plain(r) + tuple(plain_value(v) for v in sfx)
                                     for r, sfx in zip(part, suffixes[i:i + _COPY_CHUNK], strict=True)])


def load_data_tsv(cursor: Any, table_sql: str, columns_sql: str, rows: Sequence[Sequence[Any]],
                  suffixes: Suffixes, cache: RowCache) -> None:
    """MySQL / MariaDB with LOAD DATA LOCAL allowed: a TSV file."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".tsv", delete=False) as fh:
        if suffixes is None:
            fh.writelines(cache.for_tsv(r) + "\n" for r in rows)
        else:
            fh.writelines(cache.for_tsv(r) + "\t" + "\t".join(tsv_field(v) for v in sfx) + "\n"
                          for r, sfx in zip(rows, suffixes, strict=True))
    try:
        cursor.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {table_sql} CHARACTER SET utf8mb4 "
                       f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns_sql})",
                       (fh.name,))
    finally:
        os.unlink(fh.name)


def multirow_insert(cursor: Any, table_sql: str, columns_sql: str, width: int, rows: Sequence[Sequence[Any]],
                    suffixes: Suffixes) -> None:
    """pymysql turns ``executemany`` of INSERT ... VALUES into multi-row INSERT statements."""
    sql = f"INSERT INTO {table_sql} ({columns_sql}) VALUES ({', '.join(['%s'] * width)})"
    full = list(rows) if suffixes is None else [tuple(r) + tuple(s) for r, s in zip(rows, suffixes, strict=True)]
    for i in range(0, len(full), _CHUNK):
        cursor.executemany(sql, full[i:i + _CHUNK])
