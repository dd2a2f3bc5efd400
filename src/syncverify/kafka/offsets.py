"""Offsets of a topic: watermarks, a group's committed offsets, and the offset of a point in time.

Time lookups ask the broker (``offsets_for_times``, the Kafka time index) and verify the answer
against the message timestamps around it: on Kafka the offset returned is the first whose
timestamp is at or after the time, so the message at it is not earlier and the one before it is
earlier. When the answer fails that test (Tansu answers the first offset for every time) the
caller reads the partitions whole and filters by timestamp instead — exact, only slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition

from syncverify.errors import UnreachableError
from syncverify.kafka.client import KafkaSource


def epoch_ms(moment: datetime, tz: tzinfo = UTC) -> int:
    """Milliseconds since the epoch; a naive ``moment`` is read in ``tz`` (UTC by default)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Watermarks:
    low: int    # first retained offset
    high: int   # next offset to be written (end offset)


def watermarks(source: KafkaSource, consumer: Consumer, partition: int) -> Watermarks:
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(source.topic, partition),
                                                   timeout=source.timeout_s, cached=False)
    except Exception as exc:  # KafkaException: timeout or transport
        raise UnreachableError(source.mask(
            f"end offsets of {source.describe()} partition {partition} not available: {exc}")) from None
    return Watermarks(int(low), int(high))


def committed_offsets(source: KafkaSource, group: str, partitions: list[int]) -> dict[int, int | None]:
    """The group's committed offset per partition (None where the group never committed)."""
    consumer = source.consumer(group_id=group)
    try:
        tps = consumer.committed([TopicPartition(source.topic, p) for p in partitions],
                                 timeout=source.timeout_s)
    except Exception as exc:
        raise UnreachableError(source.mask(
            f"committed offsets of group {group!r} on {source.describe()} not available: {exc}")) from None
    finally:
        consumer.close()
    out: dict[int, int | None] = {}
    for tp in tps:
        out[tp.partition] = None if tp.offset == OFFSET_INVALID or tp.offset < 0 else int(tp.offset)
    return out


def first_messages(source: KafkaSource, consumer: Consumer,
                   positions: dict[int, int]) -> dict[int, tuple[int, int] | None]:
    """Per partition, (offset, timestamp ms) of the first message at or after the given offset
    (None at the end). All partitions are fetched in one round."""
    if not positions:
        return {}
    consumer.assign([TopicPartition(source.topic, p, o) for p, o in positions.items()])
    found: dict[int, tuple[int, int] | None] = {}
    try:
        while len(found) < len(positions):
            msg = consumer.poll(source.timeout_s)
            if msg is None:
                raise UnreachableError(f"no answer fetching {source.describe()} within {source.timeout_s:g} s")
            partition, offset = msg.partition(), msg.offset()
            if partition is None or partition not in positions or partition in found:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    found[partition] = None
                    continue
                raise UnreachableError(source.mask(f"fetching {source.describe()} partition {partition}: {err.str()}"))
            if offset is not None and offset >= positions[partition]:
                found[partition] = (int(offset), int(msg.timestamp()[1]))
    finally:
        consumer.unassign()
    return found


def offsets_for_time(source: KafkaSource, consumer: Consumer, partitions: dict[int, Watermarks],
                     ms: int) -> dict[int, int] | None:
    """Per partition, the first offset whose timestamp is >= ``ms`` (the end offset if none), from
    the broker's time index; None when the broker's answers fail verification (see the module
    docstring) and the caller must scan the partitions instead."""
    live = {p: m for p, m in partitions.items() if m.high > m.low}
    out = {p: m.high for p, m in partitions.items() if p not in live}
    if not live:
        return out
    try:
        answers = consumer.offsets_for_times(
            [TopicPartition(source.topic, p, ms) for p in live], timeout=source.timeout_s)
    except Exception:
        return None
    for tp in answers:
        if tp.error is not None:
            return None
        marks = live[tp.partition]
        out[tp.partition] = marks.high if tp.offset < 0 else max(marks.low, min(int(tp.offset), marks.high))
    # The message at the answer must not be earlier than ms ...
    at = first_messages(source, consumer, {p: out[p] for p in live if out[p] < live[p].high})
    if any(found is not None and found[1] < ms for found in at.values()):
        return None
    # ... and the one before it must be earlier.
    before = first_messages(source, consumer, {p: out[p] - 1 for p in live if out[p] > live[p].low})
    for p, found in before.items():
        if found is not None and found[0] < out[p] and found[1] >= ms:
            return None
    return out
