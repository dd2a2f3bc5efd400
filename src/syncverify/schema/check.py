"""The schema check of one (link, table): the two copies' shapes against the catalog.

Cheap by design — reflection only, no row is read — so ``syncverify run --depth schema`` can run
before every release and every month. The result is the one :class:`CheckResult`, kind
``schema``: INCONSISTENT when at least one finding is an error (warnings and info are recorded
and the check stays consistent). ``details`` holds:

``findings``     per column: column, what, source, target, severity
``counts``       findings per severity
``columns``      the compared columns
``align_ddl``    statements in the target's dialect that clear the errors (review, then apply)
``shapes``       both shapes, until the store keeps them as snapshots (:mod:`.snapshots`),
                 which replaces them with ``changes`` since the previous snapshot
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncverify.catalog import LinkCheck, TableDef
from syncverify.dialects import Dialect
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.shapes.compare import Finding, Severity, align_ddl, compare_shapes, counts, expected_columns
from syncverify.shapes.table import TableShape


def schema_result(source: TableShape, target: TableShape, *, table: TableDef, link_id: str | None,
                  source_node: str | None, target_node: str | None, target_dialect: Dialect,
                  target_table_sql: str, column_map: dict[str, str] | None = None, exclude: list[str] | None = None,
                  check_id: str | None = None, started_at: datetime | None = None,
                  extra: dict[str, Any] | None = None) -> CheckResult:
    """Compare two shapes for the catalog's table and build the result."""
    exclude = list(table.exclude_columns) + list(exclude or [])
    findings = compare_shapes(source, target, key=table.key, columns=table.columns, exclude=exclude,
                              column_map=column_map)
    return build_result(findings, source, target, table=table, link_id=link_id, source_node=source_node,
                        target_node=target_node, target_dialect=target_dialect, target_table_sql=target_table_sql,
                        compared=expected_columns(source, table.columns, exclude), check_id=check_id,
                        started_at=started_at, extra=extra)


def build_result(findings: list[Finding], source: TableShape, target: TableShape, *, table: TableDef,
                 link_id: str | None, source_node: str | None, target_node: str | None, target_dialect: Dialect,
                 target_table_sql: str, compared: list[str], check_id: str | None = None,
                 started_at: datetime | None = None, extra: dict[str, Any] | None = None) -> CheckResult:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    details: dict[str, Any] = {
        "findings": [f.to_dict() for f in findings],
        "counts": counts(findings),
        "columns": compared,
        "align_ddl": align_ddl(findings, source, target, target_dialect, target_table_sql) if errors else [],
        "align_dialect": target_dialect.name,
        "shapes": {"source": {"node": source_node, "shape": source.to_dict()},
                   "target": {"node": target_node, "shape": target.to_dict()}},
        **(extra or {}),
    }
    result = CheckResult(kind=CheckKind.SCHEMA, link_id=link_id, table=table.name, source_node=source_node,
                         target_node=target_node, details=details, check_id=check_id,
                         outcome=Outcome.INCONSISTENT if errors else Outcome.CONSISTENT,
                         started_at=started_at or datetime.now(UTC))
    result.finished_at = datetime.now(UTC)
    return result


def summary_line(result: CheckResult) -> str:
    """``3 errors, 1 warning: fphm length 20 chars -> 10 chars (error); ...`` for people."""
    c = (result.details or {}).get("counts") or {}
    parts = [f"{f['column']} {f['what']} {f.get('source')} -> {f.get('target')} ({f['severity']})"
             for f in (result.details or {}).get("findings") or [] if f.get("severity") != "info"]
    head = f"{c.get('error', 0)} errors, {c.get('warning', 0)} warnings, {c.get('info', 0)} info"
    return head + (": " + "; ".join(parts) if parts else "")


def run_schema_check(lc: LinkCheck, ctx: Any) -> CheckResult:
    """The runner's schema depth for one link check (``ctx``: the run's CheckContext)."""
    from syncverify.dialects import for_engine
    from syncverify.shapes.table import reflect_shape

    started = datetime.now(UTC)
    src_engine, dst_engine = ctx.engine(lc.source.id), ctx.engine(lc.target.id)
    source = reflect_shape(src_engine, lc.source_table, lc.source.schema_name, label=f"source {lc.source.id}")
    target = reflect_shape(dst_engine, lc.target_table, lc.target.schema_name, label=f"target {lc.target.id}")
    dialect = for_engine(dst_engine)
    exclude: list[str] = []
    if any(ctx.connection(n.id).storage == "tables" for n in (lc.source, lc.target)):
        from syncverify.catalog.table_refs import MESSAGE_COLUMNS
        exclude = list(MESSAGE_COLUMNS)
    return schema_result(source, target, table=lc.table, link_id=lc.link.id, source_node=lc.source.id,
                         target_node=lc.target.id, target_dialect=dialect,
                         target_table_sql=dialect.table_name(lc.target_table, lc.target.schema_name),
                         column_map=dict(lc.spec.column_map), exclude=exclude,
                         check_id=f"{CheckKind.SCHEMA.value}/{lc.id}", started_at=started,
                         extra={"link_check": lc.id, "source_table": lc.source_table, "target_table": lc.target_table})
