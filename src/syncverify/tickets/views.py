"""Tickets as plain, JSON-able dicts for people, the CLI and the sinks (never unmasked keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncverify.store.models import Ticket, TicketEvent
from syncverify.tickets.clock import aware
from syncverify.tickets.evidence import public_evidence


def iso(value: datetime | None) -> str | None:
    v = aware(value)
    return v.isoformat() if v else None


def sla_state(ticket: Ticket) -> dict[str, Any]:
    """Whether each deadline was met, missed, or is still running. A repair start is met only by
    an actual start (``tickets start``, ``resolve`` by a person, an applied script); data that
    came right by itself (a late copy caught up) shows ``not_started``, never ``met``."""
    def state(done: datetime | None, due: datetime, settled: bool = False) -> str:
        d, due_a = aware(done), aware(due)
        assert due_a is not None
        if d is None:
            return "not_started" if settled else "running"
        return "met" if d <= due_a else "missed"
    return {"repair_start": state(ticket.repair_started_at, ticket.repair_due_at, ticket.repaired_at is not None),
            "correction": state(ticket.repaired_at, ticket.correct_due_at)}


def event_view(event: TicketEvent) -> dict[str, Any]:
    return {"id": event.id, "at": iso(event.at), "actor": event.actor, "event": event.event,
            "detail": event.detail or {}}


def ticket_view(ticket: Ticket, *, events: list[TicketEvent] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ticket.id, "title": ticket.title, "kind": ticket.kind, "status": ticket.status,
        "open": ticket.open_key is not None,
        "link_id": ticket.link_id, "table": ticket.table_name, "check_id": ticket.check_id,
        "source_node": ticket.source_node, "target_node": ticket.target_node,
        "occurred_at": iso(ticket.occurred_at), "detected_at": iso(ticket.detected_at),
        "repair_due_at": iso(ticket.repair_due_at),
        "correct_due_at": iso(ticket.correct_due_at), "acknowledged_at": iso(ticket.acknowledged_at),
        "repair_started_at": iso(ticket.repair_started_at), "repaired_at": iso(ticket.repaired_at),
        "verified_at": iso(ticket.verified_at), "closed_at": iso(ticket.closed_at),
        "reopen_count": ticket.reopen_count, "last_run_id": ticket.last_run_id,
        "last_seen_at": iso(ticket.last_seen_at), "sla": sla_state(ticket),
        "evidence": public_evidence(ticket.evidence),
    }
    if events is not None:
        out["events"] = [event_view(e) for e in events]
    return out
