"""Consumer backlog (积压): per partition, the end offset minus the group's committed offset."""

from __future__ import annotations

from typing import Any

from syncverify.kafka.client import KafkaSource, kafka_error_text, partitions_of
from syncverify.kafka.labels import Labels
from syncverify.kafka.offsets import committed_offsets, watermarks
from syncverify.results import CheckKind, CheckResult, Outcome


def check_backlog(source: KafkaSource, group: str, *, threshold: int = 0,
                  labels: Labels = Labels()) -> CheckResult:
    """Backlog of consumer group ``group`` on ``source.topic``.

    ``details["partitions"]`` lists ``partition``, ``end_offset``, ``committed`` (None when the
    group never committed there: everything retained counts as backlog) and ``lag``;
    ``details["total_lag"]`` sums them. The result is an anomaly when the total exceeds
    ``threshold``. An unreachable cluster or a missing topic gives a "not run" result.
    """
    consumer = source.consumer()
    try:
        partitions = partitions_of(source, consumer)
        marks = {p: watermarks(source, consumer, p) for p in partitions}
        committed = committed_offsets(source, group, partitions)
    except Exception as exc:  # recorded as "not run"
        return labels.not_run(CheckKind.KAFKA_BACKLOG, source.topic, kafka_error_text(exc, source),
                              details={"group": group, "topic": source.topic})
    finally:
        consumer.close()
    rows: list[dict[str, Any]] = []
    for p in partitions:
        done = committed.get(p)
        start = marks[p].low if done is None else max(done, marks[p].low)
        rows.append({"partition": p, "end_offset": marks[p].high, "committed": done,
                     "lag": max(0, marks[p].high - start)})
    total = sum(r["lag"] for r in rows)
    result = labels.result(CheckKind.KAFKA_BACKLOG, source.topic, details={
        "group": group, "topic": source.topic, "partitions": rows, "total_lag": total,
        "threshold": threshold, "storage": "kafka"})
    result.source_rows = sum(m.high - m.low for m in marks.values())
    result.finish()
    # Backlog is not a key difference: the outcome comes from the threshold.
    result.outcome = Outcome.INCONSISTENT if total > threshold else Outcome.CONSISTENT
    return result
