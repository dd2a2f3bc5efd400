"""Node -> connection resolution: Airflow connection, environment, profile; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ROOT
from syncverify.connect import resolve
from syncverify.errors import ConnectionConfigError


@pytest.fixture(autouse=True)
def _fresh_cache():
    resolve.dispose_engines()
    yield
    resolve.dispose_engines()


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_embedded_profile_resolves_every_catalog_node(monkeypatch, tmp_path) -> None:
    from syncverify.catalog import load_catalog

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SYNCVERIFY_HOME", str(tmp_path))
    for node in load_catalog("checks").nodes.values():
        conn = resolve.resolve_node(node.id, profile="embedded")
        assert conn.url and conn.url.startswith(f"sqlite:///{tmp_path}/world/")
        assert conn.storage == ("tables" if node.is_kafka else "database")


def test_env_beats_profile_and_interpolation(monkeypatch, tmp_path) -> None:
    path = _profile(tmp_path, 'nodes:\n  gx.query_db: {url: "mysql+pymysql://r:${PW}@db:3306/q", max_concurrency: 2}\n'
                              '  gx.kafka: {bootstrap: "${BOOT:-k1:9092}", config: {sasl.password: "${KPW}"}}\n')
    monkeypatch.setenv("PW", "Very$ecret1")
    monkeypatch.setenv("KPW", "KafkaSecret9")
    conn = resolve.resolve_node("gx.query_db", profile=path)
    assert conn.url == "mysql+pymysql://r:Very$ecret1@db:3306/q" and conn.options["max_concurrency"] == 2
    assert "Very$ecret1" not in repr(conn) and "Very$ecret1" not in conn.describe()
    kafka = resolve.resolve_node("gx.kafka", profile=path)
    assert kafka.is_kafka_broker and kafka.bootstrap == "k1:9092"
    assert kafka.kafka_config == {"sasl.password": "KafkaSecret9"} and "KafkaSecret9" not in repr(kafka)
    monkeypatch.setenv("SYNCVERIFY_CONN_GX_QUERY_DB", "postgresql+psycopg2://x@h/db")
    assert resolve.resolve_node("gx.query_db", profile=path).source == "env"


def test_airflow_connection_takes_precedence(monkeypatch, tmp_path) -> None:
    path = _profile(tmp_path, 'nodes:\n  gx.query_db: {url: "sqlite:///x.sqlite"}\n')
    monkeypatch.setenv("AIRFLOW_CONN_GX_QUERY_DB", "mysql://reader:AfPass77@10.0.0.5:3306/fpcx")
    conn = resolve.resolve_node("gx.query_db", profile=path)
    assert conn.source == "airflow"
    assert conn.url == "mysql+pymysql://reader:AfPass77@10.0.0.5:3306/fpcx"
    assert "AfPass77" not in conn.describe()


def test_missing_variable_and_node_are_clear(monkeypatch, tmp_path) -> None:
    path = _profile(tmp_path, 'nodes:\n  gx.query_db: {url: "mysql+pymysql://r:${NOT_SET_X}@db/q"}\n')
    monkeypatch.delenv("NOT_SET_X", raising=False)
    with pytest.raises(ConnectionConfigError, match="NOT_SET_X is not set"):
        resolve.resolve_node("gx.query_db", profile=path)
    with pytest.raises(ConnectionConfigError, match=r"no connection for node 'gx.kb'.*SYNCVERIFY_CONN_GX_KB"):
        resolve.resolve_node("gx.kb", profile=path)
    with pytest.raises(ConnectionConfigError, match="does not exist"):
        resolve.resolve_node("gx.kb", profile=tmp_path / "nope.yaml")


def test_production_example_lists_secrets_only_as_variables() -> None:
    text = (ROOT / "connections" / "production.example.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if "password" in line.lower() or "@" in line:
            assert "${" in line or line.strip().startswith("#")
