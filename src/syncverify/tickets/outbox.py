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
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.masking import mask_text
from syncverify.store import Store
from syncverify.store.models import Delivery, Ticket, TicketEvent
from syncverify.tickets.clock import aware, need_aware, utcnow
from syncverify.tickets.sinks import Sink, SinkError
from syncverify.tickets.views import event_view, ticket_view

# Events kept in the store only: a ticket seen again by every run, and the outbox's own notes.
QUIET_EVENTS = frozenset({"seen_again", "delivery_delayed"})
# Delivery.status: pending, sending (a sender holds its claim_token until claimed_until), delivered.
PENDING, SENDING, DELIVERED = "pending", "sending", "delivered"
# How long a claim holds before another sender may take the delivery over (a webhook that
# retries four times with a 10 s timeout takes under a minute).
DEFAULT_LEASE = timedelta(minutes=10)


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
                       status=PENDING, attempts=0, created_at=now)
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
                    *, limit: int = 1000, lease: timedelta = DEFAULT_LEASE) -> DeliveryReport:
    """Send pending deliveries, oldest first, each claimed before it is sent.

    Any number of ``tickets deliver`` / ``tickets watch`` may run at once: a delivery is sent only
    by the one that claimed it (see :func:`claim_next`), so each is sent once. Sends happen
    outside any store transaction. A process that dies holding a claim leaves it to expire after
    ``lease``; the delivery is then sent again with the same idempotency key (at least once over
    crashes, which the receiver's dedup on the key, or the file drop's rewrite of one file, absorbs).
    """
    by_name: dict[str, Sink] = dict(sinks) if isinstance(sinks, Mapping) else {s.name: s for s in sinks}
    report = DeliveryReport(skipped=_not_configured(store, by_name, limit))
    after = 0
    for _ in range(limit):
        claimed = claim_next(store, list(by_name), after=after, lease=lease)
        if claimed is None:
            break
        row, token = claimed
        after = row.id
        sink = by_name[row.sink]
        try:
            attempts = sink.send(row.payload, row.idempotency_key)
            error: str | None = None
        except SinkError as exc:
            attempts, error = exc.attempts, mask_text(str(exc))
        _finish(store, row, token, attempts, error, need_aware(now), report)
    return report


def _not_configured(store: Store, by_name: Mapping[str, Sink], limit: int) -> list[dict[str, Any]]:
    """Pending deliveries for sinks this process does not have: left (unclaimed) for another."""
    with store.session() as s:
        rows = s.execute(sa.select(Delivery.id, Delivery.ticket_id, Delivery.sink)
                         .where(Delivery.status == PENDING, Delivery.sink.not_in(list(by_name)))
                         .order_by(Delivery.id).limit(limit)).all()
    return [{"id": i, "ticket_id": t, "sink": k} for i, t, k in rows]


def claim_next(store: Store, sink_names: Sequence[str], *, after: int = 0,
               lease: timedelta = DEFAULT_LEASE) -> tuple[Delivery, str] | None:
    """Claim the oldest claimable delivery after id ``after``: returns it with the claim token.

    The claim is one conditional UPDATE (``WHERE status = 'pending'``, or a claim whose lease has
    run out): of several processes that pick the same row, the database lets exactly one UPDATE
    match (PostgreSQL and MariaDB re-check the condition on the locked row; SQLite runs the
    transactions one at a time), and only that one sends it. While claimed, ``status`` is
    ``sending``, ``claim_token`` names the sender and ``claimed_until`` ends the lease (wall
    clock, not the caller's ``now``, so a frozen or backfilling clock never makes a live claim
    look expired).
    """
    if not sink_names:
        return None
    token = uuid.uuid4().hex
    wall = utcnow()
    claimable = sa.or_(Delivery.status == PENDING,
                       sa.and_(Delivery.status == SENDING, Delivery.claimed_until < wall))
    with store.session() as s:
        for _ in range(5):             # another process may claim the candidate first: take the next
            candidate = s.scalar(sa.select(Delivery.id).where(claimable, Delivery.id > after,
                                                              Delivery.sink.in_(list(sink_names)))
                                 .order_by(Delivery.id).limit(1))
            if candidate is None:
                return None
            won = cast(sa.CursorResult[Any], s.execute(
                sa.update(Delivery).where(Delivery.id == candidate, claimable)
                .values(status=SENDING, claim_token=token, claimed_until=wall + lease)
                .execution_options(synchronize_session=False)))
            if won.rowcount == 1:
                row = s.get(Delivery, candidate, populate_existing=True)
                assert row is not None
                return row, token
            after = candidate
    return None


def _finish(store: Store, row: Delivery, token: str, attempts: int, error: str | None, at: datetime,
            report: DeliveryReport) -> None:
    """Record the send under our claim: delivered, or back to pending with the error."""
    with store.session() as s:
        current = s.scalars(sa.select(Delivery).where(Delivery.id == row.id, Delivery.status == SENDING,
                                                      Delivery.claim_token == token).with_for_update()).first()
        if current is None:
            return          # our lease ran out and another process took the delivery over
        current.attempts += attempts
        if error is not None:
            current.status, current.claim_token, current.claimed_until = PENDING, None, None
            current.last_error = error
            report.failed.append({"id": row.id, "ticket_id": row.ticket_id, "sink": row.sink,
                                  "attempts": current.attempts, "error": error})
            return
        had_failed = current.last_error is not None
        current.status, current.delivered_at = DELIVERED, at
        current.claim_token = current.claimed_until = None
        created = aware(current.created_at)
        assert created is not None
        delay = max(0.0, (at - created).total_seconds())
        report.delivered.append({"id": row.id, "ticket_id": row.ticket_id, "sink": row.sink,
                                 "attempts": current.attempts, "delay_s": delay,
                                 "idempotency_key": row.idempotency_key})
        if had_failed:
            s.add(TicketEvent(ticket_id=row.ticket_id, at=at, actor=f"outbox:{row.sink}",
                              event="delivery_delayed",
                              detail={"sink": row.sink, "delivery_id": row.id, "delay_s": delay,
                                      "attempts": current.attempts, "last_error": current.last_error}))


def pending_count(store: Store) -> int:
    """Deliveries not delivered yet (waiting, or being sent right now)."""
    with store.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Delivery)
                            .where(Delivery.status != DELIVERED)) or 0)
