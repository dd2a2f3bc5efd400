"""Tickets as the report shows them: counts by kind of difference, when the fault occurred and
was detected, its root cause and the 8 h / 24 h SLA status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncverify.catalog import Catalog
from syncverify.report.masker import Masker
from syncverify.report.units import table_unit
from syncverify.report.views import TicketRow, aware, zoned_text
from syncverify.results import CheckKind
from syncverify.store.models import Ticket
from syncverify.tickets.cause import NOT_ANALYSED

# Kinds whose counts describe a ticket, most precise first.
_PRECISION = [k.value for k in (CheckKind.DIFF, CheckKind.KAFKA_KEYS, CheckKind.CHECKSUM, CheckKind.TOTALS,
                                CheckKind.COUNT, CheckKind.KAFKA_VOLUME, CheckKind.KAFKA_BACKLOG)]


def sla_state(done: datetime | None, due: datetime | None, as_of: datetime) -> str:
    d, due_a = aware(done), aware(due)
    if due_a is None:
        return "pending"
    if d is not None:
        return "met" if d <= due_a else "missed"
    return "missed" if as_of > due_a else "pending"


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    s, e = aware(start), aware(end)
    return None if s is None or e is None else round((e - s).total_seconds() / 3600, 2)


def corrected_in_time(ticket: Ticket) -> bool:
    """Corrected within the 24 h deadline and verified by a re-check."""
    repaired, due = aware(ticket.repaired_at), aware(ticket.correct_due_at)
    return repaired is not None and due is not None and repaired <= due and ticket.verified_at is not None


def ticket_counts(t: Ticket) -> dict[str, int]:
    """Differences on the ticket, from its most precise check (a totals check counts days, a
    checksum buckets; an exact diff counts rows)."""
    checks = [c for c in ((t.evidence or {}).get("checks") or {}).values() if isinstance(c, dict)]
    names = ("missing", "extra", "changed", "duplicate")
    if not checks:
        return dict.fromkeys(names, 0)
    best = min(checks, key=lambda c: _PRECISION.index(c["check_kind"]) if c.get("check_kind") in _PRECISION
               else len(_PRECISION))
    return {n: int(best.get(f"{n}_count") or 0) for n in names}


def echo_checks(tickets: list[Ticket]) -> dict[str, int]:
    """Check id -> the ticket it was filed under as an echo of that ticket's fault."""
    out: dict[str, int] = {}
    for t in tickets:
        for check_id in ((t.evidence or {}).get("echoes") or {}):
            out[str(check_id)] = t.id
    return out


def ticket_row(t: Ticket, as_of: datetime, masker: Masker, catalog: Catalog) -> TicketRow:
    counts = ticket_counts(t)
    cause: dict[str, Any] = (t.evidence or {}).get("root_cause") or {}
    events = [{"explains": str(e.get("explains") or ""), "kind": str(e.get("kind") or ""),
               "title": masker.text(e.get("title")) or "", "start": zoned_text(_parse(e.get("start")))}
              for e in cause.get("log_events") or [] if isinstance(e, dict)]
    return TicketRow(
        id=t.id,
        title=masker.text(t.title) or "",
        kind=t.kind,
        link_id=t.link_id,
        node=t.target_node or t.source_node,
        table=t.table_name,
        status=t.status,
        occurred_at=zoned_text(t.occurred_at),
        detected_at=zoned_text(t.detected_at),
        repair_due_at=zoned_text(t.repair_due_at),
        correct_due_at=zoned_text(t.correct_due_at),
        repair_started_at=zoned_text(t.repair_started_at),
        corrected_at=zoned_text(t.repaired_at),
        verified_at=zoned_text(t.verified_at),
        repair_sla=sla_state(t.repair_started_at, t.repair_due_at, as_of),
        correct_sla=sla_state(t.repaired_at, t.correct_due_at, as_of),
        hours_to_start=_hours(t.detected_at, t.repair_started_at),
        hours_to_correct=_hours(t.detected_at, t.repaired_at),
        missing=counts["missing"],
        extra=counts["extra"],
        changed=counts["changed"],
        duplicate=counts["duplicate"],
        unit=table_unit(catalog, t.table_name),
        root_cause=masker.text(cause.get("text")) or "",
        root_cause_events=events,
        root_cause_unexplained=[str(u) for u in cause.get("unexplained") or []],
        root_cause_analysed=cause.get("text") != NOT_ANALYSED,
        echoes=sorted(str(k) for k in ((t.evidence or {}).get("echoes") or {})),
    )


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
