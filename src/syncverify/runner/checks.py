"""One link check: choose how to compare a (link, table) pair and run it.

Database to database (including Kafka topics kept as message tables in the embedded world):
the comparison engine, at the depth the run asks for. A Kafka cluster on either side: the Kafka
checks (volume and key reconciliation; backlog for consumer links).
"""

from __future__ import annotations

from syncverify.catalog import LinkCheck
from syncverify.catalog.models import LinkKind
from syncverify.results import CheckKind, CheckResult
from syncverify.runner.context import CheckContext, uses_kafka
from syncverify.runner.kafka_checks import run_kafka_checks
from syncverify.runner.options import Depth
from syncverify.runner.table_backlog import backlog_from_tables
from syncverify.runner.table_checks import run_table_checks

__all__ = ["CheckContext", "primary_kind", "run_link_check", "uses_kafka"]


_DEPTH_KIND = {Depth.COUNT: CheckKind.COUNT, Depth.TOTALS: CheckKind.TOTALS,
               Depth.CHECKSUM: CheckKind.CHECKSUM, Depth.DIFF: CheckKind.DIFF, Depth.SCHEMA: CheckKind.SCHEMA}


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
        return run_kafka_checks(lc, ctx)
    results = run_table_checks(lc, ctx)
    if (lc.link.kind is LinkKind.KAFKA_CONSUMER and ctx.options.depth is not Depth.SCHEMA
            and ctx.connection(lc.source.id).storage == "tables"):
        results.append(backlog_from_tables(lc, ctx, ctx.engine(lc.source.id)))
    return results
