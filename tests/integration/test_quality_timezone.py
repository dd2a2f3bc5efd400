"""A quality window on a time-zone-sensitive TIMESTAMP column is the bureau's day on every path.

The rows lie around the bureau's (Asia/Shanghai) day boundaries, ``23:59:59.999999`` and
``00:00:00`` local time. The servers' own zone is UTC (PostgreSQL: set on the test database;
MariaDB: the server's default, checked first), so a session without the dialect's session
settings reads the window eight hours late and counts other rows. GX builds its own engine from
the URL: its window count must come from sessions with the same settings as the row count's.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncverify.connect.engine import make_engine
from syncverify.dialects import for_engine
from syncverify.quality import SuiteStatus, run_suite
from syncverify.quality.runner import DEFAULT_STATEMENT_TIMEOUT_S, _connect_args

# Local (bureau) times; the window is 2 October, local.
ROWS = [
    (1, "2026-10-01 23:59:59.999999"),   # the day before, by a microsecond
    (2, "2026-10-02 00:00:00"),          # the window's first instant
    (3, "2026-10-02 05:00:00"),          # before 08:00 local: a UTC session puts it before the window
    (4, "2026-10-02 23:59:59.999999"),   # the window's last microsecond
    (5, "2026-10-03 00:00:00"),          # the next day: a UTC session counts it
]
WINDOW = (datetime(2026, 10, 2), datetime(2026, 10, 3))
IN_WINDOW = 3                            # rows 2, 3, 4
IN_UTC_READING = 2                       # rows 4 and 5: what a session in UTC would count

COLUMN_TYPE = {"mysql": "TIMESTAMP(6) NULL", "postgresql": "TIMESTAMP(6) WITH TIME ZONE"}


def _suite(tmp_path: Path) -> Path:
    path = tmp_path / "tz_window.json"
    path.write_text(json.dumps({
        "suite": "tz_window", "table": "tz_rows", "window_column": "kprq", "key": ["id"],
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "kprq"},
                          "meta": {"rule": "time present"}}],
    }), encoding="utf-8")
    return path


def _load(url: str) -> None:
    """The rows, written through a product session (bureau time zone) so that each stored
    instant is the local time above."""
    writer = make_engine(url, read_only=False)
    try:
        with writer.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE tz_rows (id INTEGER PRIMARY KEY, "
                                 f"kprq {COLUMN_TYPE[writer.dialect.name]})"))
            for key, local in ROWS:
                conn.execute(sa.text("INSERT INTO tz_rows (id, kprq) VALUES (:k, :t)"), {"k": key, "t": local})
    finally:
        writer.dispose()


def _plain_session_count(url: str) -> int:
    """The window counted by a session with the server's defaults (no session settings)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT COUNT(*) FROM tz_rows WHERE kprq >= '2026-10-02 00:00:00' "
                "AND kprq < '2026-10-03 00:00:00'")).scalar_one())
    finally:
        engine.dispose()


def _check(url: str, tmp_path: Path) -> None:
    _load(url)
    # The premise: the server's default zone is not the bureau's, so the bug would bite.
    assert _plain_session_count(url) == IN_UTC_READING
    suite = _suite(tmp_path)
    product_engine = make_engine(url)           # how the runner's quality job connects
    try:
        for target in (product_engine, url):    # an engine, or a URL (the quality command)
            result = run_suite(target, None, suite, window=WINDOW, sample_keys=0)
            assert result.status is SuiteStatus.PASSED, result.error
            assert result.row_count == IN_WINDOW
            [expectation] = result.expectations
            # GX's own count of the rows its row condition (the window) selects.
            assert expectation.element_count == IN_WINDOW, (
                f"GX counted {expectation.element_count} rows in the window, the row count is {result.row_count}")
    finally:
        product_engine.dispose()


@pytest.mark.mariadb
def test_gx_window_count_matches_row_count_on_mariadb(mariadb_url: str, tmp_path: Path) -> None:
    _check(mariadb_url, tmp_path)


@pytest.mark.postgres
def test_gx_window_count_matches_row_count_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET TimeZone = \'UTC\''))
    finally:
        admin.dispose()
    _check(postgres_url, tmp_path)


SETTINGS = {
    "mysql": "SELECT @@session.time_zone, @@session.tx_read_only, @@session.max_statement_time, "
             "@@session.character_set_client, @@session.character_set_results, @@session.collation_connection",
    "postgresql": "SELECT current_setting('TimeZone'), current_setting('DateStyle'), "
                  "current_setting('statement_timeout'), current_setting('default_transaction_read_only'), "
                  "current_setting('work_mem'), current_setting('jit'), current_setting('parallel_setup_cost'), "
                  "current_setting('parallel_tuple_cost'), current_setting('client_encoding'), "
                  "current_setting('standard_conforming_strings')",
}


def _same_settings(url: str) -> None:
    """A GX session (an engine from the URL and the runner's create_engine arguments, as GX
    builds it) has exactly the settings of a product session (connect.engine)."""
    product = make_engine(url, statement_timeout_s=DEFAULT_STATEMENT_TIMEOUT_S)
    try:
        with product.connect() as conn:
            query = sa.text(SETTINGS[product.dialect.name])
            ours = tuple(conn.execute(query).one())
            server = for_engine(product).server_version(conn.connection.dbapi_connection)
        gx_like = sa.create_engine(url, connect_args=_connect_args(product.dialect, DEFAULT_STATEMENT_TIMEOUT_S, server))
        try:
            with gx_like.connect() as conn:
                theirs = tuple(conn.execute(query).one())
        finally:
            gx_like.dispose()
    finally:
        product.dispose()
    assert server and theirs == ours


@pytest.mark.mariadb
def test_gx_sessions_have_the_product_session_settings_on_mariadb(mariadb_url: str) -> None:
    _same_settings(mariadb_url)


@pytest.mark.postgres
def test_gx_sessions_have_the_product_session_settings_on_postgres(postgres_url: str) -> None:
    _same_settings(postgres_url)
