"""Re-publish plans: the repair of a hop whose target is a Kafka topic.

A topic cannot be repaired with SQL (there is no DELETE of a message, and an INSERT is a produce).
When a ticket's target node is a Kafka cluster (a ``kafka-producer`` hop lost messages), the plan
lists the messages to produce again, built from the source rows exactly as the project's producer
(:func:`syncverify.kafka.produce_json`) builds them: the value is the row as compact JSON
(datetimes ``YYYY-MM-DD HH:MM:SS``, decimals as strings), the key the canonical text of the
table's key columns joined by ``|``, the partition ``crc32(key) % partitions`` (so a re-published
message lands in the partition of its earlier copies), and the timestamp the table's window
column (so windowed checks find the message in the window of its row).

For each consumer group that reads the topic (the catalog's ``kafka-consumer`` links from that
node) the plan says what to do: the re-published messages are appended at the end of the topic,
so a group reads them from its committed offset with no reset; a group that was reset past them
must be reset to the first re-published offsets, which the apply records per partition.

Keys the topic carries without a source row (``extra``) and keys carried by several messages
(``duplicate``) cannot be taken back from a topic: the plan notes them, with no action.

The project's Kafka client can produce, so ``tickets apply`` publishes an approved plan
(:func:`publish`); there is no rollback of a publish.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from confluent_kafka import KafkaError, Producer

from syncverify.catalog import Catalog
from syncverify.catalog.models import LinkKind
from syncverify.kafka.client import KafkaSource, partitions_of
from syncverify.kafka.keys import canonical_text
from syncverify.kafka.offsets import epoch_ms, watermarks
from syncverify.kafka.produce import ONE_RECORD_PER_BATCH, ProduceError, json_default
from syncverify.store.models import Ticket
from syncverify.tickets.evidence import differing_keys
from syncverify.tickets.keyrows import canon_key, column, fetch_by_keys, find_link_check, reflect, typed_key
from syncverify.tickets.lifecycle import TicketError

REPUBLISH_PLAN = "republish"
KAFKA_DIALECT = "kafka"
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default).encode


@dataclass
class RepublishPlan:
    """Messages to produce again on one topic, and what each consumer group of it must do."""

    ticket_id: int
    link_id: str
    source_node: str
    source_table: str
    target_node: str
    topic: str
    key_fields: list[str]
    timestamp_field: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)     # key, value, timestamp_ms
    consumer_groups: list[dict[str, Any]] = field(default_factory=list)
    keys_on_ticket: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    kind: str = REPUBLISH_PLAN

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RepublishPlan:
        return cls(**dict(data))

    def text(self, generated_at: datetime) -> str:
        """The reviewable file: the plan as JSON with how to approve and run it."""
        doc = {"syncverify": f"re-publish plan for ticket {self.ticket_id}, generated {generated_at.isoformat()}",
               "how": [f"approve: syncverify tickets approve {self.ticket_id} --by NAME --note TEXT",
                       f"publish: syncverify tickets apply {self.ticket_id} --by NAME",
                       "no SQL: the messages below are produced to the topic; there is no rollback"],
               **self.to_json()}
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _timestamp_ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        return epoch_ms(value)
    if isinstance(value, date):
        return epoch_ms(datetime(value.year, value.month, value.day))
    return None


def message_for(record: Mapping[str, Any], key_fields: list[str], timestamp_field: str | None) -> dict[str, Any]:
    """One message as :func:`syncverify.kafka.produce_json` would produce ``record``."""
    key = "|".join(canonical_text(record.get(f)) or "" for f in key_fields) if key_fields else None
    return {"key": key, "value": _ENCODE(dict(record)),
            "timestamp_ms": _timestamp_ms(record.get(timestamp_field)) if timestamp_field else None}


def _groups(catalog: Catalog, node_id: str, table: str, topic: str) -> list[dict[str, Any]]:
    out = []
    for link in catalog.links.values():
        if link.kind is not LinkKind.KAFKA_CONSUMER or link.source != node_id:
            continue
        if not any(t.table == table for t in link.tables):
            continue
        group = link.consumer_group or f"(consumer group of link {link.id})"
        out.append({
            "group": group, "link_id": link.id, "target_node": link.target,
            "instruction": (f"no reset needed while {group} is running: the re-published messages are appended "
                            f"to {topic} and read from the committed offset. If {group} was stopped and reset "
                            "past them, reset it to the first re-published offset of each partition (recorded by "
                            f"the apply): kafka-consumer-groups.sh --bootstrap-server BOOTSTRAP --group {group} "
                            f"--topic {topic}:PARTITION --reset-offsets --to-offset OFFSET --execute"),
        })
    return out


def build_republish_plan(ticket: Ticket, catalog: Catalog, source_engine: sa.Engine) -> RepublishPlan:
    """Read the source rows of the ticket's keys and build the messages (no store, no writes)."""
    keys = differing_keys(ticket.evidence, lists=("missing", "changed"))
    others = {name: differing_keys(ticket.evidence, lists=(name,)) for name in ("extra", "duplicate")}
    if not keys and not any(others.values()):
        raise TicketError(f"ticket {ticket.id} carries no row keys (a {ticket.kind} finding without a key "
                          "check): run a key check of the topic first, then generate the plan")
    check = find_link_check(catalog, ticket.link_id, ticket.table_name, ticket.source_node)
    where = f"node {check.source.id}"
    src = reflect(source_engine, check.source_table, check.source.schema_name, where)
    skey = [column(src, k, where) for k in check.table.key]
    window = check.table.window_column
    ts_field = column(src, window, where).name if window else None
    routing = (check.spec.routing.to_sql(source_engine.dialect.identifier_preparer.quote)
               if check.spec.routing is not None else None)
    typed = [typed_key(k, skey) for k in keys]
    rows = fetch_by_keys(source_engine, src, skey, typed, list(src.columns), routing)
    plan = RepublishPlan(ticket_id=ticket.id, link_id=check.link.id, source_node=check.source.id,
                         source_table=check.source_table, target_node=check.target.id, topic=check.target_table,
                         key_fields=[c.name for c in skey], timestamp_field=ts_field, keys_on_ticket=len(keys))
    for key in typed:
        row = rows.get(canon_key(key))
        if row is None:
            plan.skipped += 1
            continue
        plan.messages.append(message_for(row, plan.key_fields, ts_field))
    if plan.skipped:
        plan.notes.append(f"{plan.skipped} key(s) are no longer at the source (or routed elsewhere): not re-published")
    if others["extra"]:
        plan.notes.append(f"{len(others['extra'])} key(s) are on the topic without a source row: a message cannot "
                          "be taken back; the consumers' targets may need their own repair")
    if others["duplicate"]:
        plan.notes.append(f"{len(others['duplicate'])} key(s) are carried by several messages: nothing to do on "
                          "the topic when the consumers write by key (upsert)")
    plan.consumer_groups = _groups(catalog, check.target.id, ticket.table_name, plan.topic)
    return plan


