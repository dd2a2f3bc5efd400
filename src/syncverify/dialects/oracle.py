"""Oracle source types, read from a DDL file: the schema check and the release gate only.

The bureau's older systems feed the DSG links from Oracle; syncverify does not connect to
Oracle to compare rows, but a release may bring an Oracle ``CREATE TABLE`` file, and its types
must be normalised like any other (see docs/schema.md, "Oracle source types"):

=========================== =======================================================================
Oracle                      normalised
=========================== =======================================================================
VARCHAR2(n [BYTE])          text, n bytes (the default length semantics); AL32UTF8: 4 bytes a char
VARCHAR2(n CHAR), NVARCHAR2 text, n characters
CHAR(n), NCHAR(n)           text, as VARCHAR2 / NVARCHAR2
CLOB, NCLOB, LONG           text, no limit
NUMBER(p,s) / NUMBER(p)     decimal(p, s) / decimal(p, 0) (integers compare by capacity)
NUMBER, FLOAT(b)            decimal, unbounded (FLOAT is a decimal NUMBER subtype)
INTEGER, INT, SMALLINT      decimal(38, 0)
BINARY_FLOAT / _DOUBLE      float, 24 / 53 bits
DATE                        timestamp(0): an Oracle DATE carries the time of day
TIMESTAMP(n)                timestamp(n), 6 without (n); WITH [LOCAL] TIME ZONE: time-zone aware
RAW(n), BLOB, LONG RAW      binary, n bytes / no limit
=========================== =======================================================================
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from syncverify.dialects.base import Dialect
from syncverify.dialects.types import ColumnType, TypeFamily, type_args

# sqlglot reads LONG as a BIGINT, BINARY_FLOAT as a FLOAT and FLOAT / REAL / DOUBLE PRECISION
# (Oracle's decimal NUMBER subtypes) as binary floats: spelled here so it reads them right.
_REWRITES = (
    (re.compile(r"\bLONG\s+RAW\b", re.I), "BLOB"),
    (re.compile(r"\bLONG\b", re.I), "CLOB"),
    (re.compile(r"\b(?:FLOAT|REAL)(\s*\(\s*\d+\s*\))?(?=[\s,)])", re.I), "NUMBER"),
    (re.compile(r"\bDOUBLE\s+PRECISION\b", re.I), "NUMBER"),
    (re.compile(r"\bBINARY_FLOAT\b", re.I), "FLOAT"),
    (re.compile(r"\bBINARY_DOUBLE\b", re.I), "DOUBLE"),
)


class OracleDialect(Dialect):
    """Oracle types from DDL files; no comparison SQL (not registered for connections)."""

    name = "oracle"
    sqlglot_dialect = "oracle"
    connectable = False
    default_timestamp_precision = 6
    default_float_bits = 24             # after prepare_ddl, a bare FLOAT is a BINARY_FLOAT
    default_charset = "al32utf8"

    def prepare_ddl(self, text: str) -> str:
        for pattern, spelling in _REWRITES:
            text = pattern.sub(spelling, text)
        return text

    def describe_ddl_type(self, dtype: Any, charset: str | None = None) -> ColumnType:
        kind = str(dtype.this.name).upper()
        args = type_args(dtype)
        declared = dtype.sql(dialect="oracle")
        if kind == "DATE":
            return ColumnType(TypeFamily.TIMESTAMP, timestamp_precision=0, declared=declared)
        if kind in {"INT", "SMALLINT", "BIGINT", "TINYINT"}:
            return ColumnType(TypeFamily.DECIMAL, precision=38, scale=0, declared=declared)
        if kind == "DECIMAL":
            precision = None if not args or args[0] == "*" else int(args[0])
            scale = int(args[1]) if len(args) > 1 else (0 if args else None)
            if precision is None and scale is not None:
                precision = 38
            return ColumnType(TypeFamily.DECIMAL, precision=precision, scale=scale, declared=declared)
        if kind == "USERDEFINED":
            word = declared.split("(")[0].strip().upper()
            if word in {"NCLOB", "CLOB"}:
                return ColumnType(TypeFamily.TEXT, charset=charset or self.default_charset,
                                  charset_bytes=4, declared=declared)
            if word == "RAW":
                return ColumnType(TypeFamily.BINARY, length=int(args[0]) if args else None, declared=declared)
            return ColumnType(TypeFamily.OTHER, declared=declared)
        described = super().describe_ddl_type(dtype, charset)
        if described.family is TypeFamily.TEXT and described.length is not None:
            national = kind in {"NVARCHAR", "NCHAR"}
            explicit_char = bool(args) and args[0].upper().endswith("CHAR")
            unit = "char" if national or explicit_char else "byte"
            return replace(described, length_unit=unit, declared=declared,
                           charset="al16utf16" if national else described.charset)
        return replace(described, declared=declared)
