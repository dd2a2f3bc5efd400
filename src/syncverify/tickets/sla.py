"""The SLA watch: escalate deadlines, prove repairs, deliver the outbox.

Meant to run every 15 minutes (an Airflow DAG wires it). Each escalation is raised once per
ticket: ``repair_start_near`` / ``repair_start_overdue`` while repair has not started,
``correction_near`` / ``correction_overdue`` while the data is not marked repaired. A watch that
first runs after a deadline raises only the ``overdue`` one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncverify.masking import mask_text
from syncverify.store import Store
from syncverify.store.models import Ticket, TicketEvent
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
    deliveries: DeliveryReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"escalations": self.escalations, "verified": self.verified, "reopened": self.reopened,
                "undecided": self.undecided, "errors": self.errors,
                "deliveries": self.deliveries.to_dict() if self.deliveries else None}


def _due_escalations(t: Ticket, now: datetime, near: timedelta) -> list[tuple[str, datetime]]:
    repair_due, correct_due = aware(t.repair_due_at), aware(t.correct_due_at)
    assert repair_due is not None and correct_due is not None
    out = []
    if t.repair_started_at is None:
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
    """Raise every escalation that is due and was not raised before (once each per ticket)."""
    at, names = need_aware(now), _sink_names(sinks)

    def work() -> list[dict[str, Any]]:
        raised: list[dict[str, Any]] = []
        with store.session() as s:
            tickets = s.scalars(sa.select(Ticket).where(Ticket.open_key.is_not(None),
                                                        Ticket.status.in_(OPEN_STATUSES))
                                .order_by(Ticket.id).with_for_update())
            for t in tickets:
                due = _due_escalations(t, at, near)
                if not due:
                    continue
                done = set(s.scalars(sa.select(TicketEvent.event).where(
                    TicketEvent.ticket_id == t.id, TicketEvent.event.in_(ESCALATIONS))))
                for name, deadline in due:
                    if name in done:
                        continue
                    detail = {"deadline": deadline.isoformat(),
                              "minutes_left": round((deadline - at).total_seconds() / 60, 1),
                              "status": t.status}
                    add_event(s, t, name, actor=ACTOR, now=at, detail=detail, sinks=names)
                    raised.append({"ticket_id": t.id, "event": name, **detail})
        return raised

    return _retrying(work)


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
            report.errors.append({"ticket_id": t.id, "error": str(exc)})
    return report


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


__all__ = ["ESCALATIONS", "Reverify", "SlaReport", "add_event", "escalate", "reverify_repaired", "sla_watch"]
