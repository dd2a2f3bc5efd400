"""The consistency report as pure data, every number computed from the results store.

Renderers (HTML, Markdown, JSON, difference lists) read :class:`ConsistencyData` only, so what a
report says is decided here, once, and tested here. Nothing in this module talks to production.

Definitions (docs/reports.md repeats them for the bureau):

* A **verification item** (验证项) is one table on one link (and one source node, for links that
  read several): ``(link, table, source)``. A run records one or more check results per item
  (count, totals, checksum, diff, Kafka volume/keys/backlog); flow traces and quality results are
  reported separately and are not items.
* An item is **consistent** when every result of it is consistent; **inconsistent** when any is;
  **not run** otherwise (a result that could not run, none inconsistent).
* **一致性达标率** = consistent items / all items. Items that did not run count as not met: the
  contract asks for every system to be verified.
* **修复后达标率** additionally counts an inconsistent item as met when every ticket of it was
  corrected within 24 hours (``repaired_at <= correct_due_at``) and the correction was verified
  by a re-check (``verified_at`` set).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker
from syncverify.report.schema_rows import SchemaRow, schema_rows
from syncverify.report.synclog_data import SynclogData, build_synclog
from syncverify.results import CheckKind, CheckResult, Outcome
from syncverify.store import Store
from syncverify.store.models import Run, Ticket
from syncverify.store.month import PARTIAL_RUN_KINDS, MonthResult, month_runs

BUREAU_TZ_OFFSET = "+08:00"

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


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_text(value: datetime | None) -> str | None:
    """A store time (UTC) as the bureau reads it: ``2026-10-09 17:31`` in Asia/Shanghai."""
    from syncverify.calendar import BUREAU_TZ

    v = _aware(value)
    return None if v is None else v.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class Note:
    """A conclusion or recommendation: an i18n key and the numbers it states."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rate:
    """Items by status and the two rates (fractions 0..1; None when nothing was verified)."""

    items: int = 0
    consistent: int = 0
    inconsistent: int = 0
    not_run: int = 0
    repaired_in_time: int = 0
    rate: float | None = None
    rate_after_repair: float | None = None

    def add(self, status: str, repaired_in_time: bool) -> None:
        self.items += 1
        if status == Outcome.CONSISTENT.value:
            self.consistent += 1
        elif status == Outcome.INCONSISTENT.value:
            self.inconsistent += 1
            self.repaired_in_time += repaired_in_time
        else:
            self.not_run += 1
        self.rate = ratio(self.consistent, self.items)
        self.rate_after_repair = ratio(self.consistent + self.repaired_in_time, self.items)


@dataclass
class GroupRate:
    id: str
    title: str
    rate: Rate


@dataclass
class MonthRate:
    month: str
    run_id: str
    rate: Rate


@dataclass
class Item:
    """One verification item with the numbers of its deepest result."""

    link_id: str
    link_title: str
    table: str
    table_title: str
    source_node: str | None
    target_node: str | None
    flows: list[str]
    status: str
    kinds: list[str]
    source_rows: int | None
    target_rows: int | None
    missing: int
    extra: int
    changed: int
    duplicate: int
    in_flight: int
    seconds: float
    errors: list[str]
    tickets: list[int]
    repaired_in_time: bool
    # The run that last updated the item (a month is verified by several runs: a re-run of one
    # link updates its items only), and when that run finished, in Beijing time with its zone.
    run_id: str | None = None
    run_at: str | None = None


@dataclass
class TicketRow:
    id: int
    title: str
    kind: str
    link_id: str | None
    node: str | None  # where a ticket without a link (quality) was raised
    table: str
    status: str
    detected_at: str | None
    repair_due_at: str | None
    correct_due_at: str | None
    repair_started_at: str | None
    corrected_at: str | None
    verified_at: str | None
    repair_sla: str  # met / missed / pending
    correct_sla: str
    hours_to_start: float | None
    hours_to_correct: float | None
    missing: int
    extra: int
    changed: int


@dataclass
class TraceRow:
    flow_id: str
    flow_title: str
    table: str
    outcome: str
    hops: list[dict[str, Any]]  # [{link, keys, samples}] where invoices first went missing


@dataclass
class QualitySuite:
    suite: str
    table: str
    node: str | None
    link_id: str | None
    outcome: str
    evaluated: int
    passed: int
    failed: int
    not_evaluated: int
    expectations: list[dict[str, Any]]
    error: str | None


