"""Free SQL predicates are parsed, checked against an allow-list and rendered back (compare/predicate.py),
and the verifier's sessions cannot run a second statement (connect/engine.py), on real MariaDB and
PostgreSQL.

The two attacks measured before the rewrite: a PostgreSQL dollar quote that hid
``COMMIT; START TRANSACTION READ WRITE; DELETE FROM victim`` from the word scanner (the table was
emptied), and MariaDB double quotes with backslash escapes that hid ``SLEEP(3)`` (it ran per row).
Both must now exit 2 with one line on stderr, fast, with the victim table intact; and so must any
hostile string hypothesis builds, while predicates of the allowed grammar are accepted, run, and
render to SQL that sqlglot reads back to the same tree.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_helpers import admin

from syncverify.cli import main
from syncverify.compare import CompareSpec, TableRef
from syncverify.compare.levels import count_rows
from syncverify.compare.predicate import CheckedPredicate, check_predicate
from syncverify.connect.engine import make_engine
from syncverify.dialects import Dialect, MySQLDialect, PostgreSQLDialect, for_engine
from syncverify.errors import PredicateError, SyncverifyError
from syncverify.results import Outcome

BOUND_S = 5.0
VICTIM_ROWS = 3
PG_ATTACK = ("$q$'$q$ IS NOT NULL) ; COMMIT; START TRANSACTION READ WRITE; DELETE FROM victim; COMMIT; "
             "--$q$'$q$ = 'x'")
MARIADB_ATTACK = '"a\\"b" OR SLEEP(3) OR "c\\"d"'
FORBIDDEN_CALLS = [
    "SLEEP(3)", "pg_sleep(3)", "pg_sleep_for('3 seconds')", "pg_sleep_until('2999-01-01')",
    "pg_terminate_backend(1)", "set_config('default_transaction_read_only', 'off', false)",
    "GET_LOCK('sv', 3)", "LOAD_FILE('/etc/passwd')", "BENCHMARK(100000000, SHA2('x', 256))",
    "pg_read_file('/etc/passwd')", "lo_import('/etc/passwd')", "current_setting('is_superuser')",
    "version()", "RELEASE_LOCK('sv')", "pg_advisory_lock(1)", "dblink('x', 'DELETE FROM victim')",
]


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@dataclass
class Side:
    url: str
    engine: sa.Engine
    dialect: Dialect


def _tables(url: str) -> None:
    with admin(url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id INT PRIMARY KEY, v VARCHAR(20))"))
        c.execute(sa.text("INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')"))
        c.execute(sa.text("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40), n INT, d DATE)"))
        c.execute(sa.text("INSERT INTO t VALUES (1, 'abc', 10, '2024-01-05'), (2, 'x''y', NULL, '2024-02-29'), "
                          "(3, NULL, -3, NULL), (4, 'a:b;c', 0, '2023-12-31')"))


@pytest.fixture(scope="module")
def sides(mariadb_module_url: str, postgres_module_url: str) -> Iterator[dict[str, Side]]:
    out = {}
    for name, url in (("mariadb", mariadb_module_url), ("postgresql", postgres_module_url)):
        _tables(url)
        engine = make_engine(url, statement_timeout_s=BOUND_S, name=name)
        with engine.connect():
            pass                              # first connection: MySQL engines learn "MariaDB"
        out[name] = Side(url, engine, for_engine(engine))
    yield out
    for side in out.values():
        side.engine.dispose()


def _victim_rows(side: Side) -> int:
    with admin(side.url).connect() as c:
        return int(c.execute(sa.text("SELECT COUNT(*) FROM victim")).scalar_one())


def _round_trips(checked: CheckedPredicate, dialect: Dialect) -> None:
    """The rendered SQL reads back (sqlglot, same dialect) to the same tree and writes the same text."""
    tree = sqlglot.parse_one(checked.sql, read=dialect.sqlglot_dialect)
    assert tree == checked.tree, (checked.sql, repr(tree), repr(checked.tree))
    assert tree.sql(dialect=dialect.sqlglot_dialect) == checked.sql


def _run(side: Side, predicate: str) -> tuple[CheckedPredicate | None, float]:
    """Check the predicate for this database and, when accepted, count through it on the real
    server (both sides: the verifier's whole path). Returns the check and the seconds taken."""
    started = time.perf_counter()
    try:
        checked = check_predicate(predicate, "--where", side.dialect)
    except PredicateError as exc:
        assert str(exc).startswith("--where: ") and "\n" not in str(exc)
        return None, time.perf_counter() - started
    if checked is not None:
        _round_trips(checked, side.dialect)
        ref = TableRef(side.engine, "t")
        with contextlib.suppress(SyncverifyError):       # e.g. an unknown column: the server said no
            count_rows(ref, ref, CompareSpec(key=["id"], where=predicate))
    return checked, time.perf_counter() - started


# -- hostile strings ---------------------------------------------------------------------------

_FRAGMENTS = [
    "v = 'x'", "id = 1", " OR ", " AND ", " NOT ", "(", ")", "'", "''", '"', '\\"', "\\", "\\'", "`", "$q$", "$$", "$1",
    ";", " ; ", "--", "/*", "*/", "#", "\n", "‘", "’", "＇", "“", "”", "ʼ", " COMMIT", " START TRANSACTION READ WRITE",
    " DELETE FROM victim", " DROP TABLE victim", " SELECT 1", " UNION SELECT 1", " IS NOT NULL", " = ", "1=1",
    "E'", "@x", "@@version", "?", ":p", "%s", " victim.id", " IN (SELECT id FROM victim)", " INTO OUTFILE '/tmp/x'",
    *(f" {call}" for call in FORBIDDEN_CALLS),
]
_hostile = st.one_of(
    st.sampled_from([PG_ATTACK, MARIADB_ATTACK, *(f"{c} IS NULL" for c in FORBIDDEN_CALLS),
                     *(f"v = 'x' OR {c} = 0" for c in FORBIDDEN_CALLS)]),
    st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=8).map("".join),
    st.text(alphabet=st.sampled_from(list("v=' \"\\$q;-/*#()`‘’ORSLEP(3)x1")), min_size=1, max_size=30),
)


