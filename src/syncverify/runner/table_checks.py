"""Link checks between two databases (or Kafka topics kept as message tables): the comparison
engine at the run's depth, plus the business totals per day that the monthly report charts."""

from __future__ import annotations

from syncverify.catalog import LinkCheck
from syncverify.catalog.table_refs import CheckRefs, check_refs
from syncverify.compare import business_totals, checksum, count_rows, diff_tables
from syncverify.errors import SyncverifyError
from syncverify.masking import mask_text
from syncverify.results import CheckKind, CheckResult, ResultName
from syncverify.runner.context import CheckContext
from syncverify.runner.options import Depth


def refs(lc: LinkCheck, ctx: CheckContext) -> CheckRefs:
    """The two copies and the comparison for a link check in this run: the run's engines and
    window, message tables' bookkeeping left out."""
    message_tables = any(ctx.connection(n.id).storage == "tables" for n in (lc.source, lc.target))
    return check_refs(lc, ctx.engine(lc.source.id), ctx.engine(lc.target.id), window=ctx.window_for(lc),
                      message_tables=message_tables)


def result_name(lc: LinkCheck) -> ResultName:
    """Results are named by the catalog (logical table, the link check's id) whatever the physical
    names, and say which copies they compared."""
    return ResultName(lc.table.name, lc.id, {"link_check": lc.id, "source_table": lc.source_table,
                                             "target_table": lc.target_table})


def run_table_checks(lc: LinkCheck, ctx: CheckContext) -> list[CheckResult]:
    from syncverify.schema.check import run_schema_check

    depth = ctx.options.depth
    if depth is Depth.SCHEMA:
        return [run_schema_check(lc, ctx)]
    source, target, spec = refs(lc, ctx)
    results: list[CheckResult] = []
    if depth is Depth.DIFF:
        # The full verification also compares the two schemas (reflection only, no rows read):
        # a narrower target column explains the write errors before it shows as differences.
        # A schema that cannot be read is said (not run) and the diff still runs.
        try:
            results.append(run_schema_check(lc, ctx))
        except SyncverifyError as exc:
            name = result_name(lc)
            results.append(CheckResult.not_run(CheckKind.SCHEMA, lc.link.id, name.table, mask_text(str(exc)),
                                               source_node=lc.source.id, target_node=lc.target.id,
                                               check_id=f"{CheckKind.SCHEMA.value}/{name.check}",
                                               details=dict(name.details)))
    with_totals = depth is not Depth.COUNT and bool(spec.totals) and bool(spec.window_column)
    if depth is Depth.COUNT or (depth is Depth.TOTALS and not with_totals):
        # a count is the cheapest sign-off, and what TOTALS falls back to without amounts or window
        results.append(count_rows(source, target, spec, link_id=lc.link.id, name=result_name(lc)))
    elif depth is Depth.CHECKSUM:
        results.append(checksum(source, target, spec, link_id=lc.link.id, name=result_name(lc)))
    elif depth is Depth.DIFF:
        results.append(diff_tables(source, target, spec, link_id=lc.link.id, confirm_delay_s=ctx.confirm_delay(lc),
                                   name=result_name(lc)))
    if with_totals:
        # after the diff: its confirmation pass has given rows in flight their time to land
        results.append(business_totals(source, target, spec, link_id=lc.link.id, name=result_name(lc)))
    return results
