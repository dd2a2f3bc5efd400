"""Normalised column types: what a column can hold, whatever the database calls it.

The schema check (:mod:`syncverify.schema`) asks whether every value a source column can hold
fits the target column. Databases spell the same capacity differently (``VARCHAR2(50 BYTE)``,
``character varying(50)``, ``VARCHAR(50) CHARACTER SET utf8mb4``), so each dialect maps its
reflected SQLAlchemy types — and the types of a DDL file, parsed with sqlglot — to one
:class:`ColumnType`: a family and the dimensions that limit what fits. The generic mapping lives
here; the dialects add what only they know (MySQL's ``TINYINT(1)`` is a boolean and its
``DATETIME`` has no fractional seconds by default; Oracle's ``DATE`` carries a time).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlglot import exp


class TypeFamily(StrEnum):
    """What kind of value a column holds. Two columns of different families cannot be compared
    value by value (integers and decimals are both exact numbers and compare by capacity)."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"
    TIME = "time"
    BOOLEAN = "boolean"
    BINARY = "binary"
    JSON = "json"
    OTHER = "other"


# Most bytes one character takes, by character set name (lower case). A target whose character
# set takes fewer bytes per character cannot hold every character of a wider one (latin1 has no
# Chinese; utf8mb3 has no characters outside the BMP).
CHARSET_BYTES = {
    "utf8mb4": 4, "utf8": 3, "utf8mb3": 3, "ascii": 1, "latin1": 1, "binary": 1, "gbk": 2, "gb2312": 2,
    "gb18030": 4, "big5": 2, "ucs2": 2, "utf16": 4, "utf32": 4, "al32utf8": 4, "al16utf16": 4,
    "zhs16gbk": 2, "we8iso8859p1": 1, "us7ascii": 1, "utf-8": 4,
}

INT_BITS = {"TINYINT": 7, "SMALLINT": 15, "MEDIUMINT": 23, "INT": 31, "INTEGER": 31, "BIGINT": 63}