@pytest.mark.mariadb
@pytest.mark.postgres
@_settings(60)
@given(predicate=_hostile)
def test_hostile_predicates_never_write_and_never_stall(sides: dict[str, Side], predicate: str) -> None:
    for side in sides.values():
        checked, seconds = _run(side, predicate)
        assert seconds < BOUND_S, (side.dialect.name, predicate, seconds)
        if checked is not None:
            # Whatever got through is plain SQL of the allow-list: no statement, call or comment.
            low = checked.sql.lower()
            assert not any(w in low for w in ("sleep(", "get_lock(", "load_file(", "set_config(", "select "))
        assert _victim_rows(side) == VICTIM_ROWS, (side.dialect.name, predicate)


# -- valid predicates from the allowed grammar -------------------------------------------------

_TEXT_CHARS = list("abcxy AZ019_%'\";:-/*#$`‘’中文\n")


def _string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


_str_lit = st.text(alphabet=st.sampled_from(_TEXT_CHARS), max_size=8).map(_string)
_int_lit = st.integers(-1000, 1000).map(str)
_num_expr = st.recursive(
    st.one_of(st.sampled_from(["id", "n"]), _int_lit, st.just("LENGTH(v)"), st.just("EXTRACT(YEAR FROM d)")),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"COALESCE({t[0]}, {t[1]})"),
        inner.map(lambda e: f"CAST({e} AS DECIMAL(12, 2))"),
    ), max_leaves=4)
