"""One link check: choose how to compare a (link, table) pair and run it.

Database to database (including Kafka topics kept as message tables in the embedded world):
the comparison engine, at the depth the run asks for. A Kafka cluster on either side: the Kafka
checks (volume and key reconciliation; backlog for consumer links).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from syncverify.calendar import cut_off
from syncverify.catalog import Catalog, LinkCheck
from syncverify.catalog.models import LinkKind
from syncverify.connect.resolve import NodeConnection, engine_for_node, resolve_node
from syncverify.results import CheckKind, CheckResult
from syncverify.runner.options import Depth, RunOptions


@dataclass
class CheckContext:
    catalog: Catalog
    options: RunOptions
    window: tuple[datetime, datetime]

    def connection(self, node_id: str) -> NodeConnection:
        return resolve_node(node_id, profile=self.options.profile)

    def window_for(self, lc: LinkCheck) -> tuple[datetime, datetime] | None:
        """The compared window: the run's, cut off at now - grace; None for whole-table checks."""
        if lc.table.window_column is None:
            return None
        start, end = self.window
        return start, cut_off(end, lc.link.grace, self.options.now)

    def engine(self, node_id: str) -> sa.Engine:
        """The node's shared engine, capped by the catalog's max_concurrency and statement timeout
        (and the connection profile's, whichever is stricter)."""
        node = self.catalog.node(node_id)
        return engine_for_node(node_id, profile=self.options.profile, max_concurrency=node.max_concurrency,
                               statement_timeout_s=node.statement_timeout_s)

    def confirm_delay(self, lc: LinkCheck) -> float:
        if self.options.confirm_delay_s is not None:
            return self.options.confirm_delay_s
        return lc.link.confirm_delay_s


_DEPTH_KIND = {Depth.COUNT: CheckKind.COUNT, Depth.TOTALS: CheckKind.TOTALS,
               Depth.CHECKSUM: CheckKind.CHECKSUM, Depth.DIFF: CheckKind.DIFF, Depth.SCHEMA: CheckKind.SCHEMA}


def uses_kafka(lc: LinkCheck, ctx: CheckContext) -> bool:
    return any(ctx.connection(n.id).is_kafka_broker for n in (lc.source, lc.target) if n.is_kafka)


def primary_kind(lc: LinkCheck, ctx: CheckContext) -> CheckKind:
    """The kind of the result that says whether a link check has finished (for resuming)."""
    if lc.source.is_kafka or lc.target.is_kafka:
        try:
            if uses_kafka(lc, ctx):
                return CheckKind.KAFKA_KEYS if ctx.options.depth is Depth.DIFF else CheckKind.KAFKA_VOLUME
        except Exception:
            pass
    if ctx.options.depth is Depth.TOTALS and not (lc.table.totals and lc.table.window_column):
        return CheckKind.COUNT
    return _DEPTH_KIND[ctx.options.depth]


def run_link_check(lc: LinkCheck, ctx: CheckContext) -> list[CheckResult]:
    if ctx.options.depth is Depth.SCHEMA and (lc.source.is_kafka or lc.target.is_kafka) and uses_kafka(lc, ctx):
        return []   # a topic on a broker has no declared columns to compare
    if uses_kafka(lc, ctx):
        from syncverify.runner.kafka_checks import run_kafka_checks
        return run_kafka_checks(lc, ctx)
    from syncverify.runner.table_checks import run_table_checks
    results = run_table_checks(lc, ctx)
    if (lc.link.kind is LinkKind.KAFKA_CONSUMER and ctx.options.depth is not Depth.SCHEMA
            and ctx.connection(lc.source.id).storage == "tables"):
        from syncverify.runner.table_backlog import backlog_from_tables
        results.append(backlog_from_tables(lc, ctx, ctx.engine(lc.source.id)))
    return results