@dataclass(frozen=True)
class ColumnType:
    """A column's type as capacities.

    family               see :class:`TypeFamily`
    length               text: characters (``length_unit`` "char") or bytes ("byte"); binary: bytes;
                         None: no limit worth naming (TEXT, CLOB, BYTEA)
    precision            decimal: total digits (None: unbounded NUMERIC); integer: value bits
                         (7 TINYINT, 15 SMALLINT, 31 INT, 63 BIGINT; unsigned adds one); float:
                         mantissa bits (24 single, 53 double)
    scale                decimal: fractional digits
    timestamp_precision  timestamp and time: fractional second digits
    charset_bytes        text: most bytes one character takes in the column's character set
    """

    family: TypeFamily
    length: int | None = None
    length_unit: str = "char"
    precision: int | None = None
    scale: int | None = None
    timestamp_precision: int | None = None
    timezone: bool = False
    unsigned: bool = False
    charset: str | None = None
    charset_bytes: int | None = None
    declared: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set (the snapshot JSON stays short and its hash stable)."""
        out = {k: v for k, v in asdict(self).items() if not (v is None or v is False or v == "")}
        out["family"] = self.family.value
        if self.length_unit == "char":
            out.pop("length_unit", None)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnType:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["family"] = TypeFamily(values.get("family", "other"))
        return cls(**values)

    # -- capacities -------------------------------------------------------------------------
    def chars_guaranteed(self) -> int | None:
        """Characters any value of at most this many characters is sure to fit (None: no limit)."""
        if self.length is None:
            return None
        if self.length_unit == "byte":
            return self.length // max(1, self.charset_bytes or 4)
        return self.length

    def chars_possible(self) -> int | None:
        """The most characters a value of this column can have (None: no limit)."""
        return self.length

    def integer_digits(self) -> float:
        """Digits before the decimal point an exact number can have (inf: unbounded), as a
        real number so that BIGINT (about 18.96 digits) sits between DECIMAL(18) and DECIMAL(19)."""
        if self.family is TypeFamily.INTEGER:
            bits = self.precision if self.precision is not None else 63
            return math.log10(2 ** bits)
        if self.family is TypeFamily.DECIMAL:
            if self.precision is None:
                return math.inf
            return float(self.precision - (self.scale or 0))
        return math.inf

    def fraction_digits(self) -> float:
        if self.family is TypeFamily.INTEGER:
            return 0.0
        if self.family is TypeFamily.DECIMAL and self.precision is None and self.scale is None:
            return math.inf
        return float(self.scale or 0)


def integer_bits_for(ctype: ColumnType) -> int:
    """Value bits an integer column needs to hold every value of an exact-number type."""
    if ctype.family is TypeFamily.INTEGER and ctype.precision is not None:
        return ctype.precision
    digits = ctype.integer_digits()
    return 64 if math.isinf(digits) else max(7, math.ceil(digits * math.log2(10)))


def charset_bytes(charset: str | None) -> int | None:
    return CHARSET_BYTES.get(charset.lower()) if charset else None


def _name(sa_type: Any) -> str:
    return type(sa_type).__name__.upper()


def describe_sa(sa_type: Any, *, charset: str | None, default_timestamp_precision: int,
                default_float_bits: int, declared: str) -> ColumnType:
    """The generic mapping of a reflected SQLAlchemy type (dialects refine it)."""
    name = _name(sa_type)
    if isinstance(sa_type, sa.Boolean):
        return ColumnType(TypeFamily.BOOLEAN, declared=declared)
    if isinstance(sa_type, sa.Integer):
        bits = INT_BITS.get(name, 63 if isinstance(sa_type, sa.BigInteger) else
                            15 if isinstance(sa_type, sa.SmallInteger) else 31)
        unsigned = bool(getattr(sa_type, "unsigned", False))
        return ColumnType(TypeFamily.INTEGER, precision=bits + unsigned, unsigned=unsigned, declared=declared)
    if isinstance(sa_type, sa.Float) or (isinstance(sa_type, sa.Numeric) and name in
                                         {"REAL", "DOUBLE", "DOUBLE_PRECISION", "FLOAT"}):
        if name == "REAL":
            bits = 24
        elif name in {"DOUBLE", "DOUBLE_PRECISION"}:
            bits = 53
        else:
            p = getattr(sa_type, "precision", None)
            bits = default_float_bits if p is None else (24 if p <= 24 else 53)
        return ColumnType(TypeFamily.FLOAT, precision=bits, declared=declared)
    if isinstance(sa_type, sa.Numeric):
        return ColumnType(TypeFamily.DECIMAL, precision=sa_type.precision, scale=sa_type.scale, declared=declared)
    if isinstance(sa_type, sa.DateTime):
        p = getattr(sa_type, "precision", None)
        p = getattr(sa_type, "fsp", None) if p is None else p
        return ColumnType(TypeFamily.TIMESTAMP, timestamp_precision=default_timestamp_precision if p is None else p,
                          timezone=bool(getattr(sa_type, "timezone", False)), declared=declared)
    if isinstance(sa_type, sa.Date):
        return ColumnType(TypeFamily.DATE, declared=declared)
    if isinstance(sa_type, sa.Time):
        p = getattr(sa_type, "precision", None)
        p = getattr(sa_type, "fsp", None) if p is None else p
        return ColumnType(TypeFamily.TIME, timestamp_precision=default_timestamp_precision if p is None else p,
                          timezone=bool(getattr(sa_type, "timezone", False)), declared=declared)
    if isinstance(sa_type, sa.JSON):
        return ColumnType(TypeFamily.JSON, declared=declared)
    if isinstance(sa_type, sa.Enum):
        return ColumnType(TypeFamily.OTHER, declared=declared)
    if isinstance(sa_type, sa.String):
        return ColumnType(TypeFamily.TEXT, length=getattr(sa_type, "length", None), charset=charset,
                          charset_bytes=charset_bytes(charset), declared=declared)
    if isinstance(sa_type, sa.LargeBinary | sa.types._Binary):
        return ColumnType(TypeFamily.BINARY, length=getattr(sa_type, "length", None), declared=declared)
    return ColumnType(TypeFamily.OTHER, declared=declared)


# ---- DDL (sqlglot) ------------------------------------------------------------------------------

T = exp.DataType.Type
_TEXT = {T.CHAR, T.NCHAR, T.VARCHAR, T.NVARCHAR, T.TEXT, T.MEDIUMTEXT, T.LONGTEXT, T.TINYTEXT, T.BPCHAR, T.NAME}
_SQLGLOT_INT = {T.TINYINT: 7, T.UTINYINT: 8, T.SMALLINT: 15, T.USMALLINT: 16, T.MEDIUMINT: 23, T.UMEDIUMINT: 24,
                T.INT: 31, T.UINT: 32, T.BIGINT: 63, T.UBIGINT: 64}
_UNSIGNED = {T.UTINYINT, T.USMALLINT, T.UMEDIUMINT, T.UINT, T.UBIGINT}
_BINARY = {T.BINARY, T.VARBINARY, T.BLOB, T.MEDIUMBLOB, T.LONGBLOB, T.TINYBLOB}
_TIMESTAMP = {T.DATETIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.DATETIME64, T.TIMESTAMPNTZ}
_TZ = {T.TIMESTAMPTZ, T.TIMESTAMPLTZ}


def type_args(dtype: exp.DataType) -> list[str]:
    """The arguments of a parsed type as text (``['100 CHAR']``, ``['18', '2']``)."""
    out = []
    for e in dtype.expressions:
        if isinstance(e, exp.DataTypeParam):
            out.append(" ".join(p.sql() for p in (e.this, e.expression) if p is not None).strip())
        else:
            out.append(str(e.name or e.sql()).strip())
    return out


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    head = text.split()[0] if text.split() else ""
    return int(head) if head.isdigit() else None


def describe_sqlglot(dtype: exp.DataType, *, charset: str | None, default_timestamp_precision: int,
                     default_float_bits: int, declared: str) -> ColumnType:
    """The generic mapping of a type read from a DDL file (dialects refine it)."""
    kind, args = dtype.this, type_args(dtype)
    first = args[0] if args else None
    if kind in _TEXT:
        unit = "byte" if first and first.upper().endswith("BYTE") else "char"
        length = _int(first)
        fixed = {T.TINYTEXT: 255, T.TEXT: None, T.MEDIUMTEXT: None, T.LONGTEXT: None}
        if kind in fixed:
            length, unit = fixed[kind], "byte" if kind is T.TINYTEXT else unit
        return ColumnType(TypeFamily.TEXT, length=length, length_unit=unit, charset=charset,
                          charset_bytes=charset_bytes(charset), declared=declared)
    if kind is T.BOOLEAN:
        return ColumnType(TypeFamily.BOOLEAN, declared=declared)
    if kind in _SQLGLOT_INT:
        return ColumnType(TypeFamily.INTEGER, precision=_SQLGLOT_INT[kind], unsigned=kind in _UNSIGNED,
                          declared=declared)
    if kind in {T.DECIMAL, T.BIGDECIMAL, T.UDECIMAL}:
        return ColumnType(TypeFamily.DECIMAL, precision=_int(first), scale=_int(args[1]) if len(args) > 1 else
                          (0 if _int(first) is not None else None), declared=declared)
    if kind is T.FLOAT:
        p = _int(first)
        return ColumnType(TypeFamily.FLOAT, precision=default_float_bits if p is None else (24 if p <= 24 else 53),
                          declared=declared)
    if kind is T.DOUBLE:
        return ColumnType(TypeFamily.FLOAT, precision=53, declared=declared)
    if kind in _TIMESTAMP:
        p = _int(first)
        return ColumnType(TypeFamily.TIMESTAMP, timestamp_precision=default_timestamp_precision if p is None else p,
                          timezone=kind in _TZ, declared=declared)
    if kind is T.DATE:
        return ColumnType(TypeFamily.DATE, declared=declared)
    if kind in {T.TIME, T.TIMETZ}:
        p = _int(first)
        return ColumnType(TypeFamily.TIME, timestamp_precision=default_timestamp_precision if p is None else p,
                          timezone=kind is T.TIMETZ, declared=declared)
    if kind in {T.JSON, T.JSONB}:
        return ColumnType(TypeFamily.JSON, declared=declared)
    if kind in _BINARY:
        return ColumnType(TypeFamily.BINARY, length=_int(first), declared=declared)
    return ColumnType(TypeFamily.OTHER, declared=declared)
