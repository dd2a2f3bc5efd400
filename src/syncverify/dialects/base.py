"""The dialect interface: how one database spells the canonical text, hashes and buckets of a row.

The comparison engine builds every query from these methods and never branches on the database
name. Equal rows must produce byte-identical canonical text on every dialect, hence the same
row hash, the same hash slices and the same bucket. The canonical forms (docs/compare.md, "Canonical
forms and equality"):

========== ==================================================================================
kind       canonical text of a non-NULL value
========== ==================================================================================
INT        the decimal integer: ``-42``, ``100``; booleans are ``1`` / ``0``
DECIMAL    the exact value, trailing fractional zeros and a trailing point removed, never an
           exponent: ``100.5`` for 100.50, ``-0.5``, ``123456789012345678901234567890``;
           when both copies declare the same scale S, exactly S fractional digits instead
           (``100.50`` in DECIMAL(18,2) on both sides: the databases' own text, no trimming)
FLOAT      rounded to N significant digits (default 12): the N digits, ``e`` and the power of
           ten of the first digit: ``123450000000e2`` is 123.45 (0 is ``0``)
TIMESTAMP  ``YYYY-MM-DD HH:MM:SS`` plus ``.`` and the first P fractional digits when P > 0
           (truncated, not rounded); time-zone-aware columns in UTC; dates get ``00:00:00``
DATE       ``YYYY-MM-DD``
TIME       ``HH:MM:SS``
TEXT       the value exactly (case, trailing spaces, any Unicode) as UTF-8
BINARY     upper-case hexadecimal of the bytes
========== ==================================================================================

A row's canonical text concatenates one field per column: NULL is ``~``; a TEXT or BINARY value
is ``<UTF-8 byte count>:<value>``; any other value is ``<value>,``. The encoding is
self-delimiting, so NULL, ``''`` and ``0`` stay distinct in every position and no choice of
separator characters inside text can make two different rows collide.

Hashes: ``sha256(UTF-8 bytes of the canonical text)``; 60-bit slices of it (hex digits 1-15,
and 16-30 for a second slice) become integers that are summed per bucket together with a row
count (sums of wide slices: duplicates do not cancel as with XOR, and two different sets of rows
give the same count and sum with probability about 2**-60, where CRC32 collides after some
10**5 rows).
Buckets come from the key alone, so a changed row stays in its bucket: ``sha256(key canonical
text)``'s first slice modulo M (a finer modulus that is a multiple of a coarser one splits each
coarse bucket), or for one integer key column its offset from the smallest key divided by a
bucket width (see ``syncverify.compare.buckets``).

A native row hash replaces SHA-256 where both sides can compute the same one: a dialect may
name a 64-bit hash of text's bytes its database computes far more cheaply
(:attr:`Dialect.native_hash_name`, :meth:`Dialect.native_hash`: PostgreSQL's
``hashtextextended``). Two sides whose dialects name the same function, and whose databases
return the same values for the probe texts, hash rows and keys with it (63 bits, seeds 0 and 1
for the two slices); any other pair uses SHA-256. The canonical text is the same either way.
(SHA-256 rather than MD5: the cost of either is mostly a fixed setup per call, and MariaDB's
SHA2 is four times cheaper than its MD5.)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from syncverify.calendar import BUREAU_TZ
from syncverify.dialects.bulk import RowCache
from syncverify.dialects.types import ColumnType, describe_sa, describe_sqlglot
from syncverify.errors import IdentifierError


def _utc_offset_text(zone: tzinfo) -> str:
    """``+08:00`` for a zone without daylight saving time."""
    offset = zone.utcoffset(datetime(2000, 1, 1)) or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


NULL_FIELD = "~"
INT_HASH_PRIME = 2147483647
INT_HASH_MULTIPLIER = 48271
# The bureau's time zone (syncverify.calendar): sessions read TIMESTAMP WITH TIME ZONE
# (PostgreSQL) and TIMESTAMP (MySQL) values, and compare month windows, in it. MySQL sessions
# take it as a fixed offset (the server's zone tables may be empty): China has no daylight
# saving time, so the offset of any moment is the offset of every moment.
BUREAU_TIME_ZONE = BUREAU_TZ.key
BUREAU_UTC_OFFSET = _utc_offset_text(BUREAU_TZ)
_E = "'e'"                      # SQL literal between mantissa and exponent of a float
SLICE_HEX_DIGITS = 15           # 60 bits: positive in a signed BIGINT on every dialect
HASH_SLICES = ((1, SLICE_HEX_DIGITS), (1 + SLICE_HEX_DIGITS, SLICE_HEX_DIGITS))

# Anything a quoted identifier could be escaped out of, plus control characters.
_BAD_IDENTIFIER = re.compile(r"[`\"'\\;\x00-\x1f\x7f\[\]]")


class ValueKind(StrEnum):
    """How a column's values are compared (see the table in the module docstring)."""

    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"
    TIME = "time"
    TEXT = "text"
    BINARY = "binary"

    @property
    def length_prefixed(self) -> bool:
        return self in (ValueKind.TEXT, ValueKind.BINARY)


