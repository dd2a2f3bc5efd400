"""MySQL / MariaDB (TDSQL-MySQL): canonical forms with CONCAT's own conversions and SHA2()."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql as mysql_dialect

from syncverify.dialects.base import BUREAU_UTC_OFFSET, Canon, ColumnInfo, Dialect, ValueKind
from syncverify.dialects.bulk import RowCache, load_data_tsv, multirow_insert
from syncverify.dialects.types import ColumnType, TypeFamily, integer_bits_for, type_args
from syncverify.errors import SyncverifyError

_UTF8_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8", "ascii"})
# CLIENT_MULTI_STATEMENTS of the MySQL protocol (PyMySQL and mysqlclient: CLIENT.MULTI_STATEMENTS).
_MULTI_STATEMENTS = 1 << 16


class MySQLDialect(Dialect):
    """MySQL protocol databases. Text is converted to utf8mb4 before hashing, so the column's
    character set and collation (case- or pad-insensitive) never affect equality."""

    name = "mysql"

    def storage_type(self, type_: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any] | None:
        """DATETIME keeps microseconds and TEXT any length, as PostgreSQL's and SQLite's do
        (MySQL's defaults, DATETIME(0) and 64 KiB TEXT, would be narrower)."""
        from sqlalchemy.dialects import mysql

        if isinstance(type_, sa.DateTime):
            return mysql.DATETIME(fsp=6)
        if isinstance(type_, sa.Text) and type_.length is None:
            return mysql.LONGTEXT()
        return None
    identifier_quote = "`"

    def __init__(self, mariadb: bool = True) -> None:
        self.mariadb = mariadb

    def hashing_query(self, sql: str) -> str:
        # MariaDB merges derived tables into the outer query and then evaluates the row's hash
        # once per slice; materialising the derived table is cheaper.
        if self.mariadb:
            return "SET STATEMENT optimizer_switch='derived_merge=off' FOR " + sql
        return sql

    def key_range(self, columns: Sequence[str], lower: Sequence[str] | None, upper: Sequence[str] | None) -> str:
        # The range optimizer turns comparisons of single columns joined by AND / OR into index
        # ranges; row-value comparisons (a, b) >= (x, y) it may read as a full scan.
        def bound(names: Sequence[str], strict: str, last: str) -> str:
            terms = []
            for i, col in enumerate(columns):
                eq = [f"{columns[j]} = :{names[j]}" for j in range(i)]
                op = last if i == len(columns) - 1 else strict
                terms.append("(" + " AND ".join([*eq, f"{col} {op} :{names[i]}"]) + ")")
            return "(" + " OR ".join(terms) + ")"

        parts = ([bound(lower, ">", ">=")] if lower is not None else []) + \
                ([bound(upper, "<", "<")] if upper is not None else [])
        return "(" + " AND ".join(parts) + ")" if parts else "1 = 1"

    def in_ranges(self, column: str, ranges: Sequence[tuple[int, int]]) -> str:
        # MariaDB reads the ranges through the index but then re-evaluates the whole WHERE on
        # every row: a flat OR of 443 ranges made a refining round over 1.2M of 10M rows take
        # 9.7 s. Split in halves (each arm still gives the range optimizer exact ranges), a row
        # passes through about log2(n) comparisons: 3.8 s.
        if len(ranges) <= 4:
            return super().in_ranges(column, ranges)
        mid = len(ranges) // 2
        split = int(ranges[mid][0])
        return (f"(({column} < {split} AND {self.in_ranges(column, ranges[:mid])}) OR "
                f"({column} >= {split} AND {self.in_ranges(column, ranges[mid:])}))")

    # -- session hardening --------------------------------------------------------------------
    sqlglot_dialect = "mysql"

    def harden_connect_params(self, params: dict[str, Any], read_only: bool) -> None:
        # Without CLIENT_MULTI_STATEMENTS the server refuses 'SELECT 1; DELETE ...' in one call
        # (syntax error), so no text inside a query can run a second statement. PyMySQL leaves the
        # flag off by default; a URL's ?client_flag= could turn it on, so it is cleared here.
        params["client_flag"] = int(params.get("client_flag") or 0) & ~_MULTI_STATEMENTS

    def check_session(self, dbapi_connection: Any) -> None:
        if int(getattr(dbapi_connection, "client_flag", 0) or 0) & _MULTI_STATEMENTS:
            raise SyncverifyError("refusing a MySQL session that allows several statements per call "
                                  "(CLIENT_MULTI_STATEMENTS is set)")

    def concat(self, parts: list[str]) -> str:
        return "CONCAT(" + ", ".join(parts) + ")"

    def byte_length(self, expr: str) -> str:
        return f"LENGTH({expr})"

    def int_text(self, expr: str) -> str:
        return f"CAST({expr} AS CHAR)"

    def int64(self, expr: str) -> str:
        return f"CAST({expr} AS SIGNED)"

    def sha256_hex(self, text_expr: str) -> str:
        # SHA2 costs a quarter of MD5 per call on MariaDB 10.11 (0.09 against 0.41 s per
        # million short texts).
        return f"SHA2({text_expr}, 256)"

    def hex_to_int(self, hex_expr: str) -> str:
        return f"CAST(CONV({hex_expr}, 16, 10) AS UNSIGNED)"

    def lock_schema_changes(self, conn: sa.Connection, name: str) -> None:
        # DDL commits by itself on MySQL/MariaDB, so a transaction cannot hold the lock: a named
        # session lock, released by unlock_schema_changes (or when the session ends).
        got = conn.execute(sa.text("SELECT GET_LOCK(:name, 600)"), {"name": name[:64]}).scalar()
        if got != 1:
            raise SyncverifyError(f"could not take the lock {name!r} in 600 s (another process changing the schema?)")

    def unlock_schema_changes(self, conn: sa.Connection, name: str) -> None:
        conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name[:64]})

    def session_settings(self, read_only: bool, statement_timeout_ms: int,
                         server_version: str = "") -> list[str]:
        """The session's settings as the assignments of a SET: one SET each after connecting
        (:meth:`session_statements`), or all in the one SET of the driver's ``init_command``
        while connecting (:meth:`session_connect_args`), the same either way."""
        out = ["NAMES utf8mb4", f"time_zone = '{BUREAU_UTC_OFFSET}'"]   # TIMESTAMP columns in local time
        mariadb = "mariadb" in server_version.lower() or not server_version
        if read_only:
            # The session's transactions are read only (SET SESSION TRANSACTION READ ONLY), spelled
            # as a variable so that it can share one SET: MariaDB < 11.1 knows only tx_read_only.
            out.append(f"SESSION {'tx_read_only' if mariadb else 'transaction_read_only'} = 1")
        if statement_timeout_ms > 0:
            if mariadb:
                out.append(f"SESSION max_statement_time = {statement_timeout_ms / 1000:.3f}")
            else:  # MySQL proper: milliseconds, SELECT statements only
                out.append(f"SESSION max_execution_time = {int(statement_timeout_ms)}")
        return out

    def session_statements(self, read_only: bool, statement_timeout_ms: int,
                           server_version: str = "") -> list[str]:
        return [f"SET {a}" for a in self.session_settings(read_only, statement_timeout_ms, server_version)]

    def session_connect_args(self, read_only: bool, statement_timeout_ms: int,
                             server_version: str = "") -> dict[str, Any]:
        params = super().session_connect_args(read_only, statement_timeout_ms, server_version)
        # One statement: the sessions never accept several per call (see harden_connect_params).
        params["init_command"] = "SET " + ", ".join(
            self.session_settings(read_only, statement_timeout_ms, server_version))
        return params

    def case_sensitive(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # MySQL/MariaDB compare and match REGEXP case-insensitively under the default collations;
        # a binary string makes 'a' differ from 'A'.
        return sa.func.binary(expr)

    def concat_value(self, expr: str, kind: ValueKind, column: ColumnInfo, canon: Canon) -> str:
        # CONCAT converts numbers and DECIMALs to the same text as CAST(... AS CHAR),
        # several times more cheaply; text already in UTF-8 needs no CONVERT.
        if kind is ValueKind.INT and column.kind is ValueKind.INT and not column.is_boolean:
            return expr
        if kind is ValueKind.DECIMAL and column.fixed_scale is not None:
            return expr
        if kind is ValueKind.TEXT and self._utf8(column):
            return expr
        return self.normalize(expr, kind, column, canon)

    def concat_number(self, expr: str) -> str:
        return expr

    @staticmethod
    def _utf8(column: ColumnInfo) -> bool:
        """Text stored as UTF-8 already (utf8mb3 is a subset of utf8mb4: same bytes)."""
        return column.kind is ValueKind.TEXT and (column.charset or "").lower() in _UTF8_CHARSETS

    def decimal_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        if column.is_boolean:
            return self.int_canon(expr, column, canon)
        text = f"CAST({expr} AS CHAR)"
        if column.fixed_scale is not None:
            return text
        trimmed = f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {text}))"
        if column.kind is ValueKind.INT:
            return text
        if column.scale is not None and column.scale > 0:
            return trimmed
        if column.scale == 0:
            return text
        return f"(CASE WHEN INSTR({text}, '.') > 0 THEN {trimmed} ELSE {text} END)"

    def to_double(self, expr: str) -> str:
        return f"({expr} + 0E0)"

    def double_int_text(self, expr: str) -> str:
        return f"CAST(CAST({expr} AS SIGNED) AS CHAR)"

    def timestamp_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        p = canon.timestamp_precision
        if p == 0 and column.kind is ValueKind.TIMESTAMP:
            # The first 19 characters of the DATETIME's own text (LEFT converts it) are the form:
            # several times cheaper than DATE_FORMAT or an explicit CAST.
            return f"LEFT({expr}, 19)"
        if p == 0:
            return f"DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s')"
        return f"LEFT(DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s.%f'), {20 + p})"

    def date_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"DATE_FORMAT({expr}, '%Y-%m-%d')"

    def time_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"TIME_FORMAT({expr}, '%H:%i:%s')"

    def text_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"CONVERT({expr} USING utf8mb4)"

    def int_div(self, expr: str, divisor: int) -> str:
        return f"({expr} DIV {int(divisor)})"

    def binary_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"HEX({expr})"

    # -- repair scripts ----------------------------------------------------------------------
    def begin_transaction(self) -> str:
        return "START TRANSACTION"

    def delete_some(self, table_sql: str, where_sql: str, limit: int) -> str:
        # MySQL and MariaDB take a LIMIT on a single-table DELETE (no row identity to select by).
        return f"DELETE FROM {table_sql} WHERE {where_sql} LIMIT {int(limit)}"

    # -- the sandbox --------------------------------------------------------------------------------
    def bulk_load(self, dbapi_connection: Any, table_sql: str, columns_sql: str, width: int,
                  rows: Sequence[Sequence[Any]], suffixes: Sequence[Sequence[Any]] | None, cache: RowCache) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if getattr(dbapi_connection, "_local_infile", False):   # allowed by loading_url's engines
                load_data_tsv(cursor, table_sql, columns_sql, rows, suffixes, cache)
            else:
                multirow_insert(cursor, table_sql, columns_sql, width, rows, suffixes)
        finally:
            cursor.close()

    def loading_url(self, url: sa.URL) -> sa.URL:
        # LOAD DATA LOCAL for bulk loads (the server must allow it; else multi-row INSERTs).
        return url.update_query_dict({"local_infile": "1"}) if url.get_driver_name() == "pymysql" else url

    def reset_database(self, admin: sa.Connection, name: str, database_url: sa.URL) -> None:
        self.drop_database(admin, name)
        admin.execute(sa.text(f"CREATE DATABASE {self.quote(name)} CHARACTER SET utf8mb4"))

    def drop_database(self, admin: sa.Connection, name: str) -> None:
        admin.execute(sa.text(f"DROP DATABASE IF EXISTS {self.quote(name)}"))

    # -- schema: normalised types and aligning DDL ------------------------------------------------
    default_timestamp_precision = 0     # DATETIME / TIMESTAMP / TIME without (fsp): whole seconds
    default_float_bits = 24             # FLOAT is single precision, DOUBLE double

    def sa_dialect(self) -> sa.Dialect:
        return mysql_dialect.dialect()

    def describe_type(self, sa_type: Any, charset: str | None = None) -> ColumnType:
        name = type(sa_type).__name__.upper()
        if name == "TINYINT" and getattr(sa_type, "display_width", None) == 1:
            return ColumnType(TypeFamily.BOOLEAN, declared=self.declared(sa_type))
        if name in _SIZED_TEXT:
            return _sized(super().describe_type(sa_type, charset), name)
        return super().describe_type(sa_type, charset)

    def describe_ddl_type(self, dtype: Any, charset: str | None = None) -> ColumnType:
        kind = str(dtype.this.name).upper()
        if kind == "TINYINT" and type_args(dtype) == ["1"]:
            return ColumnType(TypeFamily.BOOLEAN, declared=dtype.sql(dialect="mysql"))
        described = super().describe_ddl_type(dtype, charset)
        return _sized(described, kind) if kind in _SIZED_TEXT else described

    def table_charset(self, inspector: sa.Inspector, table: str, schema: str | None) -> str | None:
        try:
            options = inspector.get_table_options(table, schema=schema)
        except (NotImplementedError, sa.exc.SQLAlchemyError):
            return None
        value = options.get("mysql_default charset") or options.get("mariadb_default charset")
        return str(value) if value else None

    def type_sql(self, ctype: ColumnType) -> str:
        f = ctype.family
        if f is TypeFamily.TEXT:
            n = ctype.chars_possible()
            base = f"VARCHAR({n})" if n is not None and n <= 16383 else "LONGTEXT"
            charset = _MYSQL_CHARSET.get((ctype.charset or "").lower(), (ctype.charset or "").lower())
            return f"{base} CHARACTER SET {charset}" if charset in _KNOWN_MYSQL_CHARSETS else base
        if f is TypeFamily.INTEGER or (f is TypeFamily.DECIMAL and ctype.scale == 0 and ctype.precision
                                       and ctype.precision <= 18):
            bits = integer_bits_for(ctype)
            if ctype.unsigned:
                name = next((n for n, b in _INTS if b + 1 >= bits), None)
                return f"{name} UNSIGNED" if name else "DECIMAL(20,0)"
            name = next((n for n, b in _INTS if b >= bits), None)
            return name or f"DECIMAL({min(65, math.ceil(bits / math.log2(10)))},0)"
        if f is TypeFamily.DECIMAL:
            if ctype.precision is None:
                return "DECIMAL(65,30)"
            return f"DECIMAL({min(65, ctype.precision)},{min(30, ctype.scale or 0)})"
        if f is TypeFamily.FLOAT:
            return "FLOAT" if (ctype.precision or 53) <= 24 else "DOUBLE"
        if f in (TypeFamily.TIMESTAMP, TypeFamily.TIME):
            word = "DATETIME" if f is TypeFamily.TIMESTAMP else "TIME"
            p = min(6, ctype.timestamp_precision or 0)
            return f"{word}({p})" if p else word
        if f is TypeFamily.BINARY:
            n = ctype.length
            return f"VARBINARY({n})" if n is not None and n <= 65532 else "LONGBLOB"
        return {TypeFamily.DATE: "DATE", TypeFamily.BOOLEAN: "BOOLEAN",
                TypeFamily.JSON: "JSON"}.get(f, ctype.declared or "LONGTEXT")

    def alter_column(self, table_sql: str, column: str, ctype: ColumnType, nullable: bool, *,
                     retype: bool, renull: bool, family_changed: bool) -> list[str]:
        # MODIFY restates the whole column: type and nullability in one statement (a DEFAULT or
        # COMMENT of the column must be restated by hand: review before applying).
        null = "NULL" if nullable else "NOT NULL"
        return [f"ALTER TABLE {table_sql} MODIFY COLUMN {self.quote(column)} {self.type_sql(ctype)} {null}"]


# MySQL text and blob types whose size the type name fixes: (bytes, unit).
_SIZED_TEXT = {"TINYTEXT": 255, "TEXT": 65535, "MEDIUMTEXT": 16777215, "LONGTEXT": None,
               "TINYBLOB": 255, "BLOB": 65535, "MEDIUMBLOB": 16777215, "LONGBLOB": None}
_INTS = (("TINYINT", 7), ("SMALLINT", 15), ("MEDIUMINT", 23), ("INT", 31), ("BIGINT", 63))
_MYSQL_CHARSET = {"al32utf8": "utf8mb4", "utf-8": "utf8mb4", "zhs16gbk": "gbk", "we8iso8859p1": "latin1",
                  "us7ascii": "ascii", "al16utf16": "utf8mb4"}
_KNOWN_MYSQL_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8", "latin1", "ascii", "gbk", "gb2312", "gb18030",
                                   "big5", "binary"})


def _sized(ctype: ColumnType, name: str) -> ColumnType:
    size = _SIZED_TEXT[name]
    return replace(ctype, length=size, length_unit="byte" if size is not None else "char")
