"""Windowed volume: messages of a time window against rows of the same window in a database.

Without a routing predicate or a business-time field the message count is read from offsets
alone (end offset minus start offset of the window, per partition): no message is fetched beyond
the few a time lookup needs. With either, the window's messages are read and counted after
filtering. Consumer hops compare messages (source) to landed rows (target); producer hops compare
source rows to messages (target).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from syncverify.errors import SyncverifyError
from syncverify.kafka.client import KafkaSource, kafka_error_text
from syncverify.kafka.dbside import DbSide
from syncverify.kafka.labels import Labels
from syncverify.kafka.window import Routing, ScanStats, Window, scan_window, window_offsets
from syncverify.results import CheckKind, CheckResult

Direction = Literal["consumer", "producer"]


def as_window(window: Window | tuple[datetime, datetime], tz: tzinfo = UTC) -> Window:
    return window if isinstance(window, Window) else Window(window[0], window[1], tz)


def check_volume(source: KafkaSource, db: DbSide, window: Window | tuple[datetime, datetime], *,
                 direction: Direction = "consumer", routing: Routing | None = None,
                 window_field: str | None = None, slack: timedelta = timedelta(0),
                 labels: Labels = Labels()) -> CheckResult:
    """Messages in ``window`` on ``source.topic`` against ``db`` rows in the same window.

    ``missing_count`` / ``extra_count`` hold the net difference (counts cannot say which keys;
    :func:`~syncverify.kafka.reconcile.check_keys` can). ``details["partitions"]`` gives the
    window's offsets per partition. A broker, topic or table that cannot be read gives a
    "not run" result naming it.
    """
    win = as_window(window)
    started = time.monotonic()
    base = {"window_start": win.start, "window_end": win.end}
    consumer = source.consumer()
    try:
        offsets = window_offsets(source, consumer, win, slack if window_field else timedelta(0))
        stats = ScanStats()
        if routing is None and window_field is None and "scan" not in offsets.methods:
            messages, method = offsets.messages, "offsets"
        else:
            messages = sum(1 for _ in scan_window(source, consumer, offsets, win, stats,
                                                  window_field=window_field, routing=routing))
            method = "scan"
    except Exception as exc:  # recorded as "not run"
        return labels.not_run(CheckKind.KAFKA_VOLUME, source.topic, kafka_error_text(exc, source), **base)
    finally:
        consumer.close()
    try:
        rows = db.count((win.start, win.end))
    except SyncverifyError as exc:
        return labels.not_run(CheckKind.KAFKA_VOLUME, source.topic, str(exc), **base,
                              details={"messages": messages})
    src, tgt = (messages, rows) if direction == "consumer" else (rows, messages)
    result = labels.result(CheckKind.KAFKA_VOLUME, source.topic, source_rows=src, target_rows=tgt,
                           missing_count=max(0, src - tgt), extra_count=max(0, tgt - src), **base,
                           details={"topic": source.topic, "direction": direction, "messages": messages,
                                    "rows": rows, "method": method,
                                    "offset_lookup": sorted(offsets.methods),
                                    "partitions": offsets.details(), "scan": stats.as_dict(),
                                    "elapsed_s": round(time.monotonic() - started, 3)})
    return result.finish()
