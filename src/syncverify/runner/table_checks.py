"""Link checks between two databases (or Kafka topics kept as message tables): the comparison
engine at the run's depth, plus the business totals per day that the monthly report charts."""

from __future__ import annotations

from syncverify.catalog import LinkCheck
from syncverify.compare import CompareSpec, TableRef, business_totals, checksum, count_rows, diff_tables
from syncverify.dialects import for_engine
from syncverify.errors import SyncverifyError
from syncverify.masking import mask_text
from syncverify.results import CheckKind, CheckResult
from syncverify.runner.checks import CheckContext
from syncverify.runner.options import Depth

# A Kafka topic kept as a message table (the embedded world) carries the broker's bookkeeping
# beside the record's fields; it is not part of the replicated data.
MESSAGE_COLUMNS = ("_partition", "_offset", "_ts")


def refs(lc: LinkCheck, ctx: CheckContext) -> tuple[TableRef, TableRef, CompareSpec]:
    """The two copies and the comparison for a link check, routing and scope compiled per dialect."""
    src_engine = ctx.engine(lc.source.id)
    dst_engine = ctx.engine(lc.target.id)
    routing = lc.spec.routing.to_sql(for_engine(src_engine).quote) if lc.spec.routing else None
    # Column names in a target scope are the target's own (after any rename).
    scope = lc.spec.target_scope.to_sql(for_engine(dst_engine).quote) if lc.spec.target_scope else None
    source = TableRef(src_engine, lc.source_table, schema=lc.source.schema_name, where=routing, label=lc.source.id)
    target = TableRef(dst_engine, lc.target_table, schema=lc.target.schema_name, where=scope,
                      columns_map=dict(lc.spec.column_map), label=lc.target.id)
    window = ctx.window_for(lc)
    exclude = list(lc.table.exclude_columns)
    if any(ctx.connection(n.id).storage == "tables" for n in (lc.source, lc.target)):
        exclude += [c for c in MESSAGE_COLUMNS if c not in exclude]
    spec = CompareSpec(
        key=list(lc.table.key), columns=list(lc.table.columns) if lc.table.columns else None,
        exclude_columns=exclude, totals=list(lc.table.totals),
        window_column=lc.table.window_column if window else None,
        window_start=window[0] if window else None, window_end=window[1] if window else None,
    )
    return source, target, spec


def _label(result: CheckResult, lc: LinkCheck) -> CheckResult:
    """Name results by the catalog (logical table, node ids) whatever the physical names."""
    result.link_id = lc.link.id
    result.table = lc.table.name
    result.source_node, result.target_node = lc.source.id, lc.target.id
    result.check_id = f"{result.kind.value}/{lc.id}"
    result.details = {**result.details, "link_check": lc.id, "source_table": lc.source_table,
                      "target_table": lc.target_table}
    return result


def run_table_checks(lc: LinkCheck, ctx: CheckContext) -> list[CheckResult]:
    from syncverify.schema.check import run_schema_check

    depth = ctx.options.depth
    if depth is Depth.SCHEMA:
        return [_label(run_schema_check(lc, ctx), lc)]
    source, target, spec = refs(lc, ctx)
    results: list[CheckResult] = []
    if depth is Depth.DIFF:
        # The full verification also compares the two schemas (reflection only, no rows read):
        # a narrower target column explains the write errors before it shows as differences.
        # A schema that cannot be read is said (not run) and the diff still runs.
        try:
            results.append(run_schema_check(lc, ctx))
        except SyncverifyError as exc:
            results.append(CheckResult.not_run(CheckKind.SCHEMA, lc.link.id, lc.table.name, mask_text(str(exc)),
                                               source_node=lc.source.id, target_node=lc.target.id))
    with_totals = depth is not Depth.COUNT and bool(spec.totals) and bool(spec.window_column)
    if depth is Depth.COUNT or (depth is Depth.TOTALS and not with_totals):
        # a count is the cheapest sign-off, and what TOTALS falls back to without amounts or window
        results.append(count_rows(source, target, spec, link_id=lc.link.id))
    elif depth is Depth.CHECKSUM:
        results.append(checksum(source, target, spec, link_id=lc.link.id))
    elif depth is Depth.DIFF:
        results.append(diff_tables(source, target, spec, link_id=lc.link.id, confirm_delay_s=ctx.confirm_delay(lc)))
    if with_totals:
        # after the diff: its confirmation pass has given rows in flight their time to land
        results.append(business_totals(source, target, spec, link_id=lc.link.id))
    return [_label(r, lc) for r in results]
