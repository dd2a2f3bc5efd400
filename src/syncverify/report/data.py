"""The consistency report as pure data, every number computed from the results store.

Renderers (HTML, Markdown, JSON, PDF, difference lists) read :class:`ConsistencyData` only, so
what a report says is decided here, once, and tested here. Nothing in this module talks to
production. The report's pieces live beside it: :mod:`~syncverify.report.views` (what it holds),
:mod:`~syncverify.report.queries` (the store reads), :mod:`~syncverify.report.sections`,
:mod:`~syncverify.report.ticket_rows`, :mod:`~syncverify.report.repairs` and
:mod:`~syncverify.report.conclusions`.

Definitions (docs/reports.md repeats them for the bureau):

* A **verification item** (验证项) is one table on one link (and one source node, for links that
  read several): ``(link, table, source)``. A run records one or more check results per item
  (count, totals, checksum, diff, Kafka volume/keys/backlog); flow traces and quality results are
  reported separately and are not items.
* An item is **consistent** when every result of it is consistent; **inconsistent** when any is;
  **not run** otherwise (a result that could not run, none inconsistent).
* **一致性达标率** (check level) = consistent items / all items. Items that did not run count as
  not met: the contract asks for every system to be verified.
* **行级一致率** (row level) = 1 - rows differing / rows compared, over the items compared row by
  row (an exact diff or a Kafka key reconciliation): rows compared are the source's rows, rows
  differing the missing, extra, changed rows and duplicate copies (rows in flight are not).
* **修复后达标率** additionally counts an inconsistent item as met when every ticket of it was
  corrected within 24 hours (``repaired_at <= correct_due_at``) and the correction was verified
  by a re-check (``verified_at`` set).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from syncverify.calendar import month_window, parse_month
from syncverify.catalog import Catalog
from syncverify.report.conclusions import conclude
from syncverify.report.masker import Masker
from syncverify.report.queries import (
    month_run_rows,
    month_state,
    month_tickets,
    month_utc,
    produced_by,
    repair_scripts,
    report_months,
    report_run,
)
from syncverify.report.repairs import repair_record
from syncverify.report.schema_rows import schema_rows
from syncverify.report.sections import (
    DIFF_LISTS,
    ITEM_KINDS,
    KEY_KINDS,
    deepest,
    difference_keys,
    quality_suites,
    trace_rows,
    volume_series,
)
from syncverify.report.synclog_data import build_synclog
from syncverify.report.ticket_rows import corrected_in_time, echo_checks, ticket_row
from syncverify.report.units import table_unit
from syncverify.report.views import (
    ConsistencyData,
    GroupRate,
    Item,
    LinkHistory,
    MonthRate,
    Note,
    Rate,
    ReportData,
    aware,
    zoned_text,
)
from syncverify.results import CheckResult, Outcome
from syncverify.store import Store
from syncverify.store.models import Ticket

__all__ = ["DIFF_LISTS", "ITEM_KINDS", "KEY_KINDS", "ConsistencyData", "Note", "Rate", "ReportData",
           "build_consistency", "build_report_data", "month_rate", "report_months", "report_run"]

HISTORY_MONTHS = 6      # months of history per link


def item_key(result: CheckResult) -> tuple[str, str, str | None]:
    return (result.link_id or "-", result.table, result.source_node)


def group_items(results: list[CheckResult]) -> dict[tuple[str, str, str | None], list[CheckResult]]:
    """Results that make up verification items, grouped per (link, table, source)."""
    groups: dict[tuple[str, str, str | None], list[CheckResult]] = defaultdict(list)
    for r in results:
        if r.kind in ITEM_KINDS:
            groups[item_key(r)].append(r)
    return groups


def item_status(results: list[CheckResult]) -> str:
    outcomes = {r.outcome for r in results}
    if Outcome.INCONSISTENT in outcomes:
        return Outcome.INCONSISTENT.value
    if Outcome.NOT_RUN in outcomes:
        return Outcome.NOT_RUN.value
    return Outcome.CONSISTENT.value


def _seconds(r: CheckResult) -> float:
    start, end = aware(r.started_at), aware(r.finished_at)
    return max(0.0, (end - start).total_seconds()) if start and end else 0.0


def _row_counts(d: CheckResult) -> tuple[bool, int, int]:
    """(row level, rows compared, rows differing) of an item's deepest result."""
    if d.kind not in KEY_KINDS or d.outcome is Outcome.NOT_RUN:
        return False, 0, 0
    compared = d.source_rows if d.source_rows is not None else (d.target_rows or 0)
    return True, int(compared), d.missing_count + d.extra_count + d.changed_count + d.duplicate_count


