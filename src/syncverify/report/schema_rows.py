"""The schema section of the consistency report: per link and table, how the target's columns
compare with the source's (errors, warnings, information), what changed since the last snapshot
and the DDL that would align the target — read from the month's schema results only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncverify.results import CheckKind, CheckResult, Outcome

_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class SchemaRow:
    link_id: str | None
    table: str
    source_node: str | None
    target_node: str | None
    outcome: str
    errors: int
    warnings: int
    infos: int
    findings: list[dict[str, Any]] = field(default_factory=list)   # column, what, source, target, severity
    changes: list[dict[str, Any]] = field(default_factory=list)    # since the previous snapshot
    align_ddl: list[str] = field(default_factory=list)
    error: str | None = None


def schema_rows(results: list[CheckResult]) -> list[SchemaRow]:
    """One row per schema result of the month, links with errors first."""
    rows = []
    for r in results:
        if r.kind is not CheckKind.SCHEMA:
            continue
        details = r.details or {}
        findings = sorted((f for f in details.get("findings") or [] if isinstance(f, dict)),
                          key=lambda f: (_ORDER.get(str(f.get("severity")), 3), str(f.get("column"))))
        counts = details.get("counts") or {}
        ddl = details.get("align_ddl") or []
        rows.append(SchemaRow(
            link_id=r.link_id, table=r.table, source_node=r.source_node, target_node=r.target_node,
            outcome=r.outcome.value, errors=int(counts.get("error", 0)), warnings=int(counts.get("warning", 0)),
            infos=int(counts.get("info", 0)), findings=findings,
            changes=[c for c in details.get("changes") or [] if isinstance(c, dict)],
            align_ddl=[str(d) for d in (ddl if isinstance(ddl, list) else [ddl])],
            error=r.error if r.outcome is Outcome.NOT_RUN else None))
    rows.sort(key=lambda row: (-row.errors, row.outcome != "not_run", -row.warnings, str(row.link_id), row.table))
    return rows
