"""The pre-release gate: is a candidate schema of one node compatible with every link it is on?

Before a production system upgrades, its new schema — a DDL file of ``CREATE TABLE`` statements
(read with the node's dialect, Oracle included) or a pre-production database — is checked
against the live copies at the other end of every link the node feeds or is fed by, for each
table the candidate defines that a link carries:

* the node is a **source**: the candidate against each downstream target (a column the new
  release widens, adds as compared, or retypes must still fit the copies);
* the node is a **target**: each upstream source against the candidate (the new release must
  still hold everything the sources send).

Breaking changes are the findings of severity error (docs/schema.md). The gate never writes:
the candidate is parsed or reflected, the live sides are reflected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog, LinkCheck, Node, load_catalog
from syncverify.dialects import Dialect, for_engine, for_kind
from syncverify.errors import SyncverifyError
from syncverify.exitcodes import ExitCode
from syncverify.masking import mask_text, mask_url
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.schema.check import schema_result
from syncverify.shapes.table import TableShape, parse_ddl, reflect_shape


class SchemaGateError(SyncverifyError):
    """The candidate breaks at least one link, or a side could not be read (raised by
    :func:`gate_job` to fail the task). ``final``: the candidate itself is incompatible, so
    trying again cannot change the answer (a side that could not be read may come back)."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass
class GateReport:
    node: str
    candidate: str                                   # the file, or the masked URL
    results: list[CheckResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[dict[str, Any]]:
        """Every error finding, with the link check it breaks."""
        out = []
        for r in self.results:
            for f in (r.details or {}).get("findings") or []:
                if f.get("severity") == "error":
                    out.append({"check": r.check_id, "link": r.link_id, "table": r.table,
                                "role": (r.details.get("gate") or {}).get("role"), **f})
        return out

    @property
    def not_run(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome is Outcome.NOT_RUN]

    @property
    def exit_code(self) -> ExitCode:
        if self.not_run:
            return ExitCode.ERROR
        return ExitCode.DIFFERENCES if self.breaking else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node, "candidate": self.candidate, "compatible": not self.breaking and not self.not_run,
            "checks": len(self.results), "breaking": self.breaking,
            "warnings": [{"check": r.check_id, **f} for r in self.results
                         for f in (r.details or {}).get("findings") or [] if f.get("severity") == "warning"],
            "not_run": [{"check": r.check_id, "error": r.error} for r in self.not_run],
            "align_ddl": {str(r.check_id): r.details.get("align_ddl") for r in self.results
                          if (r.details or {}).get("align_ddl")},
            "skipped": self.skipped,
        }


def _is_url(candidate: str) -> bool:
    return "://" in candidate and not Path(candidate).exists()


def _links_of(catalog: Catalog, node_id: str) -> list[LinkCheck]:
    return [lc for lc in catalog.link_checks() if node_id in (lc.source.id, lc.target.id)]


def _physical(lc: LinkCheck, node_id: str) -> str:
    return lc.source_table if lc.source.id == node_id else lc.target_table


def load_candidate(candidate: str, node: Node, wanted: set[str]) -> tuple[dict[str, TableShape], Dialect]:
    """The candidate's tables (lower-case physical name -> shape) and the dialect they are in."""
    if _is_url(candidate):
        from syncverify.connect.engine import make_engine
        from syncverify.connect.existing import require_existing

        engine = make_engine(require_existing(candidate), name="candidate")
        try:
            dialect = for_engine(engine)
            insp = sa.inspect(engine)
            present = {t.lower(): t for t in insp.get_table_names(schema=node.schema_name)}
            shapes = {low: reflect_shape(engine, present[low], node.schema_name, label="candidate")
                      for low in sorted(wanted) if low in present}
            return shapes, dialect
        except sa.exc.DBAPIError as exc:
            raise SyncverifyError(f"cannot read the candidate database {mask_url(candidate)}: "
                                  f"{mask_text(str(exc.orig).splitlines()[0])}") from None
        finally:
            engine.dispose()
    path = Path(candidate)
    if not path.is_file():
        raise SyncverifyError(f"candidate {candidate!r} is neither a DDL file nor a database URL")
    dialect = for_kind(node.kind.value)
    return parse_ddl(path.read_text(encoding="utf-8"), dialect), dialect


