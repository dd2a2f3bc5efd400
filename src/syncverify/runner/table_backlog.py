"""Consumer backlog (积压) for Kafka topics kept as message tables (the embedded world).

A topic stored as a table carries ``_partition`` and ``_offset`` per message and a
``_consumer_offsets(group_id, topic, partition, committed_offset)`` table, as a broker would;
the backlog per partition is the end offset minus the group's committed offset, as
:mod:`syncverify.kafka` computes it against a real broker.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from syncverify.catalog import LinkCheck
from syncverify.dialects import for_engine
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.runner.context import CheckContext

OFFSETS_TABLE = "_consumer_offsets"


def backlog_from_tables(lc: LinkCheck, ctx: CheckContext, engine: sa.Engine) -> CheckResult:
    check_id = f"{CheckKind.KAFKA_BACKLOG.value}/{lc.id}"
    group = lc.link.consumer_group
    topic = lc.source_table
    base: dict[str, Any] = {"source_node": lc.source.id, "target_node": lc.target.id, "check_id": check_id}
    if not group:
        return CheckResult.not_run(CheckKind.KAFKA_BACKLOG, lc.link.id, lc.table.name,
                                   f"link {lc.link.id} names no consumer_group", **base)
    quote = for_engine(engine).quote
    insp = sa.inspect(engine)
    if not insp.has_table(OFFSETS_TABLE):
        return CheckResult.not_run(CheckKind.KAFKA_BACKLOG, lc.link.id, lc.table.name,
                                   f"node {lc.source.id} keeps no {OFFSETS_TABLE} table", **base)
    with engine.connect() as conn:
        ends: dict[Any, Any] = dict(conn.execute(sa.text(
            f"SELECT {quote('_partition')}, MAX({quote('_offset')}) + 1 FROM {quote(topic)} "
            f"GROUP BY {quote('_partition')}")).all())
        committed: dict[Any, Any] = dict(conn.execute(sa.text(
            f"SELECT {quote('partition')}, {quote('committed_offset')} FROM {quote(OFFSETS_TABLE)} "
            f"WHERE {quote('group_id')} = :g AND {quote('topic')} = :t"), {"g": group, "t": topic}).all())
    partitions = []
    for partition in sorted(ends):
        end = int(ends[partition])
        done = int(committed.get(partition, 0))
        partitions.append({"partition": int(partition), "end_offset": end, "committed": done,
                           "lag": max(0, end - done)})
    total = sum(p["lag"] for p in partitions)
    result = CheckResult(kind=CheckKind.KAFKA_BACKLOG, link_id=lc.link.id, table=lc.table.name,
                         details={"group": group, "topic": topic, "partitions": partitions, "total_lag": total,
                                  "threshold": lc.link.backlog_threshold, "storage": "tables"}, **base)
    result.finish()
    result.outcome = Outcome.INCONSISTENT if total > lc.link.backlog_threshold else Outcome.CONSISTENT
    return result