def _tickets_by_item(tickets: list[Ticket]) -> dict[tuple[str, str], list[Ticket]]:
    out: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for t in tickets:
        if t.kind in {"quality", "trace"}:
            continue
        out[(t.link_id or "-", t.table_name)].append(t)
    return out


def _link_rates(store: Store, month: str, tickets: list[Ticket]) -> tuple[Rate, dict[str, Rate]]:
    results, _ = month_state(store, month)
    by_item = _tickets_by_item(tickets)
    rate, per_link = Rate(), dict[str, Rate]()
    for key, rs in group_items(results).items():
        tks = by_item.get(key[:2], [])
        in_time = bool(tks) and all(corrected_in_time(t) for t in tks)
        _, compared, differing = _row_counts(deepest(rs))
        status = item_status(rs)
        rate.add(status, in_time, compared, differing)
        per_link.setdefault(key[0], Rate()).add(status, in_time, compared, differing)
    return rate, per_link


def month_rate(store: Store, month: str, catalog: Catalog, tickets: list[Ticket] | None = None) -> Rate:
    """The overall rate of a month's state (previous months use it for the comparison)."""
    return _link_rates(store, month, tickets or [])[0]


def _history(store: Store, month: str, overall: Rate, link_rates: dict[str, Rate], run_id: str | None,
             catalog: Catalog) -> tuple[list[MonthRate], list[LinkHistory]]:
    """The month against earlier months: overall, and per link over the last months."""
    history: list[MonthRate] = []
    per_month: dict[str, dict[str, Rate]] = {}
    for m in report_months(store):
        if m >= month:
            continue
        prev_run = report_run(store, m)
        if prev_run is None:
            continue
        pm_tickets = month_tickets(store, {r.id for r in store.runs(month=m)}, month_utc(m))
        rate, links = _link_rates(store, m, pm_tickets)
        history.append(MonthRate(m, prev_run.id, rate))
        per_month[m] = links
    if run_id is not None:
        history.append(MonthRate(month, run_id, overall))
        per_month[month] = link_rates
    months = sorted(per_month)[-HISTORY_MONTHS:]
    order = {lid: i for i, lid in enumerate(catalog.links)}
    link_ids = sorted({lid for m in months for lid in per_month[m]}, key=lambda x: (order.get(x, len(order)), x))
    per_link = [
        LinkHistory(lid, catalog.links[lid].title if lid in catalog.links else "", months,
                    [per_month[m][lid].rate if lid in per_month[m] else None for m in months],
                    [per_month[m][lid].row_rate if lid in per_month[m] else None for m in months])
        for lid in link_ids
    ]
    return history, per_link


