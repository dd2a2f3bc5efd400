"""Put invoice records on a topic and move a consumer group's committed offsets (sandbox, tests).

The producers send one record per batch (``linger.ms=0``, ``batch.num.messages=1``): the local
Tansu broker gives a multi-record batch a single offset. To make up for the per-request cost,
several producers run side by side, each owning a fixed set of partitions, so the records of one
partition still arrive in input order (time lookups rely on timestamps growing with offsets).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from syncverify.errors import SyncverifyError, UnreachableError
from syncverify.kafka.client import KafkaSource, partitions_of
from syncverify.kafka.keys import canonical_text
from syncverify.kafka.offsets import epoch_ms, watermarks

# Tansu assigns one offset per batch: never batch records.
ONE_RECORD_PER_BATCH = {"linger.ms": 0, "batch.num.messages": 1}


class ProduceError(SyncverifyError):
    """Records could not be delivered."""


@dataclass(frozen=True)
class ProduceStats:
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex().upper()
    raise TypeError(f"cannot put a {type(value).__name__} into a JSON message")


def _timestamp_ms(value: Any, tz: tzinfo) -> int:
    if isinstance(value, datetime):
        return epoch_ms(value, tz)
    if isinstance(value, date):
        return epoch_ms(datetime(value.year, value.month, value.day), tz)
    if isinstance(value, str):
        return epoch_ms(datetime.fromisoformat(value), tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    raise ProduceError(f"timestamp field value {value!r} is not a date, datetime or epoch milliseconds")


def create_topic(bootstrap: str, topic: str, partitions: int = 3, *,
                 config: Mapping[str, str] | None = None, timeout_s: float = 10.0) -> None:
    """Create ``topic`` with ``partitions`` partitions; an existing topic is left as it is."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, **(config or {})})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=timeout_s,
                                  request_timeout=timeout_s)
    try:
        futures[topic].result(timeout=timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        raise UnreachableError(f"could not create topic {topic!r} on {bootstrap}: {error or exc}") from None
    except Exception as exc:
        raise UnreachableError(f"could not create topic {topic!r} on {bootstrap}: {exc}") from None


def produce_json(bootstrap: str, topic: str, records: Iterable[Mapping[str, Any]],
                 key_fields: Sequence[str], partitions: int = 3, timestamp_field: str | None = None, *,
                 config: Mapping[str, str] | None = None, tz: tzinfo = UTC, producers: int = 3,
                 timeout_s: float = 60.0) -> ProduceStats:
    """Produce ``records`` as JSON messages; returns how many and how fast.

    Creates the topic with ``partitions`` partitions if needed. The message key is the canonical
    text of ``key_fields`` joined by ``|``; a record's partition follows from its key (CRC32), so
    copies of one record share a partition. ``timestamp_field`` (a datetime, ``'YYYY-MM-DD
    HH:MM:SS'`` or epoch milliseconds; naive values read in ``tz``) becomes the message timestamp,
    so that windows select by business time; records should come in timestamp order per key
    hash. Datetimes in values become ``'YYYY-MM-DD HH:MM:SS'``, decimals strings.
    """
    create_topic(bootstrap, topic, partitions, config=config)
    count = 0
    n_producers = max(1, min(producers, partitions))
    conf = {"bootstrap.servers": bootstrap, "log_level": 0, **(config or {}), **ONE_RECORD_PER_BATCH,
            "queue.buffering.max.messages": 100_000}
    pool = [Producer(conf) for _ in range(n_producers)]
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None and len(failures) < 5:
            failures.append(err.str())

    started = time.monotonic()
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default).encode
    for record in records:
        key_text = "|".join(canonical_text(record.get(f)) or "" for f in key_fields) if key_fields else None
        key = key_text.encode() if key_text is not None else None
        partition = zlib.crc32(key) % partitions if key is not None else count % partitions
        producer = pool[partition % n_producers]
        kwargs: dict[str, Any] = {"key": key, "partition": partition, "on_delivery": on_delivery}
        if timestamp_field is not None:
            kwargs["timestamp"] = _timestamp_ms(record.get(timestamp_field), tz)
        value = dumps(record).encode()
        while True:
            try:
                producer.produce(topic, value, **kwargs)
                break
            except BufferError:
                producer.poll(0.05)   # queue full: let deliveries drain
        producer.poll(0)
        count += 1
    for producer in pool:
        remaining = producer.flush(timeout_s)
        if remaining:
            raise ProduceError(f"{remaining} messages to {topic!r} on {bootstrap} not delivered "
                               f"within {timeout_s:g} s")
    if failures:
        raise ProduceError(f"messages to {topic!r} on {bootstrap} failed: {'; '.join(failures)}")
    return ProduceStats(count, time.monotonic() - started)


def commit_group_offsets(bootstrap: str, topic: str, group: str,
                         offsets: Mapping[int, int] | None = None, *, lag: int | Mapping[int, int] = 0,
                         config: Mapping[str, str] | None = None, timeout_s: float = 10.0) -> dict[int, int]:
    """Commit offsets for consumer group ``group`` as a consumer application would.

    ``offsets`` gives the committed offset per partition; without it every partition is committed
    at its end offset minus ``lag`` (one number for all partitions, or one per partition), which
    simulates a consumer that is that many messages behind. Returns what was committed.
    """
    source = KafkaSource(bootstrap, topic, dict(config or {}), timeout_s)
    consumer = source.consumer(group_id=group)
    try:
        if offsets is None:
            chosen: dict[int, int] = {}
            for p in partitions_of(source, consumer):
                marks = watermarks(source, consumer, p)
                behind = lag.get(p, 0) if isinstance(lag, Mapping) else lag
                chosen[p] = max(marks.low, marks.high - behind)
        else:
            chosen = {int(p): int(o) for p, o in offsets.items()}
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in sorted(chosen.items())],
                            asynchronous=False)
        except KafkaException as exc:
            raise UnreachableError(source.mask(f"could not commit offsets of group {group!r} on "
                                               f"{source.describe()}: {exc}")) from None
        return chosen
    finally:
        consumer.close()
