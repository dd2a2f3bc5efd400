"""Link checks with a Kafka cluster on one side: backlog (consumer links), windowed volume and
key reconciliation against the database copy, routing applied to the decoded messages."""

from __future__ import annotations

from typing import Literal

from syncverify.calendar import BUREAU_TZ
from syncverify.catalog import LinkCheck
from syncverify.dialects import for_engine
from syncverify.kafka import DbSide, KafkaSource, Labels, Window, check_backlog, check_keys, check_volume
from syncverify.results import CheckKind, CheckResult
from syncverify.runner.context import CheckContext
from syncverify.runner.options import Depth


def run_kafka_checks(lc: LinkCheck, ctx: CheckContext) -> list[CheckResult]:
    src, dst = ctx.connection(lc.source.id), ctx.connection(lc.target.id)

    def labels(kind: CheckKind) -> Labels:
        return Labels(link_id=lc.link.id, table=lc.table.name, source_node=lc.source.id,
                      target_node=lc.target.id, check_id=f"{kind.value}/{lc.id}")

    if src.is_kafka_broker and dst.is_kafka_broker:
        # Topic to topic (the clearing service DD-QF): its effect is checked on the province
        # copies downstream; a message-level topic comparison is not part of the Kafka checks.
        return [CheckResult.not_run(CheckKind.KAFKA_KEYS, lc.link.id, lc.table.name,
                                    f"hop {lc.link.id} joins two Kafka topics; its result is checked on the "
                                    "province copies it feeds", source_node=lc.source.id, target_node=lc.target.id,
                                    check_id=f"{CheckKind.KAFKA_KEYS.value}/{lc.id}")]
    consumer = src.is_kafka_broker
    kafka_conn, db_node = (src, lc.target) if consumer else (dst, lc.source)
    topic = (lc.source if consumer else lc.target).physical(lc.table.name)
    source = KafkaSource(kafka_conn.bootstrap or "", topic, kafka_conn.kafka_config)
    engine = ctx.engine(db_node.id)
    quote = for_engine(engine).quote
    if consumer:
        where = lc.spec.target_scope.to_sql(quote) if lc.spec.target_scope else None
        routing = lc.spec.routing.matches if lc.spec.routing else None
    else:
        where = lc.spec.routing.to_sql(quote) if lc.spec.routing else None
        routing = lc.spec.target_scope.matches if lc.spec.target_scope else None
    db = DbSide(engine, db_node.physical(lc.table.name), key_columns=tuple(lc.table.key),
                window_column=lc.table.window_column, where=where, schema=db_node.schema_name)
    span = ctx.window_for(lc) or ctx.window
    window = Window(span[0], span[1], tz=BUREAU_TZ)
    direction: Literal["consumer", "producer"] = "consumer" if consumer else "producer"
    results: list[CheckResult] = []
    if consumer and lc.link.consumer_group:
        results.append(check_backlog(source, lc.link.consumer_group, threshold=lc.link.backlog_threshold,
                                     labels=labels(CheckKind.KAFKA_BACKLOG)))
    results.append(check_volume(source, db, window, direction=direction, routing=routing,
                                window_field=lc.table.window_column, labels=labels(CheckKind.KAFKA_VOLUME)))
    if ctx.options.depth is Depth.DIFF:
        results.append(check_keys(source, db, window, key_path=lc.link.key_path or list(lc.table.key),
                                  direction=direction, routing=routing, window_field=lc.table.window_column,
                                  labels=labels(CheckKind.KAFKA_KEYS)))
    return results