def infer_node(catalog: Catalog, candidate: str) -> str:
    """The one database node whose tables include every table a DDL file defines."""
    if _is_url(candidate):
        raise SyncverifyError("name the node the candidate database is for with --node")
    text = Path(candidate).read_text(encoding="utf-8") if Path(candidate).is_file() else ""
    fits = []
    for node in catalog.nodes.values():
        if node.is_kafka:
            continue
        try:
            tables = set(parse_ddl(text, for_kind(node.kind.value)))
        except SyncverifyError:
            continue
        mine = {_physical(lc, node.id).lower() for lc in _links_of(catalog, node.id)}
        if tables and tables <= mine:
            fits.append(node.id)
    if len(fits) != 1:
        raise SyncverifyError("name the node the candidate is for with --node"
                              + (f" (it could be any of {', '.join(fits)})" if fits else
                                 " (no node carries every table the candidate defines)"))
    return fits[0]


def release_gate(candidate: str, node_id: str | None = None, *, catalog: Catalog | None = None,
                 catalog_path: str = "checks", profile: str | None = None) -> GateReport:
    """Check a candidate schema of ``node_id`` against every link the node is on."""
    from syncverify.connect.resolve import engine_for_node

    catalog = catalog or load_catalog(catalog_path)
    node_id = node_id or infer_node(catalog, candidate)
    node = catalog.node(node_id)
    if node.is_kafka:
        raise SyncverifyError(f"node {node_id!r} is a Kafka cluster: it has no schema to gate")
    links = _links_of(catalog, node_id)
    shown = mask_url(candidate) if _is_url(candidate) else candidate
    report = GateReport(node=node_id, candidate=shown)
    candidates, cand_dialect = load_candidate(candidate, node, {_physical(lc, node_id).lower() for lc in links})
    for lc in links:
        as_source = lc.source.id == node_id
        mine = candidates.get(_physical(lc, node_id).lower())
        if mine is None:
            continue
        other, other_table = (lc.target, lc.target_table) if as_source else (lc.source, lc.source_table)
        if other.is_kafka:
            report.skipped.append(f"{lc.id}: {other.id} is a Kafka topic (no declared columns)")
            continue
        if not for_kind(other.kind.value).connectable:
            report.skipped.append(f"{lc.id}: {other.id} is read from DDL files only; gate its own release "
                                  f"with --node {other.id}")
            continue
        check_id = f"{CheckKind.SCHEMA.value}/{lc.id}"
        gate = {"candidate": shown, "node": node_id, "role": "source" if as_source else "target"}
        try:
            engine = engine_for_node(other.id, profile=profile, max_concurrency=other.max_concurrency,
                                     statement_timeout_s=other.statement_timeout_s)
            live = reflect_shape(engine, other_table, other.schema_name, label=f"{other.id}")
            live_dialect = for_engine(engine)
        except SyncverifyError as exc:
            report.results.append(CheckResult.not_run(CheckKind.SCHEMA, lc.link.id, lc.table.name, mask_text(str(exc)),
                                                      source_node=lc.source.id, target_node=lc.target.id,
                                                      check_id=check_id, details={"gate": gate}))
            continue
        source, target = (mine, live) if as_source else (live, mine)
        target_dialect = live_dialect if as_source else cand_dialect
        target_schema = lc.target.schema_name
        result = schema_result(source, target, table=lc.table, link_id=lc.link.id, source_node=lc.source.id,
                               target_node=lc.target.id, target_dialect=target_dialect,
                               target_table_sql=target_dialect.table_name(lc.target_table, target_schema),
                               column_map=dict(lc.spec.column_map), check_id=check_id,
                               extra={"gate": gate, "link_check": lc.id})
        result.details.pop("shapes", None)      # a candidate is not a snapshot of production
        report.results.append(result)
    if not report.results and not report.skipped:
        report.skipped.append(f"the candidate defines no table a link of {node_id} carries")
    return report


def gate_job(params: dict[str, Any]) -> dict[str, Any]:
    """The release gate as a job (the ``syncverify_release_gate`` DAG's task): params
    ``candidate`` (DDL file or URL), ``node`` (optional), ``catalog_path``, ``profile``.
    Returns the report as JSON-able data; raises :class:`SchemaGateError` when the candidate
    breaks a link or a side could not be read, so the task fails and the release waits."""
    report = release_gate(str(params["candidate"]), params.get("node") or None,
                          catalog_path=params.get("catalog_path") or "checks", profile=params.get("profile"))
    out = report.to_dict()
    if report.not_run:
        raise SchemaGateError(f"schema gate for {report.node}: {len(report.not_run)} link check(s) could not "
                              f"run: {'; '.join(str(r.error) for r in report.not_run)}", final=False)
    if report.breaking:
        first = report.breaking[0]
        raise SchemaGateError(f"schema gate for {report.node}: {len(report.breaking)} breaking change(s), first "
                              f"{first['check']}: {first['column']} {first['what']} "
                              f"{first.get('source')} -> {first.get('target')}", final=True)
    return out
