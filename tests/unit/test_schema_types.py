"""Type normalisation per dialect (pure: SQLAlchemy types and DDL text, no database), the
severity rules, the aligning DDL each dialect writes and the DDL file reader."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from syncverify.dialects import ColumnType, MySQLDialect, PostgreSQLDialect, SQLiteDialect, TypeFamily, for_kind
from syncverify.shapes.compare import Severity, align_ddl, compare_shapes, widened
from syncverify.shapes.table import ColumnShape, TableShape, parse_ddl

MY, PG, LITE = MySQLDialect(), PostgreSQLDialect(), SQLiteDialect()


def test_mysql_types() -> None:
    text = MY.describe_type(mysql.VARCHAR(20, charset="latin1"), "latin1")
    assert (text.family, text.length, text.charset_bytes) == (TypeFamily.TEXT, 20, 1)
    assert MY.describe_type(mysql.TINYINT(display_width=1)).family is TypeFamily.BOOLEAN
    assert MY.describe_type(mysql.TINYINT()).precision == 7
    unsigned = MY.describe_type(mysql.INTEGER(unsigned=True))
    assert (unsigned.family, unsigned.precision, unsigned.unsigned) == (TypeFamily.INTEGER, 32, True)
    assert MY.describe_type(mysql.BIGINT()).precision == 63
    assert MY.describe_type(mysql.DATETIME()).timestamp_precision == 0     # DATETIME: whole seconds
    assert MY.describe_type(mysql.DATETIME(fsp=3)).timestamp_precision == 3
    assert MY.describe_type(mysql.FLOAT()).precision == 24
    assert MY.describe_type(mysql.DOUBLE()).precision == 53
    dec = MY.describe_type(mysql.DECIMAL(18, 2))
    assert (dec.family, dec.precision, dec.scale) == (TypeFamily.DECIMAL, 18, 2)
    t = MY.describe_type(mysql.TEXT(), "utf8mb4")
    assert (t.length, t.length_unit, t.chars_guaranteed()) == (65535, "byte", 16383)
    assert MY.describe_type(mysql.LONGTEXT()).length is None
    assert MY.describe_type(mysql.JSON()).family is TypeFamily.JSON
    assert MY.describe_type(mysql.VARBINARY(16)).length == 16
    assert MY.describe_type(mysql.ENUM("a", "b")).family is TypeFamily.OTHER


def test_postgresql_types() -> None:
    ts = PG.describe_type(postgresql.TIMESTAMP(timezone=True, precision=3))
    assert (ts.family, ts.timestamp_precision, ts.timezone) == (TypeFamily.TIMESTAMP, 3, True)
    assert PG.describe_type(postgresql.TIMESTAMP()).timestamp_precision == 6   # microseconds by default
    assert PG.describe_type(sa.Text()).length is None
    assert PG.describe_type(postgresql.VARCHAR(10)).chars_guaranteed() == 10
    assert PG.describe_type(postgresql.REAL()).precision == 24
    assert PG.describe_type(postgresql.DOUBLE_PRECISION()).precision == 53
    unbounded = PG.describe_type(sa.Numeric())
    assert (unbounded.family, unbounded.precision, unbounded.scale) == (TypeFamily.DECIMAL, None, None)
    assert PG.describe_type(postgresql.JSONB()).family is TypeFamily.JSON
    assert PG.describe_type(postgresql.BYTEA()).family is TypeFamily.BINARY
    assert PG.describe_type(sa.Boolean()).family is TypeFamily.BOOLEAN
    assert PG.describe_type(sa.SmallInteger()).precision == 15
    assert PG.describe_type(postgresql.UUID()).family is TypeFamily.OTHER
    assert PG.describe_type(sa.Date()).family is TypeFamily.DATE


def test_sqlite_types() -> None:
    assert LITE.describe_type(sqlite.VARCHAR(12)).length == 12
    assert LITE.describe_type(sqlite.INTEGER()).family is TypeFamily.INTEGER
    assert LITE.describe_type(sqlite.NUMERIC(18, 2)).scale == 2
    assert LITE.describe_type(sqlite.DATETIME()).family is TypeFamily.TIMESTAMP
    assert LITE.describe_type(sa.types.NullType()).family is TypeFamily.OTHER


def _shape(dialect: str, **cols: tuple[ColumnType, bool]) -> TableShape:
    shape = TableShape("t", dialect, primary_key=["id"])
    shape.columns["id"] = ColumnShape("id", ColumnType(TypeFamily.INTEGER, precision=63), False)
    for name, (ctype, nullable) in cols.items():
        shape.columns[name] = ColumnShape(name, ctype, nullable)
    return shape


def _by(findings):
    return {(f.column, f.what): f.severity for f in findings}


def test_severities() -> None:
    text20 = ColumnType(TypeFamily.TEXT, length=20, charset="utf8mb4", charset_bytes=4)
    dec = ColumnType(TypeFamily.DECIMAL, precision=18, scale=2)
    src = _shape("mysql", a=(text20, True), b=(dec, True), c=(text20, False), d=(text20, True),
                 e=(ColumnType(TypeFamily.TIMESTAMP, timestamp_precision=6), True), f=(text20, True))
    dst = _shape("postgresql",
                 a=(ColumnType(TypeFamily.TEXT, length=10, charset_bytes=4), True),         # shorter
                 b=(ColumnType(TypeFamily.DECIMAL, precision=18, scale=1), True),           # lower scale
                 c=(text20, True),                                                           # looser
                 d=(text20, False),                                                          # stricter
                 e=(ColumnType(TypeFamily.TIMESTAMP, timestamp_precision=0), True),         # seconds only
                 new=(text20, True))                                                         # extra; f dropped
    got = _by(compare_shapes(src, dst, key=["id"]))
    assert got[("a", "length")] is Severity.ERROR
    assert got[("b", "scale")] is Severity.ERROR
    assert got[("c", "nullable")] is Severity.INFO
    assert got[("d", "nullable")] is Severity.ERROR
    assert got[("e", "timestamp_precision")] is Severity.ERROR
    assert got[("f", "missing")] is Severity.ERROR
    assert got[("new", "extra")] is Severity.WARNING
    assert got[("b", "precision")] is Severity.INFO     # 16 integer digits against 17: wider


def test_family_charset_and_exact_numbers() -> None:
    src = _shape("mysql", a=(ColumnType(TypeFamily.TEXT, length=10, charset="utf8mb4", charset_bytes=4), True),
                 n=(ColumnType(TypeFamily.DECIMAL, precision=19, scale=0), True),
                 m=(ColumnType(TypeFamily.DECIMAL, precision=18, scale=0), True),
                 j=(ColumnType(TypeFamily.INTEGER, precision=63), True))
    dst = _shape("mysql", a=(ColumnType(TypeFamily.TEXT, length=10, charset="latin1", charset_bytes=1), True),
                 n=(ColumnType(TypeFamily.INTEGER, precision=63), True),      # NUMBER(19) does not fit BIGINT
                 m=(ColumnType(TypeFamily.INTEGER, precision=63), True),      # NUMBER(18) does
                 j=(ColumnType(TypeFamily.TEXT, length=20), True))
    got = _by(compare_shapes(src, dst, key=["id"]))
    assert got[("a", "charset")] is Severity.ERROR
    assert got[("n", "precision")] is Severity.ERROR
    assert got.get(("m", "precision")) is Severity.INFO
    assert got[("j", "family")] is Severity.ERROR


def test_keys() -> None:
    text = ColumnType(TypeFamily.TEXT, length=10)
    src = _shape("mysql", code=(text, True))
    dst = _shape("mysql", code=(text, True))
    dst.unique_keys.append(["code"])      # the target refuses duplicate codes the source allows
    got = _by(compare_shapes(src, dst, key=["id"]))
    assert got[("*", "unique_key")] is Severity.ERROR
    dst2 = _shape("mysql", code=(text, True))
    dst2.primary_key = []
    assert _by(compare_shapes(src, dst2, key=["id"]))[("*", "key_not_unique")] is Severity.WARNING


def test_widened_and_aligning_ddl_per_dialect() -> None:
    s = ColumnType(TypeFamily.DECIMAL, precision=16, scale=2)
    t = ColumnType(TypeFamily.DECIMAL, precision=18, scale=1)
    assert (widened(s, t).precision, widened(s, t).scale) == (19, 2)
    src = _shape("mysql", a=(ColumnType(TypeFamily.TEXT, length=20, charset_bytes=4), False),
                 b=(s, True), c=(ColumnType(TypeFamily.TEXT, length=5, charset_bytes=4), True))
    dst = _shape("x", a=(ColumnType(TypeFamily.TEXT, length=10, charset_bytes=4), False),
                 b=(t, False))
    findings = compare_shapes(src, dst, key=["id"])
    pg = align_ddl(findings, src, dst, PG, PG.table_name("t"))
    assert 'ALTER TABLE "t" ALTER COLUMN "a" TYPE VARCHAR(20)' in pg
    assert 'ALTER TABLE "t" ALTER COLUMN "b" TYPE NUMERIC(19,2)' in pg
    assert 'ALTER TABLE "t" ALTER COLUMN "b" DROP NOT NULL' in pg
    assert 'ALTER TABLE "t" ADD COLUMN "c" VARCHAR(5) NULL' in pg
    my = align_ddl(findings, src, dst, MY, MY.table_name("t"))
    assert "ALTER TABLE `t` MODIFY COLUMN `a` VARCHAR(20) NOT NULL" in my
    assert "ALTER TABLE `t` MODIFY COLUMN `b` DECIMAL(19,2) NULL" in my
    lite = align_ddl(findings, src, dst, LITE, LITE.table_name("t"))
    assert any(stmt.startswith("-- SQLite cannot alter") for stmt in lite)
    # a family change converts the values on PostgreSQL
    fam = compare_shapes(_shape("mysql", j=(ColumnType(TypeFamily.INTEGER, precision=31), True)),
                         _shape("postgresql", j=(ColumnType(TypeFamily.TEXT, length=9), True)), key=["id"])
    stmts = align_ddl(fam, _shape("mysql", j=(ColumnType(TypeFamily.INTEGER, precision=31), True)),
                      _shape("postgresql", j=(ColumnType(TypeFamily.TEXT, length=9), True)), PG, '"t"')
    assert stmts == ['ALTER TABLE "t" ALTER COLUMN "j" TYPE INTEGER USING "j"::INTEGER']


def test_oracle_ddl_mapping() -> None:
    ddl = """
    CREATE TABLE fp_fpxx (
      id NUMBER(19) NOT NULL, fphm VARCHAR2(20), mc VARCHAR2(100 CHAR), nm NVARCHAR2(10), je NUMBER(18,2),
      kprq DATE, gxsj TIMESTAMP(3), bz CLOB, old_note LONG, n NUMBER, f FLOAT(126), bf BINARY_FLOAT,
      i INTEGER, r RAW(16), tz TIMESTAMP WITH TIME ZONE,
      CONSTRAINT pk_fp PRIMARY KEY (id)
    );
    CREATE UNIQUE INDEX ux_fp ON fp_fpxx (fphm);
    """
    shape = parse_ddl(ddl, for_kind("oracle"))["fp_fpxx"]
    c = {n: col.type for n, col in shape.columns.items()}
    assert (c["fphm"].length, c["fphm"].length_unit, c["fphm"].chars_guaranteed()) == (20, "byte", 5)
    assert (c["mc"].length, c["mc"].length_unit) == (100, "char")
    assert c["nm"].length_unit == "char"
    assert (c["je"].family, c["je"].precision, c["je"].scale) == (TypeFamily.DECIMAL, 18, 2)
    assert (c["id"].precision, c["id"].scale) == (19, 0)
    assert (c["kprq"].family, c["kprq"].timestamp_precision) == (TypeFamily.TIMESTAMP, 0)   # DATE has a time
    assert c["gxsj"].timestamp_precision == 3
    assert c["tz"].timezone and c["tz"].timestamp_precision == 6
    assert c["bz"].family is TypeFamily.TEXT and c["bz"].length is None
    assert c["old_note"].family is TypeFamily.TEXT
    assert c["n"].precision is None and c["f"].family is TypeFamily.DECIMAL
    assert (c["bf"].family, c["bf"].precision) == (TypeFamily.FLOAT, 24)
    assert (c["i"].precision, c["i"].scale) == (38, 0)
    assert (c["r"].family, c["r"].length) == (TypeFamily.BINARY, 16)
    assert shape.primary_key == ["id"] and not shape.columns["id"].nullable
    assert ["fphm"] in shape.unique_keys


def test_mysql_and_postgresql_ddl_match_reflection() -> None:
    """A DDL file and the same table reflected give the same shape (the gate compares either)."""
    my = parse_ddl("CREATE TABLE t (id BIGINT PRIMARY KEY, a VARCHAR(10) CHARACTER SET latin1, b DECIMAL(18,2), "
                   "c DATETIME(3), d TINYINT(1), e TEXT) DEFAULT CHARSET=utf8mb4", MY)["t"]
    assert my.columns["a"].type.charset_bytes == 1 and my.columns["e"].type.charset_bytes == 4
    assert my.columns["d"].type.family is TypeFamily.BOOLEAN
    assert my.columns["c"].type == MY.describe_type(mysql.DATETIME(fsp=3)).__class__(
        TypeFamily.TIMESTAMP, timestamp_precision=3, declared=my.columns["c"].type.declared)
    pg = parse_ddl("CREATE TABLE s.t (id bigint, a varchar(10) NOT NULL, c timestamp, PRIMARY KEY (id), "
                   "UNIQUE (a))", PG)["t"]
    assert pg.columns["c"].type.timestamp_precision == 6
    assert not pg.columns["a"].nullable and pg.unique_keys == [["a"]]
    assert pg.columns["a"].type.to_dict() | {"declared": ""} == PG.describe_type(
        postgresql.VARCHAR(10)).to_dict() | {"declared": ""}


def test_snapshot_json_round_trip_and_hash() -> None:
    shape = _shape("mysql", a=(ColumnType(TypeFamily.DECIMAL, precision=18, scale=0, declared="DECIMAL(18,0)"), True))
    again = TableShape.from_dict(shape.to_dict())
    assert again.columns["a"].type.scale == 0      # zero is kept, not dropped as "unset"
    assert again.digest() == shape.digest()
    renamed = TableShape.from_dict({**shape.to_dict(), "table": "other"})
    assert renamed.digest() == shape.digest()