@dataclass
class VolumeSeries:
    link_id: str
    title: str
    table: str
    source_node: str | None
    days: list[str]
    source: list[int]
    target: list[int]


@dataclass
class DiffKey:
    """One differing key for the difference lists (masked as people may see it)."""

    link_id: str
    table: str
    source_node: str | None
    target_node: str | None
    check_kind: str
    difference: str  # missing / extra / changed / duplicate / in_flight
    key: str  # composite keys joined with "|"
    key_columns: str


@dataclass
class ConsistencyData:
    month: str
    period_start: str
    period_end: str
    generated_at: str
    run_id: str | None
    run_kind: str | None
    run_status: str | None
    scope: dict[str, int]
    overall: Rate
    per_flow: list[GroupRate]
    per_link: list[GroupRate]
    history: list[MonthRate]
    items: list[Item]
    tickets: list[TicketRow]
    sla: dict[str, int]
    traces: list[TraceRow]
    quality: list[QualitySuite]
    volumes: list[VolumeSeries]
    not_run: list[dict[str, Any]]
    conclusion: list[Note]
    recommendations: list[Note]
    differences: list[DiffKey] = field(default_factory=list)
    differences_total: dict[str, int] = field(default_factory=dict)  # exact counts (lists are capped)
    warnings: list[str] = field(default_factory=list)  # corrupt store rows skipped, by table / id / check
    # Every run whose results make up the month's state, oldest first: {id, kind, status, finished_at}
    runs: list[dict[str, Any]] = field(default_factory=list)
    schema: list[SchemaRow] = field(default_factory=list)   # per link and table, errors first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- which run a month's report reads ----------------------------------------------------------


def report_run(store: Store, month: str) -> Run | None:
    """The run that last updated ``month``'s state (the run named in the report's header).

    The report's numbers are not this run's alone: they are the month's state — the latest
    result of every check across all the month's runs (:meth:`Store.month_results`). Hourly
    incremental runs and the daily patrol cover hours or a day and never stand for the month.
    """
    with store.session() as s:
        runs = month_runs(s, month)
    return runs[-1] if runs else None


def report_months(store: Store) -> list[str]:
    """Every month that has a finished run standing for it, oldest first."""
    return sorted({r.month for r in store.runs()
                   if r.month and r.finished_at is not None and r.kind not in PARTIAL_RUN_KINDS})


def _month_state(store: Store, month: str, warnings: list[str] | None = None
                 ) -> tuple[list[CheckResult], dict[str, MonthResult]]:
    """The month's latest results and, per check id, where each came from."""
    state = store.month_results(month, warnings=warnings)
    return [m.result for m in state], {m.result.check_id or "": m for m in state}


def _produced_by(rs: list[CheckResult], origin: dict[str, MonthResult]) -> MonthResult | None:
    """The run that last updated an item: the latest-finishing run among its results."""
    found = [origin[r.check_id or ""] for r in rs if (r.check_id or "") in origin]
    return max(found, key=lambda m: (m.run_finished_at or datetime.max.replace(tzinfo=UTC), m.run_id)) if found else None


def zoned_text(value: datetime | None) -> str | None:
    """A store time (UTC) in Beijing time with its zone shown: ``2026-10-09 17:31 +08:00``."""
    text = local_text(value)
    return None if text is None else f"{text} {BUREAU_TZ_OFFSET}"


# ---- items ---------------------------------------------------------------------------------------


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


def deepest(results: list[CheckResult]) -> CheckResult:
    """The result whose counts describe the item: the deepest kind that ran."""
    ran = [r for r in results if r.outcome is not Outcome.NOT_RUN] or results
    return min(ran, key=lambda r: ITEM_KINDS.index(r.kind))


def _seconds(r: CheckResult) -> float:
    start, end = _aware(r.started_at), _aware(r.finished_at)
    return max(0.0, (end - start).total_seconds()) if start and end else 0.0


# ---- tickets -------------------------------------------------------------------------------------


def _sla(done: datetime | None, due: datetime | None, as_of: datetime) -> str:
    d, due_a = _aware(done), _aware(due)
    if due_a is None:
        return "pending"
    if d is not None:
        return "met" if d <= due_a else "missed"
    return "missed" if as_of > due_a else "pending"


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    s, e = _aware(start), _aware(end)
    return None if s is None or e is None else round((e - s).total_seconds() / 3600, 2)


