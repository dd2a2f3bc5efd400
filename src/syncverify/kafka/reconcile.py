"""Key reconciliation: the keys of a window's messages against the keys landed in a database.

The messages of the window are read once (``assign()``, explicit offsets), decoded, filtered by
the routing predicate of the hop (clearing hops: only the messages that must land in this
province copy) and their keys spilled to hash-partitioned files; the database's keys for the
window are streamed through a server-side cursor into the same partitioning; then each bucket
pair is diffed in memory. Memory is bounded by the bucket size whatever the window holds.

For a consumer hop the topic is the source: ``missing`` are messages whose key never landed,
``extra`` are rows with no message in the window (for a routed copy: also rows that must not be
in this copy at all — a wrong-province delivery). For a producer hop the database is the source.
``duplicate`` counts keys carried by more than one message of the window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncverify.errors import SyncverifyError
from syncverify.kafka.client import KafkaSource, kafka_error_text
from syncverify.kafka.dbside import DbSide
from syncverify.kafka.keys import decode_key, message_key, parse_key_paths, row_key
from syncverify.kafka.labels import Labels
from syncverify.kafka.spill import (
    DEFAULT_BUCKET_KEYS,
    KeySpill,
    SpillDirectory,
    buckets_for,
    diff_spills,
)
from syncverify.kafka.volume import Direction, as_window
from syncverify.kafka.window import Routing, ScanStats, Window, scan_window, window_offsets
from syncverify.results import KEY_SAMPLE_CAP, CheckKind, CheckResult

UNKEYED_SAMPLE_CAP = 20


def check_keys(source: KafkaSource, db: DbSide, window: Window | tuple[datetime, datetime], *,
               key_path: str | Sequence[str], direction: Direction = "consumer",
               routing: Routing | None = None, window_field: str | None = None,
               slack: timedelta = timedelta(0), bucket_keys: int = DEFAULT_BUCKET_KEYS,
               spill_dir: str | Path | None = None, cap: int = KEY_SAMPLE_CAP,
               labels: Labels = Labels()) -> CheckResult:
    """Reconcile the keys of ``window``'s messages with ``db``'s keys in the same window.

    ``key_path`` names the key inside the JSON value (``"fphm"``, ``"data.fphm"``, or a list for
    a composite key; ``db.key_columns`` are the matching columns in the same order).
    ``routing`` takes the decoded message and says whether it belongs to this target; ``db.where``
    restricts the database side. ``window_field`` windows messages by a JSON field (the business
    time the database's window column holds) instead of the Kafka timestamp, reading offsets
    ``slack`` beyond the window. Counts are exact, key lists capped at ``cap``.
    """
    win = as_window(window)
    paths = parse_key_paths(key_path)
    composite = len(paths) > 1
    if db.key_columns and len(db.key_columns) != len(paths):
        raise SyncverifyError(f"key path {['.'.join(p) for p in paths]} has {len(paths)} fields but "
                              f"{db.describe()} has key columns {list(db.key_columns)}")
    base: dict[str, Any] = {"window_start": win.start, "window_end": win.end}
    started = time.monotonic()
    consumer = source.consumer()
    try:
        try:
            offsets = window_offsets(source, consumer, win, slack if window_field else timedelta(0))
        except Exception as exc:  # recorded as "not run"
            return labels.not_run(CheckKind.KAFKA_KEYS, source.topic, kafka_error_text(exc, source), **base)
        try:
            db_rows = db.count((win.start, win.end))
        except SyncverifyError as exc:
            return labels.not_run(CheckKind.KAFKA_KEYS, source.topic, str(exc), **base)
        buckets = buckets_for(max(offsets.messages, db_rows), bucket_keys)
        stats = ScanStats()
        unkeyed: list[dict[str, Any]] = []
        unkeyed_count = 0
        with SpillDirectory(spill_dir) as directory:
            topic_spill = KeySpill(directory, "topic", buckets)
            db_spill = KeySpill(directory, "db", buckets)
            try:
                try:
                    for message in scan_window(source, consumer, offsets, win, stats,
                                               window_field=window_field, routing=routing):
                        key = message_key(message, paths)
                        if key is None:
                            unkeyed_count += 1
                            if len(unkeyed) < UNKEYED_SAMPLE_CAP:
                                unkeyed.append({"fields": sorted(message)[:20]})
                            continue
                        topic_spill.add(key)
                except Exception as exc:
                    return labels.not_run(CheckKind.KAFKA_KEYS, source.topic, kafka_error_text(exc, source),
                                          **base, details={"read": stats.read})
                read_done = time.monotonic()
                db_null_keys = 0
                try:
                    for values in db.stream_keys((win.start, win.end)):
                        key = row_key(values)
                        if key is None:
                            db_null_keys += 1
                        else:
                            db_spill.add(key)
                except SyncverifyError as exc:
                    return labels.not_run(CheckKind.KAFKA_KEYS, source.topic, str(exc), **base,
                                          details={"messages": topic_spill.count})
            finally:
                topic_spill.close()
                db_spill.close()
            diff = diff_spills(topic_spill, db_spill, cap)
    finally:
        consumer.close()

    def keys(encoded: list[str]) -> list[Any]:
        return [decode_key(k, composite) for k in encoded]

    messages, rows = topic_spill.count, db_spill.count
    consumer_hop = direction == "consumer"
    elapsed = time.monotonic() - started
    result = labels.result(
        CheckKind.KAFKA_KEYS, source.topic, **base,
        source_rows=messages if consumer_hop else rows,
        target_rows=rows if consumer_hop else messages,
        missing_count=diff.left_only if consumer_hop else diff.right_only,
        extra_count=diff.right_only if consumer_hop else diff.left_only,
        missing_keys=keys(diff.left_only_sample if consumer_hop else diff.right_only_sample),
        extra_keys=keys(diff.right_only_sample if consumer_hop else diff.left_only_sample),
        duplicate_count=diff.left_duplicate_keys + diff.right_duplicate_keys,
        duplicate_keys=keys(sorted({*diff.left_duplicate_sample, *diff.right_duplicate_sample})[:cap]),
        details={
            "topic": source.topic, "direction": direction, "key_path": [".".join(p) for p in paths],
            "messages": messages, "rows": rows,
            "topic_duplicate_keys": diff.left_duplicate_keys,
            "topic_duplicate_messages": diff.left_duplicate_surplus,
            "db_duplicate_keys": diff.right_duplicate_keys,
            "db_duplicate_rows": diff.right_duplicate_surplus,
            "unkeyed_messages": unkeyed_count, "unkeyed_samples": unkeyed, "db_null_keys": db_null_keys,
            "scan": stats.as_dict(), "partitions": offsets.details(),
            "offset_lookup": sorted(offsets.methods), "window_field": window_field,
            "routing": routing is not None, "db_where": db.where, "buckets": buckets,
            "read_s": round(read_done - started, 3), "elapsed_s": round(elapsed, 3),
            "messages_per_s": round(stats.read / elapsed) if elapsed > 0 else None,
        })
    return result.finish()
