"""The outbox: deliveries are written with the ticket change, and sent afterwards.

Every ticket event that matters outside (see :data:`QUIET_EVENTS` for those that do not) gets one
``Delivery`` row per configured sink *in the same transaction* as the change itself, so a change
is never committed without its deliveries, and a sink that is down loses nothing: the row stays
``pending`` until :func:`deliver_pending` gets it through. The delay (``delivered_at -
created_at``) is reported, and a delivery that had failed before is recorded as a
``delivery_delayed`` event on the ticket.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.masking import mask_text
from syncverify.store import Store
from syncverify.store.models import Delivery, Ticket, TicketEvent
from syncverify.tickets.clock import aware, need_aware
from syncverify.tickets.sinks import Sink, SinkError
from syncverify.tickets.views import event_view, ticket_view

# Events kept in the store only: a ticket seen again by every run, and the outbox's own notes.
QUIET_EVENTS = frozenset({"seen_again", "delivery_delayed"})


def enqueue(session: Session, ticket: Ticket, event: TicketEvent, sink_names: Sequence[str],
            now: datetime) -> list[Delivery]:
    """Write the deliveries of ``event`` (already flushed, so it has an id) to every sink."""
    if event.event in QUIET_EVENTS or not sink_names:
        return []
    payload = {"source": "syncverify", "ticket_ref": f"sv-ticket-{ticket.id}",
               "event": event_view(event), "ticket": ticket_view(ticket)}
    rows = []
    for sink in sink_names:
        # Random part: ticket and event ids restart when a store is recreated (demo runs), and a
        # receiving system must never mistake a new ticket's event for an old one's.
        key = f"sv-t{ticket.id}-e{event.id}-{uuid.uuid4().hex[:12]}"
        row = Delivery(ticket_id=ticket.id, sink=sink, idempotency_key=key, payload=payload,
                       status="pending", attempts=0, created_at=now)
        session.add(row)
        rows.append(row)
    return rows


@dataclass
class DeliveryReport:
    """What :func:`deliver_pending` did; ``delivered`` items carry ``delay_s``."""

    delivered: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)   # no such sink configured here

    def to_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed, "skipped": self.skipped}


def deliver_pending(store: Store, sinks: Mapping[str, Sink] | Sequence[Sink], now: datetime | None = None,
                    *, limit: int = 1000) -> DeliveryReport:
    """Send pending deliveries, oldest first. Sends happen outside any store transaction."""
    by_name: dict[str, Sink] = dict(sinks) if isinstance(sinks, Mapping) else {s.name: s for s in sinks}
    report = DeliveryReport()
    with store.session() as s:
        pending = list(s.scalars(sa.select(Delivery).where(Delivery.status == "pending")
                                 .order_by(Delivery.id).limit(limit)))
    for row in pending:
        sink = by_name.get(row.sink)
        if sink is None:
            report.skipped.append({"id": row.id, "ticket_id": row.ticket_id, "sink": row.sink})
            continue
        try:
            attempts = sink.send(row.payload, row.idempotency_key)
            error: str | None = None
        except SinkError as exc:
            attempts, error = exc.attempts, mask_text(str(exc))
        at = need_aware(now)
        with store.session() as s:
            current = s.get(Delivery, row.id)
            if current is None or current.status != "pending":
                continue      # another worker got there first (the idempotency key covers it)
            current.attempts += attempts
            if error is not None:
                current.last_error = error
                report.failed.append({"id": row.id, "ticket_id": row.ticket_id, "sink": row.sink,
                                      "attempts": current.attempts, "error": error})
                continue
            had_failed = current.last_error is not None
            current.status, current.delivered_at = "delivered", at
            created = aware(current.created_at)
            assert created is not None
            delay = max(0.0, (at - created).total_seconds())
            item = {"id": row.id, "ticket_id": row.ticket_id, "sink": row.sink,
                    "attempts": current.attempts, "delay_s": delay,
                    "idempotency_key": row.idempotency_key}
            report.delivered.append(item)
            if had_failed:
                s.add(TicketEvent(ticket_id=row.ticket_id, at=at, actor=f"outbox:{row.sink}",
                                  event="delivery_delayed",
                                  detail={"sink": row.sink, "delivery_id": row.id, "delay_s": delay,
                                          "attempts": current.attempts,
                                          "last_error": current.last_error}))
    return report


def pending_count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Delivery)
                            .where(Delivery.status == "pending")) or 0)
