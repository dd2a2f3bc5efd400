"""The consistency report's sections that read the month's results alone: flow traces, quality
suites, daily volumes and the difference lists."""

from __future__ import annotations

from typing import Any

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker
from syncverify.report.units import table_unit
from syncverify.report.views import DiffKey, QualitySuite, TraceRow, VolumeSeries
from syncverify.results import CheckKind, CheckResult, Outcome

# Kinds that make up a verification item, deepest first: the deepest result that ran gives the
# item's row counts and differences.
ITEM_KINDS = (
    CheckKind.DIFF,
    CheckKind.CHECKSUM,
    CheckKind.TOTALS,
    CheckKind.COUNT,
    CheckKind.KAFKA_KEYS,
    CheckKind.KAFKA_VOLUME,
    CheckKind.KAFKA_BACKLOG,
)
KEY_KINDS = (CheckKind.DIFF, CheckKind.KAFKA_KEYS)
DIFF_LISTS = ("missing", "extra", "changed", "duplicate", "in_flight")


def deepest(results: list[CheckResult]) -> CheckResult:
    """The result whose counts describe the item: the deepest kind that ran."""
    ran = [r for r in results if r.outcome is not Outcome.NOT_RUN] or results
    return min(ran, key=lambda r: ITEM_KINDS.index(r.kind))



def trace_rows(results: list[CheckResult], catalog: Catalog, masker: Masker) -> list[TraceRow]:
    rows = []
    for r in results:
        if r.kind is not CheckKind.TRACE:
            continue
        details = r.details or {}
        flow_id = str(details.get("flow") or r.flow_id or "-")
        flow = catalog.flows.get(flow_id)
        first_missing = details.get("first_missing_hop") or {}
        hops = []
        for link_id, keys in first_missing.items():
            keys = list(keys or [])
            count = (details.get("first_missing_counts") or {}).get(link_id, len(keys))
            hops.append({"link": link_id, "keys": int(count), "samples": [masker.key(r.table, k) for k in keys[:5]]})
        hops.sort(key=lambda h: -h["keys"])
        rows.append(
            TraceRow(
                flow_id=flow_id,
                flow_title=flow.title if flow else "",
                table=r.table,
                outcome=r.outcome.value,
                hops=hops,
                unit=table_unit(catalog, r.table),
            )
        )
    return rows


def _expectations(details: dict[str, Any], masker: Masker) -> list[dict[str, Any]]:
    """Evaluated expectations of a quality result (``syncverify.quality.model.SuiteResult``)."""
    raw = details.get("expectations") or []
    out = []
    for e in raw if isinstance(raw, list) else []:
        if not isinstance(e, dict):
            continue
        columns = e.get("columns") or ([e["column"]] if e.get("column") else [])
        out.append(
            {
                "expectation": str(e.get("expectation_type") or e.get("expectation") or "?"),
                "rule": masker.text(e.get("rule")) or "",
                "column": ", ".join(map(str, columns)) or None,
                "success": bool(e.get("success")),
                "unexpected": int(e.get("unexpected_count") or 0),
                # already masked by the quality runner; masked again in case a producer did not
                "samples": [
                    masker.text("|".join(k) if isinstance(k, list) else k) for k in (e.get("sample_keys") or [])[:5]
                ],
            }
        )
    return out


def quality_suites(results: list[CheckResult], masker: Masker) -> list[QualitySuite]:
    suites = []
    for r in results:
        if r.kind is not CheckKind.QUALITY:
            continue
        details = r.details or {}
        exps = _expectations(details, masker)
        evaluated = int(details.get("evaluated", len(exps)))
        failed = int(details.get("failed", sum(not e["success"] for e in exps)))
        suites.append(
            QualitySuite(
                suite=str(details.get("suite") or r.table),
                table=r.table,
                node=r.target_node or r.source_node,
                link_id=r.link_id,
                outcome=r.outcome.value,
                evaluated=evaluated,
                passed=int(details.get("passed", evaluated - failed)),
                failed=failed,
                not_evaluated=int(details.get("skipped") or 0) + int(details.get("errors") or 0),
                expectations=exps,
                error=masker.text(r.error),
                check_id=r.check_id,
            )
        )
    return suites


def _side_count(value: dict[str, Any], side: str) -> int:
    """A side's row count in one day's entry: ``source_count``, ``source_rows``, ``source`` or
    ``{"source": {"count": n}}`` (the comparison engine's totals carry the count with the sums)."""
    for key in (f"{side}_count", f"{side}_rows"):
        if value.get(key) is not None:
            return int(value[key])
    inner = value.get(side)
    if isinstance(inner, dict):
        return int(inner.get("count") or inner.get("rows") or 0)
    return int(inner or 0)


def daily_counts(details: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per-day row counts (source, target) of every day from a TOTALS result's details.

    ``details["daily"]`` lists every day compared; ``details["days"]`` (what
    :func:`syncverify.compare.levels.business_totals` writes) lists only the days whose totals
    differ, so it is used alone only when it covers every day compared — a chart of the
    differing days alone would show a month with holes as if it were the traffic.
    """
    days = details.get("daily")
    if not days:
        days = details.get("days") or {}
        compared = details.get("days_compared")
        if compared is not None and len(days) != int(compared):
            return {}
    entries: list[tuple[str, Any]]
    if isinstance(days, dict):
        entries = list(days.items())
    else:
        entries = [(str(d.get("day") or d.get("date")), d) for d in days if isinstance(d, dict)]
    out = {str(day)[:10]: (_side_count(v, "source"), _side_count(v, "target")) for day, v in entries if isinstance(v, dict)}
    return dict(sorted(out.items()))


def volume_series(results: list[CheckResult], catalog: Catalog) -> list[VolumeSeries]:
    series = []
    for r in results:
        if r.kind is not CheckKind.TOTALS or r.outcome is Outcome.NOT_RUN or not r.link_id:
            continue
        days = daily_counts(r.details or {})
        if not days:
            continue
        link = catalog.links.get(r.link_id)
        series.append(
            VolumeSeries(
                link_id=r.link_id,
                title=link.title if link else "",
                table=r.table,
                source_node=r.source_node,
                days=list(days),
                source=[v[0] for v in days.values()],
                target=[v[1] for v in days.values()],
            )
        )
    return series



def difference_keys(
    groups: dict[tuple[str, str, str | None], list[CheckResult]], catalog: Catalog, masker: Masker
) -> list[DiffKey]:
    """The differing keys of every item (from its deepest result: levels report the same rows)."""
    out = []
    for (link_id, table, source), rs in groups.items():
        # Only key-level checks name rows: a totals result's changed "keys" are days, a
        # checksum's are buckets.
        keyed = [r for r in rs if r.kind in KEY_KINDS and r.outcome is not Outcome.NOT_RUN]
        if not keyed:
            continue
        d = deepest(keyed)
        tdef = catalog.tables.get(table)
        columns = "|".join(tdef.key) if tdef else ""
        for name in DIFF_LISTS:
            for key in getattr(d, f"{name}_keys"):
                masked = masker.key(table, key)
                text = "|".join(masked) if isinstance(masked, list | tuple) else str(masked)
                out.append(
                    DiffKey(
                        link_id=link_id,
                        table=table,
                        source_node=source,
                        target_node=d.target_node,
                        check_kind=d.kind.value,
                        difference=name,
                        key=text,
                        key_columns=columns,
                    )
                )
    return out


