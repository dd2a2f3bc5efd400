"""Consumer health over offset snapshots, on the real broker (Tansu): a group that stops
committing while producers go on is stuck within two snapshots; one that catches up is not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from syncverify.kafka import KafkaSource, Labels, check_backlog, commit_group_offsets, produce_json
from syncverify.kafka.health import apply_health, history
from syncverify.results import Outcome
from syncverify.store import Store

T0 = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)


def _batch(start: int, n: int) -> list[dict[str, object]]:
    return [{"fphm": f"{i:08d}", "je": "1.00"} for i in range(start, start + n)]


def _snapshot(store: Store, bootstrap: str, topic: str, group: str, at: datetime):
    result = check_backlog(KafkaSource(bootstrap, topic, timeout_s=20), group, threshold=1_000,
                           labels=Labels(link_id="YP-ENTRY", table="yp_ypxx"))
    assert result.outcome is not Outcome.NOT_RUN, result.error
    apply_health(store, result, at, run_id=f"test-{at:%H%M}")
    return result


def test_stuck_group_is_reported_within_two_snapshots_and_a_catching_up_one_is_not(kafka_broker: str,
                                                                                   tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    topic = f"svt_health_{uuid.uuid4().hex[:8]}"
    stuck, healthy = f"stuck-{uuid.uuid4().hex[:6]}", f"healthy-{uuid.uuid4().hex[:6]}"
    produce_json(kafka_broker, topic, _batch(0, 30), ["fphm"], partitions=3)
    commit_group_offsets(kafka_broker, topic, stuck)              # both consumed everything so far
    commit_group_offsets(kafka_broker, topic, healthy)
    first = _snapshot(store, kafka_broker, topic, stuck, T0)
    _snapshot(store, kafka_broker, topic, healthy, T0)
    assert first.outcome is Outcome.CONSISTENT and not first.details["health"]["stuck"]

    # Producers go on; the stuck group commits nothing more, the healthy one catches up.
    produce_json(kafka_broker, topic, _batch(30, 30), ["fphm"], partitions=3)
    commit_group_offsets(kafka_broker, topic, healthy)
    second = _snapshot(store, kafka_broker, topic, stuck, T0 + timedelta(hours=1))
    caught_up = _snapshot(store, kafka_broker, topic, healthy, T0 + timedelta(hours=1))

    # The lag (30) is far under the threshold of 1,000: only the history shows the group stuck.
    assert second.details["total_lag"] == 30 and second.details["total_lag"] < second.details["threshold"]
    assert second.outcome is Outcome.INCONSISTENT and second.details["stuck"] is True
    stuck_parts = second.details["health"]["stuck"]
    assert {p["partition"] for p in stuck_parts} == {p["partition"] for p in second.details["partitions"]
                                                     if p["lag"] > 0}
    assert all(p["snapshots"] == 2 and p["end_offset_to"] > p["end_offset_from"] for p in stuck_parts)
    assert "has not advanced across 2 snapshots" in second.details["health"]["findings"][0]

    assert caught_up.outcome is Outcome.CONSISTENT
    assert caught_up.details["health"]["stuck"] == [] and caught_up.details["total_lag"] == 0

    # The snapshots are in the store: two rounds of every partition per group.
    assert len({s.taken_at for s in history(store, stuck, topic)}) == 2
    assert len(history(store, healthy, topic)) == 2 * len(second.details["partitions"])