_text_expr = st.one_of(
    st.just("v"), _str_lit,
    st.sampled_from(["UPPER(v)", "LOWER(v)", "TRIM(v)", "LTRIM(v)", "RTRIM(v)", "SUBSTRING(v, 1, 2)", "SUBSTR(v, 2)",
                     "LEFT(v, 2)", "RIGHT(v, 1)", "COALESCE(v, 'none')"]),
)
_comparison = st.one_of(
    st.tuples(_num_expr, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), _num_expr).map(" ".join),
    st.tuples(_text_expr, st.sampled_from(["=", "<>", "<"]), _text_expr).map(" ".join),
    st.tuples(_text_expr, st.sampled_from(["LIKE", "NOT LIKE"]), _str_lit).map(" ".join),
    st.tuples(st.sampled_from(["v", "n", "d", "id"]), st.sampled_from(["IS NULL", "IS NOT NULL"])).map(" ".join),
    st.lists(_int_lit, min_size=1, max_size=4).map(lambda xs: f"id IN ({', '.join(xs)})"),
    st.lists(_str_lit, min_size=1, max_size=3).map(lambda xs: f"v NOT IN ({', '.join(xs)})"),
    st.tuples(_num_expr, _int_lit, _int_lit).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    st.sampled_from(["d >= DATE '2024-01-01'", "d < DATE '2024-03-01'", "CASE WHEN n > 0 THEN 1 ELSE 0 END = 1"]),
)
_valid = st.recursive(
    _comparison,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        inner.map(lambda e: f"NOT ({e})"),
    ), max_leaves=4)


@pytest.mark.mariadb
@pytest.mark.postgres
@_settings(40)
@given(predicate=_valid)
def test_allowed_predicates_are_accepted_round_trip_and_run(sides: dict[str, Side], predicate: str) -> None:
    for side in sides.values():
        checked = check_predicate(predicate, "--where", side.dialect)
        assert checked is not None
        _round_trips(checked, side.dialect)
        started = time.perf_counter()
        ref = TableRef(side.engine, "t")
        result = count_rows(ref, ref, CompareSpec(key=["id"], where=predicate))
        assert result.outcome is Outcome.CONSISTENT, (side.dialect.name, predicate, checked.sql, result.error)
        assert time.perf_counter() - started < BOUND_S
        assert _victim_rows(side) == VICTIM_ROWS


def test_literals_keep_their_value_on_each_dialect() -> None:
    """A literal's characters arrive as written: quotes doubled, backslashes escaped for MySQL and
    plain for PostgreSQL (standard strings, set at connect), nothing becoming syntax."""
    pg = check_predicate("v = 'it''s -- a; b /* c */ \\'", "p", PostgreSQLDialect())
    my = check_predicate("v = 'it''s -- a; b /* c */ \\\\'", "p", MySQLDialect())
    assert pg is not None and my is not None
    for checked in (pg, my):
        literal = checked.tree.find(sqlglot.exp.Literal)
        assert literal is not None and literal.this == "it's -- a; b /* c */ \\"


# -- the measured attacks, through the CLI -----------------------------------------------------

def _pg_cli_victim(url: str) -> None:
    with admin(url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id bigint PRIMARY KEY, v text)"))
        c.execute(sa.text("INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')"))