def corrected_in_time(ticket: Ticket) -> bool:
    """Corrected within the 24 h deadline and verified by a re-check."""
    repaired, due = _aware(ticket.repaired_at), _aware(ticket.correct_due_at)
    return repaired is not None and due is not None and repaired <= due and ticket.verified_at is not None


def month_tickets(store: Store, run_ids: set[str], window: tuple[datetime, datetime]) -> list[Ticket]:
    """Tickets of the month: raised or seen by one of its runs, or detected inside its period."""
    with store.session() as s:
        tickets = list(s.scalars(sa.select(Ticket).order_by(Ticket.id)))
    out = []
    for t in tickets:
        runs = {c.get("run_id") for c in ((t.evidence or {}).get("checks") or {}).values() if isinstance(c, dict)}
        detected = _aware(t.detected_at)
        in_period = detected is not None and window[0] <= detected < window[1]
        if t.last_run_id in run_ids or runs & run_ids or in_period:
            out.append(t)
    return out


def _ticket_counts(t: Ticket) -> tuple[int, int, int]:
    """Differences on the ticket, from its most precise check (a totals check counts days, a
    checksum buckets; an exact diff counts rows)."""
    checks = [c for c in ((t.evidence or {}).get("checks") or {}).values() if isinstance(c, dict)]
    if not checks:
        return 0, 0, 0
    rank = [k.value for k in ITEM_KINDS]
    best = min(checks, key=lambda c: rank.index(c["check_kind"]) if c.get("check_kind") in rank else len(rank))
    return int(best.get("missing_count") or 0), int(best.get("extra_count") or 0), int(best.get("changed_count") or 0)


def ticket_row(t: Ticket, as_of: datetime, masker: Masker) -> TicketRow:
    missing, extra, changed = _ticket_counts(t)
    return TicketRow(
        id=t.id,
        title=masker.text(t.title) or "",
        kind=t.kind,
        link_id=t.link_id,
        node=t.target_node or t.source_node,
        table=t.table_name,
        status=t.status,
        detected_at=local_text(t.detected_at),
        repair_due_at=local_text(t.repair_due_at),
        correct_due_at=local_text(t.correct_due_at),
        repair_started_at=local_text(t.repair_started_at),
        corrected_at=local_text(t.repaired_at),
        verified_at=local_text(t.verified_at),
        repair_sla=_sla(t.repair_started_at, t.repair_due_at, as_of),
        correct_sla=_sla(t.repaired_at, t.correct_due_at, as_of),
        hours_to_start=_hours(t.detected_at, t.repair_started_at),
        hours_to_correct=_hours(t.detected_at, t.repaired_at),
        missing=missing,
        extra=extra,
        changed=changed,
    )


# ---- traces, quality, volumes -----------------------------------------------------------------


def trace_rows(results: list[CheckResult], catalog: Catalog, masker: Masker) -> list[TraceRow]:
    rows = []
    for r in results:
        if r.kind is not CheckKind.TRACE:
            continue
        details = r.details or {}
        flow_id = str(details.get("flow") or r.link_id or "-")
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


# ---- the whole report ------------------------------------------------------------------------------


def month_rate(store: Store, month: str, catalog: Catalog, tickets: list[Ticket] | None = None) -> Rate:
    """The overall rate of a month's state (previous months use it for the comparison)."""
    results, _ = _month_state(store, month)
    by_item = _tickets_by_item(tickets or [])
    rate = Rate()
    for key, rs in group_items(results).items():
        tks = by_item.get(key[:2], [])
        rate.add(item_status(rs), bool(tks) and all(corrected_in_time(t) for t in tks))
    return rate


def _tickets_by_item(tickets: list[Ticket]) -> dict[tuple[str, str], list[Ticket]]:
    out: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for t in tickets:
        if t.kind in {"quality", "trace"}:
            continue
        out[(t.link_id or "-", t.table_name)].append(t)
    return out


def month_utc(month: str) -> tuple[datetime, datetime]:
    """The calendar month in the bureau's time zone, as UTC instants (tickets are stored in UTC)."""
    from syncverify.calendar import BUREAU_TZ, month_window

    start, end = month_window(month)
    return start.replace(tzinfo=BUREAU_TZ).astimezone(UTC), end.replace(tzinfo=BUREAU_TZ).astimezone(UTC)