def kind_of_type(sa_type: Any) -> ValueKind:
    """Value kind of a reflected SQLAlchemy column type."""
    if isinstance(sa_type, sa.Boolean | sa.Integer):
        return ValueKind.INT
    if isinstance(sa_type, sa.Float):        # before Numeric: Float subclasses it
        return ValueKind.FLOAT
    if isinstance(sa_type, sa.Numeric):
        if type(sa_type).__name__.upper() in {"REAL", "DOUBLE", "DOUBLE_PRECISION", "FLOAT"}:
            return ValueKind.FLOAT
        return ValueKind.DECIMAL
    if isinstance(sa_type, sa.DateTime):
        return ValueKind.TIMESTAMP
    if isinstance(sa_type, sa.Date):
        return ValueKind.DATE
    if isinstance(sa_type, sa.Time):
        return ValueKind.TIME
    if isinstance(sa_type, sa.LargeBinary | sa.types._Binary):
        return ValueKind.BINARY
    return ValueKind.TEXT


# Kinds whose canonical text of a non-NULL value is never NULL (no marker needed when NOT NULL).
_NEVER_NULL = frozenset({ValueKind.INT, ValueKind.DECIMAL, ValueKind.TEXT})

_NUMERIC_ORDER = (ValueKind.INT, ValueKind.DECIMAL, ValueKind.FLOAT)


def joint_kind(a: ValueKind, b: ValueKind) -> ValueKind:
    """The kind both sides use when a column's declared types differ between the copies.

    Integers and decimals compare as exact numbers, any float makes both sides floats, a date
    against a timestamp compares as timestamps; any other mix compares as text.
    """
    if a == b:
        return a
    if a in _NUMERIC_ORDER and b in _NUMERIC_ORDER:
        return max(a, b, key=_NUMERIC_ORDER.index)
    if {a, b} == {ValueKind.DATE, ValueKind.TIMESTAMP}:
        return ValueKind.TIMESTAMP
    return ValueKind.TEXT


@dataclass(frozen=True)
class ColumnInfo:
    """A reflected column of one side: its real name, SQLAlchemy type and value kind."""

    name: str
    sa_type: Any
    kind: ValueKind
    nullable: bool = True
    charset: str | None = None        # MySQL: the column's character set, when known
    fixed_scale: int | None = None    # DECIMAL declared with this scale on both sides

    @property
    def is_boolean(self) -> bool:
        return isinstance(self.sa_type, sa.Boolean)

    @property
    def timezone_aware(self) -> bool:
        return bool(getattr(self.sa_type, "timezone", False))

    @property
    def scale(self) -> int | None:
        return getattr(self.sa_type, "scale", None)


@dataclass(frozen=True)
class Canon:
    """Options of the canonical form shared by both sides of a comparison."""

    float_digits: int = 12
    timestamp_precision: int = 0     # fractional second digits kept (0-6)

    def __post_init__(self) -> None:
        if not 1 <= self.float_digits <= 15:
            raise ValueError("float_digits must be between 1 and 15")
        if not 0 <= self.timestamp_precision <= 6:
            raise ValueError("timestamp_precision must be between 0 and 6")