def build_consistency(store: Store, month: str, catalog: Catalog, *, as_of: datetime | None = None) -> ConsistencyData:
    """Assemble the consistency report of ``month`` from the store."""
    as_of = aware(as_of) or datetime.now(UTC)
    start, end = month_window(month)
    masker = Masker(catalog)
    run = report_run(store, month)
    warnings: list[str] = []    # a corrupt row is skipped and shown, never fatal to the report
    # The month's state, not the latest run: a partial re-run updates its own items only.
    results, origin = month_state(store, month, warnings)
    run_ids = {r.id for r in store.runs(month=month)}
    tickets = month_tickets(store, run_ids, month_utc(month))
    by_item = _tickets_by_item(tickets)

    items: list[Item] = []
    overall = Rate()
    flow_rates: dict[str, Rate] = {}
    link_rates: dict[str, Rate] = {}
    for key, rs in group_items(results).items():
        link_id, table, source = key
        d = deepest(rs)
        status = item_status(rs)
        tks = by_item.get((link_id, table), [])
        in_time = status == Outcome.INCONSISTENT.value and bool(tks) and all(corrected_in_time(t) for t in tks)
        # A link can carry tables of several flows (YP-USE carries invoices and use records):
        # an item counts for a flow only when its table is one the flow follows.
        flows = [f.id for f in catalog.flows_of_link(link_id) if not f.tables or table in f.tables]
        link = catalog.links.get(link_id)
        tdef = catalog.tables.get(table)
        producer = produced_by(rs, origin)
        row_level, compared, differing = _row_counts(d)
        items.append(Item(
            link_id=link_id, link_title=link.title if link else "", table=table,
            table_title=tdef.title if tdef else "", source_node=source, target_node=d.target_node, flows=flows,
            status=status, kinds=sorted({r.kind.value for r in rs}), source_rows=d.source_rows,
            target_rows=d.target_rows, missing=d.missing_count, extra=d.extra_count, changed=d.changed_count,
            duplicate=d.duplicate_count, in_flight=d.in_flight_count, seconds=round(sum(_seconds(r) for r in rs), 3),
            errors=[e for e in (masker.text(r.error) for r in rs if r.outcome is Outcome.NOT_RUN) if e],
            tickets=[t.id for t in tks], repaired_in_time=in_time,
            run_id=producer.run_id if producer else None,
            run_at=zoned_text(producer.run_finished_at) if producer else None,
            unit=table_unit(catalog, table), row_level=row_level, rows_compared=compared, rows_differing=differing))
        overall.add(status, in_time, compared, differing)
        link_rates.setdefault(link_id, Rate()).add(status, in_time, compared, differing)
        for f in flows:
            flow_rates.setdefault(f, Rate()).add(status, in_time, compared, differing)

    per_flow = [GroupRate(f, catalog.flows[f].title, flow_rates[f]) for f in catalog.flows if f in flow_rates]
    order = {lid: i for i, lid in enumerate(catalog.links)}
    per_link = [
        GroupRate(lid, catalog.links[lid].title if lid in catalog.links else "", link_rates[lid])
        for lid in sorted(link_rates, key=lambda x: (order.get(x, len(order)), x))
    ]
    history, link_history = _history(store, month, overall, link_rates, run.id if run else None, catalog)

    rows = [ticket_row(t, as_of, masker, catalog) for t in tickets]
    sla = {
        "tickets": len(rows),
        "repair_met": sum(r.repair_sla == "met" for r in rows),
        "repair_missed": sum(r.repair_sla == "missed" for r in rows),
        "correct_met": sum(r.correct_sla == "met" for r in rows),
        "correct_missed": sum(r.correct_sla == "missed" for r in rows),
        "pending": sum(r.correct_sla == "pending" for r in rows),
        "late": sum("missed" in (r.repair_sla, r.correct_sla) for r in rows),
    }
    quality = quality_suites(results, masker)
    echoes = echo_checks(tickets)
    for q in quality:
        q.echo_of = echoes.get(q.check_id or "")
    not_run = [
        {"check_id": r.check_id, "link_id": r.link_id, "table": r.table, "kind": r.kind.value,
         "error": masker.text(r.error) or ""}
        for r in results if r.outcome is Outcome.NOT_RUN
    ]
    scope = {
        "flows": len(per_flow),
        "links": len(link_rates),
        "tables": len({i.table for i in items}),
        "items": len(items),
        "checks": len(results),
        "rows_compared": sum((i.source_rows or 0) + (i.target_rows or 0) for i in items),
    }
    scripts, events = repair_scripts(store, [t.id for t in tickets])
    repairs, repair_summary = repair_record(tickets, rows, scripts, events, masker, catalog)
    data = ConsistencyData(
        month=month, period_start=f"{start:%Y-%m-%d}", period_end=f"{end - timedelta(days=1):%Y-%m-%d}",
        generated_at=zoned_text(as_of) or "", run_id=run.id if run else None, run_kind=run.kind if run else None,
        run_status=run.status if run else None, scope=scope, overall=overall, per_flow=per_flow, per_link=per_link,
        history=history, items=items, tickets=rows, sla=sla, traces=trace_rows(results, catalog, masker),
        quality=quality, volumes=volume_series(results, catalog), not_run=not_run, conclusion=[],
        recommendations=[], repairs=repairs, repair_summary=repair_summary, link_history=link_history)
    data.conclusion, data.recommendations = conclude(data)
    data.differences = difference_keys(group_items(results), catalog, masker)
    data.differences_total = {n: sum(getattr(i, n) for i in items) for n in DIFF_LISTS}
    data.warnings = warnings
    data.schema = schema_rows(results)
    data.runs = [{"id": r.id, "kind": r.kind, "status": r.status, "finished_at": zoned_text(r.finished_at)}
                 for r in month_run_rows(store, month)]
    return data


def build_report_data(store: Store, month: str, catalog: Catalog, *, as_of: datetime | None = None) -> ReportData:
    """Every number of both reports of ``month``, from the results store only.

    ``as_of`` is the moment deadlines are judged against (a ticket past its deadline and still
    open counts as missed); default now.
    """
    parse_month(month)
    consistency = build_consistency(store, month, catalog, as_of=as_of)
    synclog = build_synclog(store.synclog_analysis(month), month, catalog, generated_at=consistency.generated_at)
    if not synclog.available:
        # Said, not left out: a month whose logs were not found has no root causes from them.
        why = f": {synclog.missing}" if synclog.missing else ""
        consistency.warnings.append(f"no sync-log analysis for {month}{why}")
    return ReportData(month=month, consistency=consistency, synclog=synclog)