@pytest.mark.postgres
def test_cli_pg_dollar_quote_commit_attack_refused(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _pg_cli_victim(postgres_url)
    started = time.perf_counter()
    code = main(["diff", postgres_url, postgres_url, "--table", "victim", "--key", "id", "--source-where", PG_ATTACK])
    assert code == 2 and time.perf_counter() - started < BOUND_S
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--source-where" in err[0] and "';' is not allowed" in err[0], err
    with admin(postgres_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == VICTIM_ROWS


@pytest.mark.mariadb
def test_cli_mariadb_backslash_double_quote_sleep_refused(mariadb_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with admin(mariadb_url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id INT PRIMARY KEY, v VARCHAR(9))"))
        c.execute(sa.text("INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')"))
    started = time.perf_counter()
    code = main(["diff", mariadb_url, mariadb_url, "--table", "victim", "--key", "id", "--where", MARIADB_ATTACK])
    assert code == 2 and time.perf_counter() - started < 3.0      # SLEEP(3) per row would take 9 s or more
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["syncverify: error: --where: function SLEEP is not allowed"], err
    with admin(mariadb_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == VICTIM_ROWS


@pytest.mark.parametrize("call", FORBIDDEN_CALLS)
def test_every_forbidden_function_is_refused_by_name(call: str) -> None:
    name = call.split("(")[0].upper()
    for dialect in (PostgreSQLDialect(), MySQLDialect()):
        with pytest.raises(PredicateError) as info:
            check_predicate(f"v = 'x' OR {call} IS NULL", "--where", dialect)
        assert f"function {name} is not allowed" in str(info.value) or name in str(info.value), str(info.value)


@pytest.mark.parametrize("predicate,named", [
    ("id IN (SELECT id FROM victim)", "subqueries"), ("EXISTS (SELECT 1)", "subqueries"),
    ("(SELECT COUNT(*) FROM victim) > 0", "subqueries"), ("victim.id = 1", "names a table"),
    ("id = 1 -- x", "comments"), ("id = 1 /* x */", "comments"), ("id = 1;", "';'"),
    ("id = 1; DELETE FROM victim", "';'"), ("id = ?", "placeholders"), ("id = 1 +", "not one boolean expression"),
    ("id + 1", "not a boolean expression"), ("id IN (1, n)", "literals only"), ("id = 'a\x00'", "NUL"),
])
def test_refusals_name_the_construct(predicate: str, named: str) -> None:
    for dialect in (PostgreSQLDialect(), MySQLDialect()):
        with pytest.raises(PredicateError) as info:
            check_predicate(predicate, "--where", dialect)
        message = str(info.value)
        assert message.startswith("--where: ") and named in message and "\n" not in message, message


# -- session hardening ---------------------------------------------------------------------------

@pytest.mark.postgres
def test_pg_verifier_session_refuses_write_after_commit(postgres_url: str) -> None:
    _pg_cli_victim(postgres_url)
    engine = make_engine(postgres_url, name="verifier")
    try:
        with engine.connect() as conn:
            for send in (lambda sql: conn.execute(sa.text(sql)), conn.exec_driver_sql):
                with pytest.raises(SyncverifyError, match="several statements"):
                    send("SELECT 1; COMMIT; START TRANSACTION READ WRITE; DELETE FROM victim; COMMIT")
            assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
        # Below SQLAlchemy, the server itself: read-only from the startup packet, so a COMMIT in
        # the text only starts another read-only transaction.
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("COMMIT")
            with pytest.raises(Exception, match="read-only transaction"):
                cursor.execute("DELETE FROM victim")
        finally:
            raw.close()
    finally:
        engine.dispose()
    with admin(postgres_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == VICTIM_ROWS


@pytest.mark.mariadb
def test_mariadb_verifier_session_refuses_two_statements(mariadb_url: str) -> None:
    with admin(mariadb_url).connect() as c:
        c.execute(sa.text("CREATE TABLE victim (id INT PRIMARY KEY)"))
        c.execute(sa.text("INSERT INTO victim VALUES (1), (2), (3)"))
    # Even a URL that asks for CLIENT_MULTI_STATEMENTS (1 << 16) gets a session without it.
    url = sa.engine.make_url(mariadb_url).update_query_dict({"client_flag": str(1 << 16)})
    engine = make_engine(url.render_as_string(hide_password=False), name="verifier")
    try:
        with engine.connect() as conn:
            assert not conn.connection.dbapi_connection.client_flag & (1 << 16)
            with pytest.raises(sa.exc.ProgrammingError, match="1064"):
                conn.exec_driver_sql("SELECT 1; DELETE FROM victim")
    finally:
        engine.dispose()
    with admin(mariadb_url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM victim")).scalar() == VICTIM_ROWS


@pytest.mark.mariadb
@pytest.mark.postgres
def test_writable_engine_stays_writable(mariadb_url: str, postgres_url: str) -> None:
    """``tickets apply`` asks for read_only=False: the hardening must not make it read-only."""
    for url in (mariadb_url, postgres_url):
        with admin(url).connect() as c:
            c.execute(sa.text("CREATE TABLE w (id INT PRIMARY KEY)"))
        engine = make_engine(url, read_only=False, name="repair")
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO w VALUES (1)"))
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT COUNT(*) FROM w")).scalar() == 1
        finally:
            engine.dispose()
