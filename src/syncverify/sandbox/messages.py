"""Kafka topics of the sandbox as message lists: partition, offset and timestamp per message.

A Kafka copy in the world is the set of messages a topic holds. Each message goes to the
partition of its key's hash (as the default partitioner does) and is stamped a few seconds after
the row's update time (``gxsj``) — the producer's delay; offsets follow the timestamps within a
partition. The layout is a pure function of the copy, so the fault planner (lagging consumers,
rows in flight) and the storage agree on which messages are "the last N of a partition".
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syncverify.sandbox.generate import Row, columns

PARTITIONS = 3


@dataclass(frozen=True)
class Message:
    row: Row
    key: tuple[Any, ...]
    partition: int
    offset: int
    ts: datetime


def key_text(key: tuple[Any, ...]) -> str:
    return "|".join("" if v is None else str(v) for v in key)


def _stamp_column(table: str) -> int:
    cols = columns(table)
    return cols.index("gxsj")


def layout(table: str, rows: list[Row], key_of: Any, *, node: str) -> list[Message]:
    """Messages of a topic holding ``rows`` (duplicates included as separate messages)."""
    stamp = _stamp_column(table)
    staged: list[tuple[int, datetime, str, Row, tuple[Any, ...]]] = []
    for row in rows:
        key = key_of(row)
        text = key_text(key)
        h = zlib.crc32(text.encode("utf-8"))
        delay = timedelta(seconds=1 + zlib.crc32(f"{node}|{text}".encode()) % 30)
        staged.append((h % PARTITIONS, row[stamp] + delay, text, row, key))
    staged.sort(key=lambda m: (m[0], m[1], m[2]))
    out: list[Message] = []
    offsets = [0] * PARTITIONS
    for partition, ts, _text, row, key in staged:
        out.append(Message(row, key, partition, offsets[partition], ts))
        offsets[partition] += 1
    return out


def end_offsets(messages: list[Message]) -> dict[int, int]:
    ends = dict.fromkeys(range(PARTITIONS), 0)
    for m in messages:
        ends[m.partition] = max(ends[m.partition], m.offset + 1)
    return ends
