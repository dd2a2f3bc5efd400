"""Dialect interface: quoting, kinds, session settings and the canonical forms (SQLite is the
third dialect in its own right; MariaDB/PostgreSQL agreement is in the integration tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from syncverify.dialects import (
    Canon,
    ColumnInfo,
    MySQLDialect,
    PostgreSQLDialect,
    SQLiteDialect,
    ValueKind,
    for_name,
    for_url,
    joint_kind,
    kind_of_type,
)
from syncverify.dialects.sqlite import decimal_canon, float_canon, timestamp_canon
from syncverify.errors import IdentifierError, SyncverifyError


@pytest.mark.parametrize("name", ['a"b', "a`b", "x;drop", "a'b", "", "tab\tname", "a\\b", "x" * 200])
def test_quote_refuses_unsafe_names(name: str) -> None:
    for dialect in (MySQLDialect(), PostgreSQLDialect(), SQLiteDialect()):
        with pytest.raises(IdentifierError):
            dialect.quote(name)


def test_quote_forms() -> None:
    assert MySQLDialect().quote("fphm") == "`fphm`"
    assert PostgreSQLDialect().table_name("inv", "gx") == '"gx"."inv"'
    assert SQLiteDialect().quote("发票") == '"发票"'


def test_lookup_by_url_and_name() -> None:
    assert isinstance(for_url("mysql+pymysql://u:p@h/db"), MySQLDialect)
    assert isinstance(for_url("postgresql+psycopg2://h/db"), PostgreSQLDialect)
    assert isinstance(for_url("sqlite:///x.db"), SQLiteDialect)
    assert isinstance(for_name("mariadb"), MySQLDialect)
    with pytest.raises(SyncverifyError, match="unsupported database 'oracle'"):
        for_name("oracle")


def test_kinds_of_types_and_joint_kinds() -> None:
    assert kind_of_type(sa.Numeric(18, 2)) is ValueKind.DECIMAL
    assert kind_of_type(sa.Float()) is ValueKind.FLOAT
    assert kind_of_type(sa.BigInteger()) is ValueKind.INT
    assert kind_of_type(sa.Boolean()) is ValueKind.INT
    assert kind_of_type(sa.DateTime()) is ValueKind.TIMESTAMP
    assert kind_of_type(sa.String(20)) is ValueKind.TEXT
    assert kind_of_type(sa.LargeBinary()) is ValueKind.BINARY
    assert joint_kind(ValueKind.INT, ValueKind.DECIMAL) is ValueKind.DECIMAL
    assert joint_kind(ValueKind.DECIMAL, ValueKind.FLOAT) is ValueKind.FLOAT
    assert joint_kind(ValueKind.DATE, ValueKind.TIMESTAMP) is ValueKind.TIMESTAMP
    assert joint_kind(ValueKind.INT, ValueKind.TEXT) is ValueKind.TEXT


def test_session_statements() -> None:
    maria = MySQLDialect().session_statements(True, 5000, "10.11.19-MariaDB")
    assert "SET SESSION tx_read_only = 1" in maria and "SET SESSION max_statement_time = 5.000" in maria
    mysql8 = MySQLDialect().session_statements(True, 5000, "8.0.36")
    assert "SET SESSION max_execution_time = 5000" in mysql8 and "SET SESSION transaction_read_only = 1" in mysql8
    pg = PostgreSQLDialect().session_statements(True, 5000)
    assert "SET default_transaction_read_only = on" in pg and "SET statement_timeout = 5000" in pg
    assert "SET jit = off" in PostgreSQLDialect().session_statements(True, 5000, "150020")
    assert "SET jit = off" not in PostgreSQLDialect().session_statements(True, 5000, "100007")   # TBase: PG 10
    assert SQLiteDialect().session_statements(True, 5000) == ["PRAGMA query_only = ON"]
    assert not any("read_only" in s for s in MySQLDialect().session_statements(False, 0))


def test_session_connect_args_carry_the_session_statements() -> None:
    """Engines built from a URL alone (GX's) get the same settings while connecting."""
    maria = MySQLDialect()
    init = maria.session_connect_args(True, 5000, "10.11.19-MariaDB")["init_command"]
    statements = maria.session_statements(True, 5000, "10.11.19-MariaDB")
    assert init == "SET " + ", ".join(s.removeprefix("SET ") for s in statements)
    assert "time_zone = '+08:00'" in init
    pg = PostgreSQLDialect()
    options = pg.session_connect_args(True, 5000, "150020")["options"]
    assert "-c TimeZone=Asia/Shanghai" in options and "-c DateStyle=ISO,\\ YMD" in options
    assert "-c statement_timeout=5000" in options and "-c jit=off" in options
    assert len(pg.session_statements(True, 5000, "150020")) == options.count("-c ") - 2   # + the hardening
    assert SQLiteDialect().session_connect_args(True, 5000) == {}


@pytest.mark.parametrize("value,text", [
    (Decimal("100.50"), "100.5"), (Decimal("100.00"), "100"), (Decimal("-0.010"), "-0.01"), (0, "0"),
    (Decimal("0.00"), "0"), (10**30, "1" + "0" * 30), (1e20, "100000000000000000000"), ("12.340", "12.34"),
    (-7, "-7"), (None, None),
])
def test_decimal_canon(value: object, text: str | None) -> None:
    assert decimal_canon(value) == text


def test_float_canon_rounds_to_significant_digits() -> None:
    assert float_canon(123.45) == "123450000000e2"
    assert float_canon(0.1 + 0.2) == float_canon(0.3)
    assert float_canon(-9.87654321e20) == "-987654321000e20"
    assert float_canon(1.0, 3) == "100e0"
    assert float_canon(0.0) == "0"
    assert float_canon(1.0000001, 3) == float_canon(1.0, 3)


def test_timestamp_canon_truncates() -> None:
    moment = dt.datetime(2024, 1, 5, 10, 0, 0, 987654)
    assert timestamp_canon(moment) == "2024-01-05 10:00:00"
    assert timestamp_canon(moment, 3) == "2024-01-05 10:00:00.987"
    assert timestamp_canon("2024-01-05 10:00:00.5", 2) == "2024-01-05 10:00:00.50"
    assert timestamp_canon("2024-01-05") == "2024-01-05 00:00:00"


def test_canon_options_are_validated() -> None:
    with pytest.raises(ValueError):
        Canon(float_digits=0)
    with pytest.raises(ValueError):
        Canon(timestamp_precision=7)


def test_null_empty_and_zero_fields_differ_on_sqlite(sqlite_url: str) -> None:
    from syncverify.connect.engine import make_engine

    engine = make_engine(sqlite_url, read_only=False)
    d = SQLiteDialect()
    text_col = ColumnInfo("v", sa.String(), ValueKind.TEXT)
    dec_col = ColumnInfo("v", sa.Numeric(), ValueKind.DECIMAL)
    with engine.connect() as conn:
        def field(value: object, col: ColumnInfo) -> str:
            expr = d.field(":v", col.kind, col, Canon())
            return conn.execute(sa.text(f"SELECT {expr}"), {"v": value}).scalar()

        assert [field(v, text_col) for v in (None, "", "0", "a:b")] == ["~", "0:", "1:0", "3:a:b"]
        assert [field(v, dec_col) for v in (None, 0, "100.50")] == ["~", "0,", "100.5,"]
        assert field("中文 ", text_col) == "7:中文 "      # UTF-8 bytes, trailing space kept
    engine.dispose()