def build_consistency(store: Store, month: str, catalog: Catalog, *, as_of: datetime | None = None) -> ConsistencyData:
    """Assemble the consistency report of ``month`` from the store."""
    from syncverify.calendar import month_window

    as_of = _aware(as_of) or datetime.now(UTC)
    start, end = month_window(month)
    window_utc = month_utc(month)
    masker = Masker(catalog)
    run = report_run(store, month)
    warnings: list[str] = []    # a corrupt row is skipped and shown, never fatal to the report
    # The month's state, not the latest run: a partial re-run updates its own items only.
    results, origin = _month_state(store, month, warnings)
    run_ids = {r.id for r in store.runs(month=month)}
    tickets = month_tickets(store, run_ids, window_utc)
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
        producer = _produced_by(rs, origin)
        items.append(
            Item(
                link_id=link_id,
                link_title=link.title if link else "",
                table=table,
                table_title=tdef.title if tdef else "",
                source_node=source,
                target_node=d.target_node,
                flows=flows,
                status=status,
                kinds=sorted({r.kind.value for r in rs}),
                source_rows=d.source_rows,
                target_rows=d.target_rows,
                missing=d.missing_count,
                extra=d.extra_count,
                changed=d.changed_count,
                duplicate=d.duplicate_count,
                in_flight=d.in_flight_count,
                seconds=round(sum(_seconds(r) for r in rs), 3),
                errors=[e for e in (masker.text(r.error) for r in rs if r.outcome is Outcome.NOT_RUN) if e],
                tickets=[t.id for t in tks],
                repaired_in_time=in_time,
                run_id=producer.run_id if producer else None,
                run_at=zoned_text(producer.run_finished_at) if producer else None,
            )
        )
        overall.add(status, in_time)
        link_rates.setdefault(link_id, Rate()).add(status, in_time)
        for f in flows:
            flow_rates.setdefault(f, Rate()).add(status, in_time)

    per_flow = [GroupRate(f, catalog.flows[f].title, flow_rates[f]) for f in catalog.flows if f in flow_rates]
    order = {lid: i for i, lid in enumerate(catalog.links)}
    per_link = [
        GroupRate(lid, catalog.links[lid].title if lid in catalog.links else "", link_rates[lid])
        for lid in sorted(link_rates, key=lambda x: (order.get(x, len(order)), x))
    ]
    history = []
    for m in report_months(store):
        if m >= month:
            continue
        prev_run = report_run(store, m)
        if prev_run is None:
            continue
        pm_tickets = month_tickets(store, {r.id for r in store.runs(month=m)}, month_utc(m))
        history.append(MonthRate(m, prev_run.id, month_rate(store, m, catalog, pm_tickets)))
    if run is not None:
        history.append(MonthRate(month, run.id, overall))

    rows = [ticket_row(t, as_of, masker) for t in tickets]
    sla = {
        "tickets": len(rows),
        "repair_met": sum(r.repair_sla == "met" for r in rows),
        "repair_missed": sum(r.repair_sla == "missed" for r in rows),
        "correct_met": sum(r.correct_sla == "met" for r in rows),
        "correct_missed": sum(r.correct_sla == "missed" for r in rows),
        "pending": sum(r.correct_sla == "pending" for r in rows),
        "late": sum("missed" in (r.repair_sla, r.correct_sla) for r in rows),
    }
    traces = trace_rows(results, catalog, masker)
    quality = quality_suites(results, masker)
    not_run = [
        {
            "check_id": r.check_id,
            "link_id": r.link_id,
            "table": r.table,
            "kind": r.kind.value,
            "error": masker.text(r.error) or "",
        }
        for r in results
        if r.outcome is Outcome.NOT_RUN
    ]
    scope = {
        "flows": len(per_flow),
        "links": len(link_rates),
        "tables": len({i.table for i in items}),
        "items": len(items),
        "checks": len(results),
        "rows_compared": sum((i.source_rows or 0) + (i.target_rows or 0) for i in items),
    }
    data = ConsistencyData(
        month=month,
        period_start=f"{start:%Y-%m-%d}",
        period_end=f"{end - timedelta(days=1):%Y-%m-%d}",
        generated_at=local_text(as_of) or "",
        run_id=run.id if run else None,
        run_kind=run.kind if run else None,
        run_status=run.status if run else None,
        scope=scope,
        overall=overall,
        per_flow=per_flow,
        per_link=per_link,
        history=history,
        items=items,
        tickets=rows,
        sla=sla,
        traces=traces,
        quality=quality,
        volumes=volume_series(results, catalog),
        not_run=not_run,
        conclusion=[],
        recommendations=[],
    )
    data.conclusion, data.recommendations = conclude(data)
    data.differences = difference_keys(group_items(results), catalog, masker)
    data.differences_total = {n: sum(getattr(i, n) for i in items) for n in DIFF_LISTS}
    data.warnings = warnings
    data.schema = schema_rows(results)
    with store.session() as s:
        data.runs = [{"id": r.id, "kind": r.kind, "status": r.status, "finished_at": zoned_text(r.finished_at)}
                     for r in month_runs(s, month)]
    return data


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