def publish(plan: RepublishPlan, bootstrap: str, config: Mapping[str, str] | None = None, *,
            timeout_s: float = 30.0) -> dict[str, Any]:
    """Produce the plan's messages exactly as reviewed; returns the first offset per partition.

    One record per batch (Tansu gives a multi-record batch one offset), the partition from the key
    as :func:`syncverify.kafka.produce_json` chooses it. Raises :class:`ProduceError` when a
    message is not delivered within ``timeout_s``.
    """
    source = KafkaSource(bootstrap, plan.topic, dict(config or {}), timeout_s)
    consumer = source.consumer()
    try:
        parts = partitions_of(source, consumer)
        first = {p: watermarks(source, consumer, p).high for p in parts}
    finally:
        consumer.close()
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0, **(config or {}), **ONE_RECORD_PER_BATCH})
    failures: list[str] = []
    used: set[int] = set()

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None and len(failures) < 5:
            failures.append(err.str())

    for i, m in enumerate(plan.messages):
        key = m["key"].encode() if m.get("key") is not None else None
        partition = parts[(zlib.crc32(key) if key is not None else i) % len(parts)]
        used.add(partition)
        kwargs: dict[str, Any] = {"key": key, "partition": partition, "on_delivery": on_delivery}
        if m.get("timestamp_ms") is not None:
            kwargs["timestamp"] = int(m["timestamp_ms"])
        producer.produce(plan.topic, m["value"].encode(), **kwargs)
        producer.poll(0)
    remaining = producer.flush(timeout_s)
    if remaining or failures:
        raise ProduceError(source.mask(f"{remaining} message(s) to {source.describe()} not delivered within "
                                       f"{timeout_s:g} s; {'; '.join(failures)}"))
    offsets = {p: first[p] for p in sorted(used)}
    resets = [{"group": g["group"], "commands": [
        f"kafka-consumer-groups.sh --bootstrap-server {bootstrap} --group {g['group']} "
        f"--topic {plan.topic}:{p} --reset-offsets --to-offset {o} --execute" for p, o in offsets.items()]}
        for g in plan.consumer_groups]
    return {"published": len(plan.messages), "topic": plan.topic,
            "first_offsets": {str(p): o for p, o in offsets.items()}, "resets_if_needed": resets}
