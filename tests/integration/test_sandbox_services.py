"""The sandbox world on the real servers: PostgreSQL for HQ nodes, MariaDB for the province's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service_support import MARIADB_ADMIN_URL, POSTGRES_ADMIN_URL, service_unavailable
from syncverify.catalog import load_catalog
from syncverify.connect.resolve import resolve_node
from syncverify.errors import UnreachableError
from syncverify.sandbox import World, build_world, drop_world, land_in_flight
from syncverify.sandbox.check import expected_differences, observed_differences, world_differences
from syncverify.sandbox.storage import ServicesBackend, StorageError

CATALOG = load_catalog("checks")
pytestmark = [pytest.mark.mariadb, pytest.mark.postgres]


@pytest.fixture(scope="module")
def services_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    prefix = f"svw_t{uuid.uuid4().hex[:6]}_"
    options = {"db_prefix": prefix, "postgres_url": POSTGRES_ADMIN_URL,
               "mariadb_url": MARIADB_ADMIN_URL + ("&" if "?" in MARIADB_ADMIN_URL else "?") + "charset=utf8mb4"}
    try:
        world = build_world(tmp_path_factory.mktemp("services"), backend="services", scale=0.03, seed=5,
                            logs=False, **options)
    except UnreachableError as exc:
        service_unavailable("MariaDB/PostgreSQL for the services sandbox", exc)
    try:
        yield world
    finally:
        drop_world(world, **options)


def test_nodes_live_on_the_server_of_their_kind(services_world: World) -> None:
    for node_id, url in services_world.node_urls.items():
        node = CATALOG.node(node_id)
        expect = {"postgresql": "postgresql", "mysql": "mysql"}.get(node.kind.value)
        if node.is_kafka:
            expect = "postgresql" if node.side.value == "hq" else "mysql"
        assert url.startswith(expect), (node_id, url)
        assert sa.engine.make_url(url).database == f"{services_world.manifest['db_prefix']}{node_id.replace('.', '_')}"
    kafka = resolve_node("hq.clearing_kafka", profile=services_world.connections)
    assert kafka.storage == "tables"


def test_services_world_differs_exactly_by_the_manifest(services_world: World) -> None:
    before = observed_differences(world_differences(CATALOG, services_world.node_urls))
    assert before == expected_differences(services_world.manifest, landed=False)
    assert land_in_flight(services_world) > 0
    after = observed_differences(world_differences(CATALOG, services_world.node_urls))
    assert after == expected_differences(services_world.manifest, landed=True)


def test_null_and_empty_text_and_trailing_spaces_survive(services_world: World) -> None:
    engine = sa.create_engine(services_world.node_urls["gx.query_db"])      # MariaDB
    try:
        with engine.connect() as conn:
            kinds = dict(conn.execute(sa.text(
                "SELECT CASE WHEN bz IS NULL THEN 'null' WHEN bz = BINARY '' THEN 'empty' "
                "WHEN CHAR_LENGTH(bz) <> CHAR_LENGTH(TRIM(TRAILING ' ' FROM bz)) THEN 'trailing' "
                "ELSE 'text' END AS k, COUNT(*) FROM fp_fpxx GROUP BY k")).all())
    finally:
        engine.dispose()
    assert all(kinds.get(k, 0) > 0 for k in ("null", "empty", "trailing", "text")), kinds


def test_bad_prefix_and_unreachable_server_are_named(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="prefix"):
        ServicesBackend(db_prefix="bad-prefix;")
    with pytest.raises(UnreachableError, match="not reachable"):
        build_world(tmp_path, backend="services", scale=0.01, logs=False, db_prefix="svw_tx_",
                    postgres_url="postgresql+psycopg2://postgres@127.0.0.1:1/postgres")
