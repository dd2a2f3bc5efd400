"""The messages of a time window: find their offsets, then read and decode them.

A window ``[start, end)`` selects messages by their Kafka timestamp, or — when the messages carry
the business time the database's window column holds (``kprq``) — by that JSON field, so both
sides cut the window at the same instant. In the second case the offsets are looked up with a
``slack`` around the window (messages are stamped a little after the business time) and each
message is filtered by its field. Messages are read with ``assign()`` and explicit offsets; no
consumer group is joined and nothing is committed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.kafka.client import KafkaSource, partitions_of
from syncverify.kafka.offsets import Watermarks, epoch_ms, offsets_for_time, watermarks

Routing = Callable[[Mapping[str, Any]], bool]
SAMPLE_CAP = 20


class WindowError(SyncverifyError):
    """A window that is empty or inverted."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    tz: tzinfo = UTC        # how naive datetimes map to Kafka's epoch timestamps

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise WindowError(f"window start {self.start} is not before its end {self.end}")

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start, self.tz)

    @property
    def end_ms(self) -> int:
        return epoch_ms(self.end, self.tz)


@dataclass
class OffsetRange:
    """Per partition, the offsets ``[start, end)`` that hold the window's messages."""

    start: dict[int, int]
    end: dict[int, int]
    marks: dict[int, Watermarks]
    methods: set[str]

    @property
    def messages(self) -> int:
        return sum(max(0, self.end[p] - self.start[p]) for p in self.start)

    def details(self) -> list[dict[str, int]]:
        return [{"partition": p, "start_offset": self.start[p], "end_offset": self.end[p],
                 "messages": max(0, self.end[p] - self.start[p])} for p in sorted(self.start)]


def window_offsets(source: KafkaSource, consumer: Consumer, window: Window,
                   slack: timedelta = timedelta(0)) -> OffsetRange:
    """Offsets of ``[start - slack, end + slack)`` in every partition; when the broker's time index
    cannot be trusted, every retained offset (method ``"scan"``: the reader filters by time).

    Raises :class:`UnreachableError` or :class:`~syncverify.kafka.client.TopicMissingError`."""
    partitions = partitions_of(source, consumer)
    marks = {p: watermarks(source, consumer, p) for p in partitions}
    slack_ms = int(slack.total_seconds() * 1000)
    # Probes need one message each: a separate consumer with small, quick fetches.
    probe_config: dict[str, Any] = {"fetch.wait.max.ms": 100, "max.partition.fetch.bytes": 65536}
    probe = source.consumer(None, **probe_config)
    try:
        start = offsets_for_time(source, probe, marks, window.start_ms - slack_ms)
        end = offsets_for_time(source, probe, marks, window.end_ms + slack_ms) if start is not None else None
    finally:
        probe.close()
    if start is None or end is None:
        return OffsetRange({p: m.low for p, m in marks.items()}, {p: m.high for p, m in marks.items()},
                           marks, {"scan"})
    return OffsetRange(start, end, marks, {"offsets_for_times"})


def _business_time(value: Any, tz: tzinfo, aware: bool) -> datetime | None:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, tz)        # epoch milliseconds
        if not aware:
            moment = moment.replace(tzinfo=None)
        return moment
    else:
        return None
    if aware and moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    elif not aware and moment.tzinfo is not None:
        moment = moment.astimezone(tz).replace(tzinfo=None)
    return moment


@dataclass
class ScanStats:
    """What reading a window saw besides the messages it yielded."""

    read: int = 0                 # messages fetched in the offset range
    outside_window: int = 0       # fetched but timestamped (or dated) outside the window
    undecodable: int = 0          # value is not a JSON object
    routed_out: int = 0           # the routing predicate says they do not belong to this target
    undecodable_samples: list[dict[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "outside_window": self.outside_window, "undecodable": self.undecodable,
                "routed_out": self.routed_out, "undecodable_samples": self.undecodable_samples}


def scan_window(source: KafkaSource, consumer: Consumer, offsets: OffsetRange, window: Window,
                stats: ScanStats, *, window_field: str | None = None, routing: Routing | None = None,
                batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Yield the decoded JSON object of every message of the window (and the routing), once each.

    Stops with :class:`UnreachableError` when the broker stops delivering for ``timeout_s``
    before the end offsets are reached.
    """
    pending = {p: (offsets.start[p], offsets.end[p]) for p in offsets.start if offsets.end[p] > offsets.start[p]}
    if not pending:
        return
    consumer.assign([TopicPartition(source.topic, p, lo) for p, (lo, _hi) in pending.items()])
    lo_ms, hi_ms = window.start_ms, window.end_ms
    aware = window.start.tzinfo is not None
    w_start, w_end = window.start, window.end
    decode = json.loads
    last_progress = time.monotonic()
    try:
        while pending:
            messages = consumer.consume(batch, min(1.0, source.timeout_s))
            if not messages:
                if time.monotonic() - last_progress > source.timeout_s:
                    where = ", ".join(f"partition {p} at offset < {hi}" for p, (_lo, hi) in sorted(pending.items()))
                    raise UnreachableError(
                        f"{source.describe()} stopped delivering for {source.timeout_s:g} s ({where})")
                continue
            last_progress = time.monotonic()
            for msg in messages:
                err = msg.error()
                partition = msg.partition()
                if partition is None or partition not in pending:
                    continue
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        del pending[partition]
                        continue
                    raise UnreachableError(source.mask(f"reading {source.describe()}: {err.str()}"))
                offset = msg.offset()
                if offset is None:
                    continue
                end = pending[partition][1]
                if offset >= end:
                    del pending[partition]
                    continue
                if offset == end - 1:
                    del pending[partition]
                stats.read += 1
                if window_field is None:
                    ts = msg.timestamp()[1]
                    if not lo_ms <= ts < hi_ms:
                        stats.outside_window += 1
                        continue
                raw = msg.value()
                try:
                    value = decode(raw) if raw is not None else None
                except (ValueError, TypeError):
                    value = None
                if not isinstance(value, dict):
                    stats.undecodable += 1
                    if len(stats.undecodable_samples) < SAMPLE_CAP:
                        stats.undecodable_samples.append({"partition": partition, "offset": offset})
                    continue
                if window_field is not None:
                    moment = _business_time(value.get(window_field), window.tz, aware)
                    if moment is None or not w_start <= moment < w_end:
                        stats.outside_window += 1
                        continue
                if routing is not None and not routing(value):
                    stats.routed_out += 1
                    continue
                yield value
    finally:
        consumer.unassign()
