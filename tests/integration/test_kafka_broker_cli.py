"""The local broker launcher and the ``syncverify kafka`` command against the real broker."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient

from syncverify.cli import main
from syncverify.kafka import BrokerStartError, LocalBroker, commit_group_offsets, produce_json
from syncverify.kafka.broker import BINARY_ENV

DAY = datetime(2026, 3, 1)


@pytest.mark.kafka
def test_local_broker_starts_on_a_free_port_and_stops() -> None:
    with LocalBroker.start() as broker:
        host, port = broker.bootstrap.split(":")
        assert host == "127.0.0.1" and int(port) > 0 and broker.running
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=5)
        assert metadata.brokers
    assert not broker.running


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(BINARY_ENV, str(tmp_path / "no-tansu"))
    with pytest.raises(BrokerStartError, match="no-tansu"):
        LocalBroker.start()


@pytest.mark.kafka
def test_cli_backlog_keys_and_volume(kafka_broker: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    topic = f"svt_cli_{uuid.uuid4().hex[:8]}"
    rows = [{"fpdm": "145000000000", "fphm": f"{i:08d}", "kprq": DAY + timedelta(minutes=i),
             "gmfnsrsbh": "91450100MA5K8X2Q3D"} for i in range(200)]
    produce_json(kafka_broker, topic, rows, ["fpdm", "fphm"], partitions=2, timestamp_field="kprq")
    commit_group_offsets(kafka_broker, topic, "cli-group", lag=4)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE fp (fpdm VARCHAR(12), fphm VARCHAR(8), kprq TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO fp VALUES (:fpdm, :fphm, :kprq)"),
                     [{"fpdm": r["fpdm"], "fphm": r["fphm"], "kprq": r["kprq"]} for r in rows if r["fphm"] != "00000042"])
    engine.dispose()
    common = ["--bootstrap", kafka_broker, "--topic", topic, "--kafka-config", "sasl.password=never-shown"]

    assert main(["kafka", "backlog", *common, "--group", "cli-group", "--threshold", "5"]) == 1
    out = capsys.readouterr().out
    assert "total backlog 8" in out and "never-shown" not in out

    db = ["--window", "2026-03-01", "2026-03-02", "--db-url", sqlite_url, "--table", "fp",
          "--key", "fpdm,fphm", "--window-column", "kprq"]
    assert main(["kafka", "keys", *common, *db, "--key-path", "fpdm,fphm", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "kafka_keys" and data["missing_keys"] == [["145000000000", "00000042"]]

    assert main(["kafka", "volume", *common, *db]) == 1
    assert "missing in target: 1" in capsys.readouterr().out

    assert main(["kafka", "backlog", "--bootstrap", "127.0.0.1:9", "--topic", topic, "--group", "g",
                 "--timeout", "2"]) == 2
    assert "did not answer" in capsys.readouterr().err
