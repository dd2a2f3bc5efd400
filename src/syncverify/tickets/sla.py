"""The SLA watch: escalate deadlines, prove repairs, deliver the outbox.

Meant to run every 15 minutes (an Airflow DAG wires it). Each escalation is raised once per
ticket: ``repair_start_near`` / ``repair_start_overdue`` while repair has not started,
``correction_near`` / ``correction_overdue`` while the data is not marked repaired. A watch that
first runs after a deadline raises only the ``overdue`` one.

Watches may overlap (a slow pass, a manual ``tickets watch`` next to the DAG's): each escalation
is claimed in ``sv_ticket_escalations`` (unique per ticket and level) before it is raised, and
the outbox claims each delivery before sending it, so every escalation is raised and sent once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.masking import mask_text
from syncverify.store import Store
from syncverify.store.models import Ticket, TicketEscalation, TicketEvent
from syncverify.tickets.clock import DEFAULT_NEAR, aware, need_aware
from syncverify.tickets.lifecycle import (
    OPEN_STATUSES,
    REPAIRED,
    TicketError,
    _retrying,
    _sink_names,
    add_event,
    reopen,
    verify,
)
from syncverify.tickets.outbox import DeliveryReport, deliver_pending
from syncverify.tickets.sinks import Sink

ESCALATIONS = ("repair_start_near", "repair_start_overdue", "correction_near", "correction_overdue")
ACTOR = "sla-watch"

# Given a ticket: True if its keys now match, False if not, None if it cannot tell (no keys:
# a COUNT, Kafka or quality finding, which the next run proves instead).
Reverify = Callable[[Ticket], bool | None]


@dataclass
class SlaReport:
    escalations: list[dict[str, Any]] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Marked repaired when this watch read them, but verified or reopened by someone else (another
    # watch running at the same time) before this one could record its own verdict.
    decided_elsewhere: list[int] = field(default_factory=list)
    deliveries: DeliveryReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"escalations": self.escalations, "verified": self.verified, "reopened": self.reopened,
                "undecided": self.undecided, "errors": self.errors, "decided_elsewhere": self.decided_elsewhere,
                "deliveries": self.deliveries.to_dict() if self.deliveries else None}


def _due_escalations(t: Ticket, now: datetime, near: timedelta) -> list[tuple[str, datetime]]:
    repair_due, correct_due = aware(t.repair_due_at), aware(t.correct_due_at)
    assert repair_due is not None and correct_due is not None
    out = []
    # Data that came right by itself (a consistent run marked the ticket repaired) needs no
    # repair start: only the re-verification is pending.
    if t.repair_started_at is None and t.repaired_at is None:
        if now >= repair_due:
            out.append(("repair_start_overdue", repair_due))
        elif now >= repair_due - near:
            out.append(("repair_start_near", repair_due))
    if t.repaired_at is None:
        if now >= correct_due:
            out.append(("correction_overdue", correct_due))
        elif now >= correct_due - near:
            out.append(("correction_near", correct_due))
    return out


def escalate(store: Store, *, now: datetime | None = None, near: timedelta = DEFAULT_NEAR,
             sinks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Raise every escalation that is due and was not raised before (once each per ticket).

    Safe with any number of watches at once: the tickets are locked (``FOR UPDATE``; on SQLite the
    store's ``BEGIN IMMEDIATE``), and each escalation is first *claimed* by a row in
    ``sv_ticket_escalations``, unique per (ticket, level), so a watch that loses the race gets an
    IntegrityError on its claim and raises nothing for that level. The event and its deliveries
    are written in the same transaction as the claim: a claim never exists without its event.
    """
    at, names = need_aware(now), _sink_names(sinks)

    def work() -> list[dict[str, Any]]:
        raised: list[dict[str, Any]] = []
        with store.session() as s:
            tickets = s.scalars(sa.select(Ticket).where(Ticket.open_key.is_not(None),
                                                        Ticket.status.in_(OPEN_STATUSES))
                                .order_by(Ticket.id).with_for_update()).all()
            for t in tickets:
                raised.extend(_escalate_ticket(s, t, at, near, names))
        return raised

    return _retrying(work)


