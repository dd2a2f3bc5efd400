"""The repair and maintenance record: per ticket, the plan, who approved it and when, the
pre-check, the rows applied and the re-verification — from the store's repair scripts and the
tickets' events (:mod:`syncverify.tickets.repair`), in the manner of a repair report (out of sync
at first, repaired, failed, not repaired)."""

from __future__ import annotations

from typing import Any

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker
from syncverify.report.units import table_unit
from syncverify.report.views import RepairRow, RepairSummary, TicketRow, aware, zoned_text
from syncverify.store.models import RepairScript, Ticket, TicketEvent

_PLANNED = ("inserts", "updates", "deletes", "duplicate_copies_deleted")
_FAILED = {"precheck_failed", "failed", "interrupted"}


def _events_of(events: list[TicketEvent], script_id: int) -> list[TicketEvent]:
    return [e for e in events if (e.detail or {}).get("script_id") == script_id]


def _reverification(script: RepairScript, ticket: Ticket, events: list[TicketEvent]) -> tuple[str, Any]:
    """What the re-check after the apply found: consistent (ticket verified), still differs (reopened), pending."""
    if script.outcome != "applied" or script.applied_at is None:
        return "not_run", None
    applied_at = aware(script.applied_at)
    for e in events:
        at = aware(e.at)
        if at is None or applied_at is None or at < applied_at:
            continue
        if e.event == "verified":
            return "consistent", e.at
        if e.event == "reopened":
            return "still_differs", e.at
    return "pending", None


def repair_row(script: RepairScript, ticket: Ticket, events: list[TicketEvent], masker: Masker,
               catalog: Catalog) -> RepairRow:
    mine = _events_of(events, script.id)
    ticket_events = [e for e in events if e.ticket_id == ticket.id]
    plan: dict[str, Any] = script.plan or {}
    planned = {k: int(plan.get(k) or 0) for k in _PLANNED}
    if script.plan_kind == "republish":
        planned = {"messages": len(plan.get("messages") or [])}
    applied = next((e for e in reversed(mine) if e.event in {"script_applied", "script_apply_recovered"}), None)
    failed = next((e for e in reversed(mine) if e.event == "script_apply_failed"), None)
    if script.outcome == "applied":
        precheck, detail = "passed", ""
    elif script.outcome == "precheck_failed" and failed is not None:
        d = failed.detail or {}
        precheck, detail = "failed", f"expected {d.get('expected')}, found {d.get('found')}"
    elif script.outcome in _FAILED:
        precheck, detail = ("passed" if script.outcome == "failed" else "not_run"), masker.text(
            (failed.detail or {}).get("error") if failed else "") or ""
    else:
        precheck, detail = "not_run", ""
    rows_applied = None
    if applied is not None and script.outcome == "applied":
        d = applied.detail or {}
        rows_applied = sum(int(d.get(k) or 0) for k in _PLANNED) if any(k in d for k in _PLANNED) \
            else sum(planned.values())
    reverified, reverified_at = _reverification(script, ticket, ticket_events)
    if script.outcome == "applied" and reverified == "consistent":
        category = "repaired"
    elif script.outcome in _FAILED or reverified == "still_differs":
        category = "failed"
    else:
        category = "not_repaired"
    return RepairRow(
        ticket_id=ticket.id, link_id=ticket.link_id, table=ticket.table_name,
        unit=table_unit(catalog, ticket.table_name), script_id=script.id,
        plan_kind=script.plan_kind or "sql", plan_hash=(script.plan_hash or "")[:12],
        generated_at=zoned_text(script.generated_at), planned=planned,
        approved_by=script.approved_by, approved_at=zoned_text(script.approved_at),
        approval_note=masker.text(script.approval_note), applied_by=script.applied_by,
        applied_at=zoned_text(script.applied_at), outcome=script.outcome or "not_applied",
        precheck=precheck, precheck_detail=detail, rows_applied=rows_applied,
        reverified=reverified, reverified_at=zoned_text(reverified_at), ticket_status=ticket.status,
        category=category)


def repair_record(tickets: list[Ticket], rows: list[TicketRow], scripts: list[RepairScript],
                  events: list[TicketEvent], masker: Masker, catalog: Catalog
                  ) -> tuple[list[RepairRow], RepairSummary]:
    """Every repair script of the month's tickets and the counts of the repair report."""
    by_id = {t.id: t for t in tickets}
    repairs = [repair_row(s, by_id[s.ticket_id], events, masker, catalog) for s in scripts if s.ticket_id in by_id]
    summary = RepairSummary()
    latest = {r.ticket_id: r for r in repairs}      # scripts are oldest first: the last one stands
    for row in rows:
        if row.kind in {"trace", "quality"}:
            continue    # a quality fault is corrected at its source, a trace is evidence: no repair script
        differing = row.missing + row.extra + row.changed + row.duplicate
        summary.initially_out_of_sync += 1
        summary.rows_out_of_sync += differing
        r = latest.get(row.id)
        if r is not None and r.category == "repaired":
            summary.repaired += 1
            summary.rows_repaired += r.rows_applied or 0
        elif r is not None and r.category == "failed":
            summary.failed += 1
        else:
            summary.not_repaired += 1
    return repairs, summary
