"""PostgreSQL (TBase / TDPG): canonical forms with trim_scale and the ISO text; SHA-256 or hashtextextended."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from syncverify.dialects.base import BUREAU_TIME_ZONE, Canon, ColumnInfo, Dialect, ValueKind
from syncverify.dialects.bulk import RowCache, copy_csv
from syncverify.dialects.types import ColumnType, TypeFamily, integer_bits_for

# A setting's value that SET takes without quotes (a word or a number); any other is quoted.
_PLAIN_SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+(?:\.[0-9]+)?")
# Prepended by hashing_query: the one statement the verifier itself sends ahead of a query.
_NO_SORT = "SET LOCAL enable_sort = off; "


class PostgreSQLDialect(Dialect):
    """PostgreSQL protocol databases (server encoding UTF8 assumed: a text field's length prefix
    counts the server encoding's bytes)."""

    name = "postgresql"

    def int_text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def sha256_hex(self, text_expr: str) -> str:
        return f"encode(sha256(convert_to({text_expr}, 'UTF8')), 'hex')"

    def hex_to_int(self, hex_expr: str) -> str:
        # 15 hex digits = 60 bits: always positive as BIGINT.
        return f"CAST(CAST('x' || {hex_expr} AS BIT(60)) AS BIGINT)"

    # hash_any_extended (Jenkins lookup3) of the text's bytes: about 0.08 s per million rows
    # where sha256() or md5() cost 0.6 s (each call sets up an OpenSSL digest context). PostgreSQL
    # keeps it stable across versions, as hash partitions depend on it. COLLATE "C" makes it
    # hash the bytes: under a nondeterministic (case-insensitive) collation of a column it
    # would hash the sort key, and 'abc' and 'ABC' would hash alike.
    native_hash_name = "postgresql-hashtextextended"

    def native_hash(self, text_expr: str, seed: int) -> str:
        return f'(hashtextextended(({text_expr}) COLLATE "C", {int(seed)}) & 9223372036854775807)'

    def char_length(self, expr: str) -> str:
        return f"char_length({expr})"

    def byte_length(self, expr: str) -> str:
        return f"octet_length({expr})"

    def lock_schema_changes(self, conn: sa.Connection, name: str) -> None:
        # A transaction-level advisory lock: PostgreSQL's DDL is transactional, so the lock and
        # the schema change end together, also when the process dies.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})

    def session_settings(self, read_only: bool, statement_timeout_ms: int,
                         server_version: str = "") -> list[tuple[str, str]]:
        """The session's settings (name, value): sent as SET statements after connecting
        (:meth:`session_statements`) or as ``-c`` options while connecting
        (:meth:`session_connect_args`), the same either way."""
        # Month windows and timestamps with a time zone are read in the bureau's time zone
        # (Asia/Shanghai), whatever the server's default is.
        out = [("client_encoding", "UTF8"), ("TimeZone", BUREAU_TIME_ZONE), ("DateStyle", "ISO, YMD")]
        if read_only:
            out.append(("default_transaction_read_only", "on"))
        if statement_timeout_ms > 0:
            out.append(("statement_timeout", str(int(statement_timeout_ms))))
        # The planner cannot estimate the number of hash buckets and plans GROUP BY bucket for a
        # million groups: serial, sorting on disk. Cheap parallelism and enough sort memory let
        # the hashing run in the parallel workers (3x faster at 1M rows).
        out += [("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0.001"), ("work_mem", "64MB")]
        # JIT compiles each query's expressions; for the OR of hundreds of key ranges of a
        # refining round LLVM took 4.4 s of a 5.4 s query at 10M rows (1.1 s without), and gained
        # about 4 % on the full scans. PostgreSQL < 11 has no JIT (and no setting for it).
        if not server_version.isdigit() or int(server_version) >= 110000:
            out.append(("jit", "off"))
        return out

    def session_statements(self, read_only: bool, statement_timeout_ms: int,
                           server_version: str = "") -> list[str]:
        return [f"SET {name} = {value if _PLAIN_SETTING.fullmatch(value) else self.literal(value)}"
                for name, value in self.session_settings(read_only, statement_timeout_ms, server_version)]

    def session_connect_args(self, read_only: bool, statement_timeout_ms: int,
                             server_version: str = "") -> dict[str, Any]:
        params = super().session_connect_args(read_only, statement_timeout_ms, server_version)
        # libpq splits the options at white space; a backslash keeps a space (or itself) in a value.
        settings = [f"-c {name}={value.replace(chr(92), chr(92) * 2).replace(' ', chr(92) + ' ')}"
                    for name, value in self.session_settings(read_only, statement_timeout_ms, server_version)]
        params["options"] = " ".join([params["options"], *settings])
        return params

    def position(self, haystack: sa.ColumnElement[Any], needle: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        return sa.func.strpos(haystack, needle)

    def hashing_query(self, sql: str) -> str:
        # The planner cannot estimate the number of buckets, assumes one per row and sorts the
        # rows (spilling to disk) to group them; hashing them is 15-25 % faster. SET LOCAL lasts
        # for this query's transaction only.
        return _NO_SORT + sql

    def int_canon(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        if column.is_boolean:
            return f"(CASE WHEN {expr} THEN '1' WHEN NOT {expr} THEN '0' END)"
        return self.int_text(expr)

    # -- session hardening --------------------------------------------------------------------
    sqlglot_dialect = "postgres"

    def harden_connect_params(self, params: dict[str, Any], read_only: bool) -> None:
        # Set in the startup packet, before any statement: read-only transactions from the first
        # query on (a bare COMMIT in a query's text cannot start a writable one: the next
        # transaction is read-only too), and backslashes in '...' are plain characters, as the
        # predicate renderer assumes. (START TRANSACTION READ WRITE would still override the
        # default; several_statements keeps such text from being sent at all.)
        options = ["-c standard_conforming_strings=on"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        given = str(params.get("options") or "").strip()
        params["options"] = " ".join([given, *options] if given else options)

    def several_statements(self, sql: str) -> bool:
        # psycopg2 sends text with the simple query protocol, which runs every ';'-separated
        # statement, so the text is split here as PostgreSQL's lexer would (quotes, dollar quotes,
        # nested comments). Text it cannot read counts as several statements (fail closed).
        body = sql[len(_NO_SORT):] if sql.startswith(_NO_SORT) else sql
        if ";" not in body:
            return False
        try:
            tokens = sqlglot.tokenize(body, read=self.sqlglot_dialect)
        except TokenError:
            return True
        ends = [i for i, t in enumerate(tokens) if t.token_type is TokenType.SEMICOLON]
        return bool(ends) and ends != [len(tokens) - 1]

    def decimal_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        if column.kind is ValueKind.INT:
            return self.int_canon(expr, column, canon)
        if column.fixed_scale is not None:
            return f"CAST({expr} AS TEXT)"
        return f"CAST(trim_scale({expr}) AS TEXT)"

    def to_double(self, expr: str) -> str:
        return f"CAST({expr} AS DOUBLE PRECISION)"

    def log10(self, expr: str) -> str:
        return f"log({expr})"   # log(double precision) is base 10

    def power10(self, exp_expr: str) -> str:
        return f"power(CAST(10 AS DOUBLE PRECISION), {exp_expr})"

    def round_half_even(self, expr: str) -> str:
        return f"round(CAST({expr} AS DOUBLE PRECISION))"   # rint()

    def double_int_text(self, expr: str) -> str:
        return f"CAST(CAST({expr} AS BIGINT) AS TEXT)"

    def _timestamp(self, expr: str, column: ColumnInfo) -> str:
        if column.kind is ValueKind.DATE:
            return f"CAST({expr} AS TIMESTAMP)"
        if column.timezone_aware:
            return f"({expr} AT TIME ZONE 'UTC')"
        return expr

    def timestamp_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        p = canon.timestamp_precision
        ts = self._timestamp(expr, column)
        if p == 0:
            # The ISO text (DateStyle ISO, set per session) cut after the seconds: twice as fast
            # as to_char.
            return f"left(CAST({ts} AS TEXT), 19)"
        return f"left(to_char({ts}, 'YYYY-MM-DD HH24:MI:SS.US'), {20 + p})"

    def date_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"to_char({self._timestamp(expr, column)}, 'YYYY-MM-DD')"

    def time_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"to_char({expr}, 'HH24:MI:SS')"

    def text_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"CAST({expr} AS TEXT)"

    def binary_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        return f"upper(encode({expr}, 'hex'))"

    # -- repair scripts ----------------------------------------------------------------------
    def delete_some(self, table_sql: str, where_sql: str, limit: int) -> str:
        # ctid, the row's physical address, tells identical copies apart; it is stable within the
        # transaction that selects and deletes, which is all the repair needs.
        return (f"DELETE FROM {table_sql} WHERE ctid IN "
                f"(SELECT ctid FROM {table_sql} WHERE {where_sql} LIMIT {int(limit)})")

    # -- the sandbox --------------------------------------------------------------------------------
    def bulk_load(self, dbapi_connection: Any, table_sql: str, columns_sql: str, width: int,
                  rows: Sequence[Sequence[Any]], suffixes: Sequence[Sequence[Any]] | None, cache: RowCache) -> None:
        cursor = dbapi_connection.cursor()
        try:
            copy_csv(cursor, table_sql, columns_sql, rows, suffixes, cache)
        finally:
            cursor.close()

    def reset_database(self, admin: sa.Connection, name: str, database_url: sa.URL) -> None:
        exists = admin.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            admin.execute(sa.text(f"CREATE DATABASE {self.quote(name)} ENCODING 'UTF8' TEMPLATE template0"))
            return
        _end_sessions(admin, name)
        # Re-building: emptying the schema is much faster than DROP / CREATE DATABASE.
        engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as db:
                db.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                db.execute(sa.text("CREATE SCHEMA public"))
        finally:
            engine.dispose()

    def drop_database(self, admin: sa.Connection, name: str) -> None:
        _end_sessions(admin, name)
        admin.execute(sa.text(f"DROP DATABASE IF EXISTS {self.quote(name)}"))

    # -- schema: normalised types and aligning DDL ------------------------------------------------
    default_timestamp_precision = 6     # timestamp / time without (p): microseconds
    default_float_bits = 53             # float without (p) is double precision
    default_charset = "utf-8"           # the server encoding (UTF8 assumed, see the class docstring)

    def sa_dialect(self) -> sa.Dialect:
        return pg_dialect.dialect()

    def type_sql(self, ctype: ColumnType) -> str:
        f = ctype.family
        if f is TypeFamily.TEXT:
            n = ctype.chars_possible()
            return f"VARCHAR({n})" if n is not None and n <= 10485760 else "TEXT"
        if f is TypeFamily.INTEGER:
            bits = integer_bits_for(ctype)
            name = next((n for n, b in (("SMALLINT", 15), ("INTEGER", 31), ("BIGINT", 63)) if b >= bits), None)
            return name or f"NUMERIC({math.ceil(bits / math.log2(10))},0)"
        if f is TypeFamily.DECIMAL:
            if ctype.precision is None:
                return "NUMERIC"
            return f"NUMERIC({min(1000, ctype.precision)},{ctype.scale or 0})"
        if f is TypeFamily.FLOAT:
            return "REAL" if (ctype.precision or 53) <= 24 else "DOUBLE PRECISION"
        if f in (TypeFamily.TIMESTAMP, TypeFamily.TIME):
            word = "TIMESTAMP" if f is TypeFamily.TIMESTAMP else "TIME"
            p = min(6, 6 if ctype.timestamp_precision is None else ctype.timestamp_precision)
            return f"{word}({p})" + (" WITH TIME ZONE" if ctype.timezone else "")
        return {TypeFamily.DATE: "DATE", TypeFamily.BOOLEAN: "BOOLEAN", TypeFamily.BINARY: "BYTEA",
                TypeFamily.JSON: "JSONB"}.get(f, ctype.declared or "TEXT")

    def alter_column(self, table_sql: str, column: str, ctype: ColumnType, nullable: bool, *,
                     retype: bool, renull: bool, family_changed: bool) -> list[str]:
        col, out = self.quote(column), []
        if retype:
            spelled = self.type_sql(ctype)
            using = f" USING {col}::{spelled}" if family_changed else ""
            out.append(f"ALTER TABLE {table_sql} ALTER COLUMN {col} TYPE {spelled}{using}")
        if renull:
            out.append(f"ALTER TABLE {table_sql} ALTER COLUMN {col} {'DROP' if nullable else 'SET'} NOT NULL")
        return out


def _end_sessions(admin: sa.Connection, name: str) -> None:
    """Close the other sessions on database ``name`` (they would block DROP)."""
    admin.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