def _raised_levels(session: Session, ticket_id: int) -> set[str]:
    """Levels already raised: claimed (migration 3 on), or recorded as events by a store that
    raised them before the claims existed."""
    claimed = session.scalars(sa.select(TicketEscalation.level).where(TicketEscalation.ticket_id == ticket_id))
    recorded = session.scalars(sa.select(TicketEvent.event).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.event.in_(ESCALATIONS)))
    return set(claimed) | set(recorded)


def claim_escalation(session: Session, ticket_id: int, level: str, now: datetime) -> bool:
    """Claim ``level`` of the ticket for this transaction; False when another watch has it.

    The INSERT runs in a SAVEPOINT: on PostgreSQL a failed statement aborts the whole
    transaction, and losing one ticket's claim must not lose the other tickets' escalations.
    """
    try:
        with session.begin_nested():
            session.add(TicketEscalation(ticket_id=ticket_id, level=level, at=now))
            session.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def _escalate_ticket(session: Session, t: Ticket, now: datetime, near: timedelta,
                     names: Sequence[str]) -> list[dict[str, Any]]:
    due = _due_escalations(t, now, near)
    if not due:
        return []
    done = _raised_levels(session, t.id)
    raised = []
    for name, deadline in due:
        if name in done or not claim_escalation(session, t.id, name, now):
            continue
        detail = {"deadline": deadline.isoformat(),
                  "minutes_left": round((deadline - now).total_seconds() / 60, 1),
                  "status": t.status}
        add_event(session, t, name, actor=ACTOR, now=now, detail=detail, sinks=names)
        raised.append({"ticket_id": t.id, "event": name, **detail})
    return raised


def reverify_repaired(store: Store, reverify: Reverify, *, now: datetime | None = None,
                      sinks: Sequence[str] | None = None, report: SlaReport | None = None) -> SlaReport:
    """Re-check every ticket marked repaired; close those that match, reopen those that do not."""
    report = report or SlaReport()
    with store.session() as s:
        tickets = list(s.scalars(sa.select(Ticket).where(Ticket.status == REPAIRED,
                                                         Ticket.open_key.is_not(None)).order_by(Ticket.id)))
    for t in tickets:
        # The databases are queried outside any store transaction.
        try:
            matches = reverify(t)
        except Exception as exc:
            report.errors.append({"ticket_id": t.id, "error": mask_text(f"{exc.__class__.__name__}: {exc}")})
            continue
        at = need_aware(now)
        try:
            if matches is None:
                report.undecided.append(t.id)
            elif matches:
                verify(store, t.id, actor=ACTOR, now=at, sinks=sinks,
                       detail={"how": "re-verified: the ticket's keys match between source and target"})
                report.verified.append(t.id)
            else:
                reopen(store, t.id, actor=ACTOR, now=at, sinks=sinks,
                       detail={"reason": "re-verification: the ticket's keys still differ"})
                report.reopened.append(t.id)
        except TicketError as exc:     # someone changed the ticket meanwhile
            if _still_repaired(store, t.id):
                report.errors.append({"ticket_id": t.id, "error": str(exc)})
            else:
                report.decided_elsewhere.append(t.id)
    return report


def _still_repaired(store: Store, ticket_id: int) -> bool:
    """Whether the ticket still waits for its proof. When another watch (running at the same
    time) or a person has moved it on, that is not an error of this watch."""
    with store.session() as s:
        return s.scalar(sa.select(Ticket.status).where(Ticket.id == ticket_id)) == REPAIRED


def sla_watch(store: Store, *, now: datetime | None = None, reverify: Reverify | None = None,
              sinks: Mapping[str, Sink] | Sequence[Sink] | None = None, near: timedelta = DEFAULT_NEAR,
              sink_names: Sequence[str] | None = None) -> SlaReport:
    """One pass of the watch: escalations, re-verification, then the outbox (when ``sinks``)."""
    at = need_aware(now)
    names = _sink_names(sink_names) if sink_names is not None or sinks is None else (
        list(sinks) if isinstance(sinks, Mapping) else [s.name for s in sinks])
    report = SlaReport()
    report.escalations = escalate(store, now=at, near=near, sinks=names)
    if reverify is not None:
        reverify_repaired(store, reverify, now=at, sinks=names, report=report)
    if sinks is not None:
        report.deliveries = deliver_pending(store, sinks, at)
    return report


__all__ = ["ESCALATIONS", "Reverify", "SlaReport", "add_event", "claim_escalation", "escalate", "reverify_repaired",
           "sla_watch"]