def conclude(data: ConsistencyData) -> tuple[list[Note], list[Note]]:
    """Conclusions and recommendations, from the numbers only (rule-based, stated with them)."""
    o = data.overall
    conclusion: list[Note] = []
    recs: list[Note] = []
    if data.run_id is None:
        # Nothing verified is not "all consistent": the contract asks for a verification a month.
        return [Note("n_no_run", {"month": data.month})], [Note("r_no_run", {"month": data.month})]
    if o.items and o.consistent == o.items:
        conclusion.append(Note("n_all_consistent", {"items": o.items}))
    else:
        conclusion.append(
            Note(
                "n_rate",
                {
                    "items": o.items,
                    "consistent": o.consistent,
                    "inconsistent": o.inconsistent,
                    "not_run": o.not_run,
                    "rate": o.rate,
                    "rate_after": o.rate_after_repair,
                },
            )
        )
    if data.sla["tickets"]:
        conclusion.append(Note("n_sla", dict(data.sla)))
    if len(data.history) >= 2:
        prev = data.history[-2]
        conclusion.append(Note("n_trend", {"month": prev.month, "prev": prev.rate.rate, "rate": o.rate}))
    bad = sorted(
        (i for i in data.items if i.status == Outcome.INCONSISTENT.value),
        key=lambda i: -(i.missing + i.extra + i.changed + i.duplicate),
    )
    if bad:
        w = bad[0]
        conclusion.append(
            Note(
                "n_worst_link",
                {
                    "link": w.link_id,
                    "title": w.link_title,
                    "missing": w.missing,
                    "extra": w.extra,
                    "changed": w.changed,
                },
            )
        )
    for i in bad[:5]:
        recs.append(
            Note(
                "r_fix_link",
                {
                    "link": i.link_id,
                    "title": i.link_title,
                    "table": i.table,
                    "missing": i.missing,
                    "extra": i.extra,
                    "changed": i.changed,
                },
            )
        )
    for t in data.traces:
        for hop in t.hops[:1]:
            recs.append(
                Note(
                    "r_trace",
                    {"flow": f"{t.flow_id} {t.flow_title}".strip(), "keys": hop["keys"], "link": hop["link"]},
                )
            )
    for nr in data.not_run[:5]:
        recs.append(Note("r_not_run", {"link": nr["link_id"] or "-", "table": nr["table"], "error": nr["error"]}))
    if data.sla["late"]:
        recs.append(Note("r_sla", {"missed": data.sla["late"]}))
    for q in data.quality:
        if q.failed:
            recs.append(
                Note(
                    "r_quality",
                    {"suite": q.suite, "table": q.table, "node": q.node or "-", "failed": q.failed},
                )
            )
    if not recs:
        recs.append(Note("r_keep"))
    return conclusion, recs


@dataclass
class ReportData:
    """Both monthly reports of one month: what every renderer reads."""

    month: str
    consistency: ConsistencyData
    synclog: SynclogData

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "consistency": self.consistency.to_dict(),
            "synclog": self.synclog.to_dict(),
        }


def build_report_data(store: Store, month: str, catalog: Catalog, *, as_of: datetime | None = None) -> ReportData:
    """Every number of both reports of ``month``, from the results store only.

    ``as_of`` is the moment deadlines are judged against (a ticket past its deadline and still
    open counts as missed); default now.
    """
    from syncverify.calendar import parse_month

    parse_month(month)
    consistency = build_consistency(store, month, catalog, as_of=as_of)
    synclog = build_synclog(store.synclog_analysis(month), month, catalog, generated_at=consistency.generated_at)
    if not synclog.available:
        # Said, not left out: a month whose logs were not found has no root causes from them.
        why = f": {synclog.missing}" if synclog.missing else ""
        consistency.warnings.append(f"no sync-log analysis for {month}{why}")
    return ReportData(month=month, consistency=consistency, synclog=synclog)