class Dialect:
    """One database's spelling of the canonical forms, hashes and session settings.

    Subclasses implement the ``*_text`` value methods, :meth:`sha256_hex`, :meth:`hex_to_int`,
    :meth:`char_length` and :meth:`concat`; everything built from them (fields, row text, slices,
    buckets) is shared so that all dialects assemble rows the same way.
    """

    name = "base"
    identifier_quote = '"'

    # -- creating copies (the sandbox) ---------------------------------------------------------
    def storage_type(self, type_: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any] | None:
        """The type this server should create for a column of ``type_`` so that it holds the same
        values as the other servers' default for it (None: the default does). The sandbox's copies
        of a table must be alike on every server, or the schema check rightly reports them."""
        return None

    # -- identifiers -----------------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        """Quote a table, schema or column name. Names are quoted everywhere, never executed;
        a name with quote characters, backslashes, ';' or control characters is refused."""
        if not isinstance(identifier, str) or not identifier or len(identifier) > 128:
            raise IdentifierError(f"identifier {identifier!r} is empty or too long")
        if _BAD_IDENTIFIER.search(identifier):
            raise IdentifierError(f"identifier {identifier!r} contains characters that cannot be quoted safely")
        q = self.identifier_quote
        return f"{q}{identifier}{q}"

    def table_name(self, table: str, schema: str | None = None) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)

    # -- connecting ------------------------------------------------------------------------
    def missing_database(self, url: Any) -> str | None:
        """Why the database of ``url`` (a parsed SQLAlchemy URL) cannot be opened without
        creating it, or None. Database servers refuse an unknown database on connect, so only
        file databases, which a connect would create, need to look first."""
        return None

    # -- a database several processes write at once (the results store) ------------------------
    def store_engine(self, url: str) -> sa.Engine:
        """An engine on a database that several runs (threads, processes) read and write at the
        same time, whose read-check-write transactions must not interleave. Servers isolate
        them by themselves (row locks, ``SELECT ... FOR UPDATE``)."""
        return sa.create_engine(url, pool_pre_ping=True)

    def lock_schema_changes(self, conn: sa.Connection, name: str) -> None:
        """Wait for, then hold, the lock ``name`` that one process at a time takes to change a
        shared database's schema (two processes opening a new store must not both create it).
        Held until :meth:`unlock_schema_changes` or the end of ``conn``'s transaction.
        Default: nothing (a database whose transactions already run one at a time)."""

    def unlock_schema_changes(self, conn: sa.Connection, name: str) -> None:
        """Release what :meth:`lock_schema_changes` took, where the transaction's end does not."""

    # -- primitives ------------------------------------------------------------------------
    def concat(self, parts: list[str]) -> str:
        """Concatenation that yields NULL when any part is NULL."""
        return "(" + " || ".join(parts) + ")"

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def char_length(self, expr: str) -> str:
        return f"CHAR_LENGTH({expr})"

    def byte_length(self, expr: str) -> str:
        """Length in bytes of the UTF-8 form of a text expression."""
        raise NotImplementedError

    def int_text(self, expr: str) -> str:
        raise NotImplementedError

    def int64(self, expr: str) -> str:
        """An integer expression widened to 64 bits, so that arithmetic on a 32-bit key column
        cannot overflow the column's own type."""
        return f"CAST({expr} AS BIGINT)"

    def sha256_hex(self, text_expr: str) -> str:
        """Lower-case hex SHA-256 of the UTF-8 bytes of a text expression."""
        raise NotImplementedError

    def hex_to_int(self, hex_expr: str) -> str:
        """Integer value of a hex string of at most 15 digits."""
        raise NotImplementedError

    def substr(self, expr: str, start: int, length: int) -> str:
        return f"SUBSTR({expr}, {start}, {length})"

    def int_div(self, expr: str, divisor: int) -> str:
        """Integer division of a non-negative integer expression (truncating)."""
        return f"({expr} / {int(divisor)})"

    def mod(self, expr: str, modulus: int) -> str:
        return f"({expr} % {int(modulus)})"

    def key_range(self, columns: Sequence[str], lower: Sequence[str] | None, upper: Sequence[str] | None) -> str:
        """A predicate true where the key ``columns`` (compared in order, in their own collation)
        lie in ``[lower, upper)``; the bounds are lists of bind-parameter names (None: unbounded),
        written so that an index on the columns serves it. Default: row values."""
        parts = []
        for names, op in ((lower, ">="), (upper, "<")):
            if names is not None:
                if len(columns) == 1:
                    parts.append(f"{columns[0]} {op} :{names[0]}")
                else:
                    parts.append(f"({', '.join(columns)}) {op} ({', '.join(':' + n for n in names)})")
        return "(" + " AND ".join(parts) + ")" if parts else "1 = 1"

    def in_ranges(self, column: str, ranges: Sequence[tuple[int, int]]) -> str:
        """A predicate true where the integer column lies in one of the sorted, disjoint ranges
        ``[start, end)``, written so that an index on the column serves it. Default: one OR."""
        if not ranges:
            return "1 = 0"
        return "(" + " OR ".join(f"({column} >= {int(a)} AND {column} < {int(b)})" for a, b in ranges) + ")"

    def sum_int(self, expr: str) -> str:
        """SUM of integers that never overflows (the result may be text or DECIMAL)."""
        return f"SUM({expr})"

    # Whether several queries on one table at once run side by side on the server (and so finish
    # sooner): False where the work happens in this process (SQLite's Python hash functions).
    parallel_scans = True

    def on_connect(self, dbapi_connection: Any) -> None:
        """Per-connection setup (e.g. registering functions). Default: nothing."""

    # -- session hardening and predicates (see docs/reliability.md, "Security") ---------------
    # The sqlglot dialect that reads and writes free-text predicates for this database: a
    # predicate is parsed as the server would read it and rendered back in its spelling.
    sqlglot_dialect = ""

    def harden_connect_params(self, params: dict[str, Any], read_only: bool) -> None:
        """Adjust the driver's connect keyword arguments (in place) before every connection, so
        that the protections hold from the first byte of the session, whatever the URL asked
        for. Default: nothing."""

    def check_session(self, dbapi_connection: Any) -> None:
        """Raise :class:`~syncverify.errors.SyncverifyError` if a new connection lacks the
        protections :meth:`harden_connect_params` asked for. Default: nothing to check."""

    def several_statements(self, sql: str) -> bool:
        """Whether the server would run ``sql`` (as sent in one call) as more than one statement.

        Default False: on this database the driver or the server refuses several statements in
        one call by itself, so there is nothing to look for.
        """
        return False

    def session_statements(self, read_only: bool, statement_timeout_ms: int,
                           server_version: str = "") -> list[str]:
        """Statements run on every new connection: read-only transactions, a statement timeout."""
        raise NotImplementedError

    def session_connect_args(self, read_only: bool, statement_timeout_ms: int,
                             server_version: str = "") -> dict[str, Any]:
        """Driver connect arguments that give a session the settings of :meth:`session_statements`
        (and the hardening of :meth:`harden_connect_params`) while it connects. For engines that
        are built from a URL and ``create_engine`` arguments alone and so cannot run statements on
        each new connection: Great Expectations builds its own. Default: the hardening only."""
        params: dict[str, Any] = {}
        self.harden_connect_params(params, read_only)
        return params

    @staticmethod
    def server_version(dbapi_connection: Any) -> str:
        """The server version as the driver reports it ('' when it does not), for
        :meth:`session_statements`: '10.11.6-MariaDB-...' (pymysql), '150020' (psycopg2)."""
        get_info = getattr(dbapi_connection, "get_server_info", None)
        if callable(get_info):
            return str(get_info())
        version = getattr(dbapi_connection, "server_version", None)
        return str(version) if isinstance(version, int) else ""

    def end_session_setup(self, dbapi_connection: Any) -> None:
        """Close the transaction the session statements may have opened (the pool hands the
        connection out idle)."""
        dbapi_connection.commit()

    def in_memory(self, url: Any) -> bool:
        """Whether the database of ``url`` (a parsed SQLAlchemy URL) lives in the process's memory
        (then every connection is a new, empty database: no pool sizes apply)."""
        return False

    # -- case and positions in SQLAlchemy expressions (the quality rules) ----------------------
    def case_sensitive(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``expr`` compared and matched (=, REGEXP) case-sensitively, whatever its collation.
        Default: the database compares text exactly already."""
        return expr

    def position(self, haystack: sa.ColumnElement[Any], needle: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        """1-based index of ``needle`` in ``haystack``, 0 when absent."""
        return sa.func.instr(haystack, needle)

    # -- value kinds -----------------------------------------------------------------------
    def normalize(self, expr: str, kind: ValueKind, column: ColumnInfo, canon: Canon) -> str:
        """Canonical text of ``expr`` (a quoted column) compared as ``kind``; NULL stays NULL."""
        method = {
            ValueKind.INT: self.int_canon,
            ValueKind.DECIMAL: self.decimal_text,
            ValueKind.FLOAT: self.float_text,
            ValueKind.TIMESTAMP: self.timestamp_text,
            ValueKind.DATE: self.date_text,
            ValueKind.TIME: self.time_text,
            ValueKind.TEXT: self.text_text,
            ValueKind.BINARY: self.binary_text,
        }[kind]
        return method(expr, column, canon)

    def int_canon(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        if column.is_boolean:
            return f"(CASE WHEN {expr} THEN '1' WHEN NOT {expr} THEN '0' END)"
        return self.int_text(expr)

    def decimal_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    def float_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        """N significant digits as an integer mantissa and exponent, computed in IEEE doubles
        with the C library's log10/pow and round-half-even (rint) on every dialect, so that
        the databases and Python agree. When log10 lands one off, the mantissa is redone."""
        n = canon.float_digits
        x = self.to_double(expr)
        e = f"FLOOR({self.log10(f'ABS({x})')})"
        scale = f"{10 ** (n - 1)}.0"

        def mantissa(exp: str) -> str:
            return self.round_half_even(f"({x} / {self.power10(exp)}) * {scale}")

        r0 = mantissa(e)

        def text(mantissa_expr: str, exp_expr: str) -> str:
            return self.concat([self.double_int_text(mantissa_expr), _E, self.double_int_text(exp_expr)])

        return (
            f"(CASE WHEN {x} = 0 THEN '0'"
            f" WHEN ABS({r0}) >= {10 ** n}.0 THEN {text(self.round_half_even(f'{r0} / 10'), f'({e} + 1)')}"
            f" WHEN ABS({r0}) < {scale} THEN {text(mantissa(f'({e} - 1)'), f'({e} - 1)')}"
            f" ELSE {text(r0, e)} END)"
        )

    def to_double(self, expr: str) -> str:
        raise NotImplementedError

    def log10(self, expr: str) -> str:
        return f"LOG10({expr})"

    def power10(self, exp_expr: str) -> str:
        return f"POWER(10.0, {exp_expr})"

    def round_half_even(self, expr: str) -> str:
        """Round a double to an integer, ties to even (C ``rint``)."""
        return f"ROUND({expr})"

    def double_int_text(self, expr: str) -> str:
        """Decimal text of an integer-valued double."""
        raise NotImplementedError

    def timestamp_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    def date_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    def time_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    def text_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    def binary_text(self, expr: str, column: ColumnInfo, canon: Canon) -> str:
        raise NotImplementedError

    # -- assembled from the primitives (identical structure on every dialect) ----------------
    def concat_value(self, expr: str, kind: ValueKind, column: ColumnInfo, canon: Canon) -> str:
        """The canonical text of a value as an argument of :meth:`concat`, where a database may
        convert numbers and times to the canonical text by itself, more cheaply than with an
        explicit cast. Must yield exactly the text of :meth:`normalize`. Default: normalize."""
        return self.normalize(expr, kind, column, canon)

    def concat_number(self, expr: str) -> str:
        """An integer expression as an argument of :meth:`concat` (decimal text)."""
        return self.int_text(expr)

    def field_parts(self, expr: str, kind: ValueKind, column: ColumnInfo, canon: Canon) -> list[str]:
        """The self-delimiting field of one column (see the module docstring), as arguments of
        one :meth:`concat`. A NOT NULL column whose canonical text cannot be NULL needs no
        NULL marker; its parts go straight into the row's concatenation."""
        value = self.concat_value(expr, kind, column, canon)
        if kind.length_prefixed:
            parts = [self.concat_number(self.byte_length(value)), "':'", value]
        else:
            parts = [value, "','"]
        if not column.nullable and kind in _NEVER_NULL and column.kind == kind:
            return parts
        return [f"COALESCE({self.concat(parts)}, '{NULL_FIELD}')"]

    def field(self, expr: str, kind: ValueKind, column: ColumnInfo, canon: Canon) -> str:
        """The self-delimiting field of one column as one text expression."""
        return self.row_text(self.field_parts(expr, kind, column, canon))

    def row_text(self, parts: list[str]) -> str:
        """One concatenation of the fields' parts (see :meth:`field_parts`)."""
        return parts[0] if len(parts) == 1 else self.concat(parts)

    def sha256_slice(self, text_expr: str) -> str:
        """The first 60-bit slice of the SHA-256 of a text expression (hex digits 1-15 as an
        integer). Default: :meth:`hex_slices` of :meth:`sha256_hex`; a dialect may do it in one step."""
        return self.hex_slices(self.sha256_hex(text_expr), 1)[0]

    def hex_slices(self, hex_expr: str, count: int = 2) -> list[str]:
        """Integer expressions of the first ``count`` (1 or 2) 60-bit slices of a SHA-256 hex string."""
        return [self.hex_to_int(self.substr(hex_expr, start, length)) for start, length in HASH_SLICES[:count]]

    def hashing_query(self, sql: str) -> str:
        """A ``GROUP BY`` bucket query that computes hashes, adjusted so that the database
        computes each row's hash once and aggregates the buckets efficiently. Default: unchanged."""
        return sql

    # Appended to a derived table that computes hashes, where the planner would otherwise
    # inline it and compute the hash once per reference.
    subquery_fence = ""

    # Names a hash of text this database computes natively, much more cheaply than SHA-256;
    # None: SHA-256 only. Equal names promise the same function of the same bytes (a probe confirms it).
    native_hash_name: str | None = None

    def native_hash(self, text_expr: str, seed: int) -> str:
        """A non-negative 63-bit integer hash of the bytes of a text expression as the database
        stores them (UTF-8 on the supported servers; the probe texts include non-ASCII ones),
        for seed 0 or 1 (the two hash slices); only where :attr:`native_hash_name` is set."""
        raise NotImplementedError

    def key_hash(self, key_text_expr: str) -> str:
        """The 60-bit integer from which buckets are taken."""
        return self.sha256_slice(key_text_expr)

    def int_key_hash(self, column_expr: str) -> str:
        """Bucket source for a single integer key: a multiplicative hash modulo the prime
        2**31 - 1 (no overflow in 64-bit arithmetic; spreads ids that share a factor), far
        cheaper than SHA-256. Same value on every dialect (``%`` truncates toward zero on all).
        Used where key ranges are not (the checksum level; keys spanning more than 2**62)."""
        return f"((({self.int64(column_expr)} % {INT_HASH_PRIME}) * {INT_HASH_MULTIPLIER}) % {INT_HASH_PRIME})"

    def bucket(self, key_hash_expr: str, modulus: int) -> str:
        return self.mod(key_hash_expr, modulus)

    def day_text(self, expr: str, column: ColumnInfo) -> str:
        """``YYYY-MM-DD`` of a date or timestamp column (business totals per day)."""
        return self.date_text(expr, column, Canon())

    # -- repair scripts ----------------------------------------------------------------------
    def begin_transaction(self) -> str:
        """The statement that opens the transaction of a reviewable repair script."""
        return "BEGIN"

    @staticmethod
    def literal_dialect(engine_dialect: sa.Dialect) -> sa.Dialect:
        """The engine's SQLAlchemy dialect for rendering statements with literal values, for a
        script that runs without driver parameters: '%' stays itself (not the driver's '%%')."""
        dialect = copy.copy(engine_dialect)
        preparer = copy.copy(dialect.identifier_preparer)
        preparer._double_percents = False  # type: ignore[attr-defined]
        dialect.identifier_preparer = preparer
        return dialect

    def literal_sql(self, literal_dialect: sa.Dialect, stmt: sa.ClauseElement) -> str:
        """``stmt`` rendered with literal values by a :meth:`literal_dialect`."""
        return str(stmt.compile(dialect=literal_dialect, compile_kwargs={"literal_binds": True}))

    def delete_some(self, table_sql: str, where_sql: str, limit: int) -> str:
        """DELETE at most ``limit`` of the rows matching ``where_sql``.

        Repairs of duplicated keys need it: the extra copies of a key may be identical in every
        column, so only the database's own row identity (or a LIMIT) can remove some and keep one.
        ``table_sql`` is the quoted table name, ``where_sql`` a rendered condition on it.
        """
        raise NotImplementedError(f"{self.name} cannot delete a limited number of rows")

    def length_sum_probe(self, text_exprs: list[str]) -> str:
        """An expression reading every given column once (the benchmark's scan limit)."""
        return f"SUM({self.char_length(self.concat(text_exprs))})"

    # -- schema: normalised column types and the DDL that aligns a target -------------------------
    # Fractional second digits of a TIMESTAMP / TIME declared without them, mantissa bits of a
    # FLOAT declared without a precision, and the character set of text that names none (the
    # server's encoding): what the database assumes when the DDL does not say.
    default_timestamp_precision = 6
    default_float_bits = 53
    default_charset: str | None = "utf8mb4"
    # False for a database syncverify reads only from DDL files (never connects to)
    connectable = True

    def sa_dialect(self) -> sa.Dialect:
        """The SQLAlchemy dialect that spells this database's types (for ``declared``)."""
        return sa.engine.default.DefaultDialect()

    def declared(self, sa_type: Any) -> str:
        try:
            return str(sa_type.compile(dialect=self.sa_dialect()))
        except Exception:
            return type(sa_type).__name__.upper()

    def describe_type(self, sa_type: Any, charset: str | None = None) -> ColumnType:
        """The normalised type of a reflected column (``charset``: the column's character set,
        where the database has one per column)."""
        return describe_sa(sa_type, charset=charset or self.default_charset,
                           default_timestamp_precision=self.default_timestamp_precision,
                           default_float_bits=self.default_float_bits, declared=self.declared(sa_type))

    def prepare_ddl(self, text: str) -> str:
        """DDL text made readable by sqlglot where it would misread this database's types."""
        return text

    def describe_ddl_type(self, dtype: Any, charset: str | None = None) -> ColumnType:
        """The normalised type of a column read from a DDL file (a sqlglot ``DataType``)."""
        return describe_sqlglot(dtype, charset=charset or self.default_charset,
                                default_timestamp_precision=self.default_timestamp_precision,
                                default_float_bits=self.default_float_bits,
                                declared=dtype.sql(dialect=self.sqlglot_dialect or None))

    def table_charset(self, inspector: sa.Inspector, table: str, schema: str | None) -> str | None:
        """The table's default character set, where the database keeps one per table."""
        return None

    def column_charset(self, reflected: Any) -> str | None:
        """A reflected column's own character set, where the database keeps one per column."""
        return getattr(reflected.get("type"), "charset", None)   # a reflected column (dict)

    def type_sql(self, ctype: ColumnType) -> str:
        """This database's spelling of a normalised type (the aligning DDL)."""
        raise NotImplementedError(f"{self.name} cannot spell column types")

    def alter_column(self, table_sql: str, column: str, ctype: ColumnType, nullable: bool, *,
                     retype: bool, renull: bool, family_changed: bool) -> list[str]:
        """Statements that give an existing column ``ctype`` (``retype``) and/or ``nullable``
        (``renull``). ``family_changed``: the values must be converted."""
        raise NotImplementedError(f"{self.name} cannot alter a column")

    def add_column(self, table_sql: str, column: str, ctype: ColumnType) -> str:
        """A statement adding a missing column, nullable: existing rows get NULL, and the
        replication fills it from then on."""
        return f"ALTER TABLE {table_sql} ADD COLUMN {self.quote(column)} {self.type_sql(ctype)} NULL"


    # -- the sandbox: loading generated rows, creating and dropping its databases ----------------
    def bulk_load(self, dbapi_connection: Any, table_sql: str, columns_sql: str, width: int,
                  rows: Sequence[Sequence[Any]], suffixes: Sequence[Sequence[Any]] | None, cache: RowCache) -> None:
        """Insert ``rows`` (``width`` values each, plus the row's ``suffixes`` when given) into the
        quoted table and columns the fastest way the driver has, in the open transaction."""
        raise NotImplementedError(f"{self.name} has no bulk load")

    def loading_url(self, url: sa.URL) -> sa.URL:
        """The URL of a writable engine that loads rows (driver options the bulk path needs)."""
        return url

    def on_loading_connect(self, dbapi_connection: Any) -> None:
        """Per-connection setup of an engine that loads a generated world. Default: nothing."""

    def reset_database(self, admin: sa.Connection, name: str, database_url: sa.URL) -> None:
        """Make database ``name`` exist and be empty (``admin``: an AUTOCOMMIT connection to the
        server; ``database_url``: the database's own URL)."""
        raise NotImplementedError(f"{self.name} cannot create databases")

    def drop_database(self, admin: sa.Connection, name: str) -> None:
        """Drop database ``name`` if it exists (``admin``: an AUTOCOMMIT connection)."""
        raise NotImplementedError(f"{self.name} cannot drop databases")
