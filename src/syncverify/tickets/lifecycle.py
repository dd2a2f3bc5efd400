"""Anomalies to tickets, and the ticket lifecycle.

::

    open ──ack──▶ acknowledged ──start──▶ repairing ──resolve──▶ repaired ──verify──▶ verified (closed)
      │                                                  ▲          │
      └────────────── start / resolve ───────────────────┘          └──reverify fails──▶ reopened
                                                                                          (works as open)

* One open ticket per (link, table, ticket kind) — per (link, table@source, kind) when a link carries
  the same table from several sources: ``Ticket.open_key`` is unique while the ticket
  is open and NULL once closed. Two runs racing to open the same ticket both try the INSERT; the
  loser gets an IntegrityError, re-reads and updates the winner's ticket.
* Deadlines run from detection: repair start = detected + 8 h, correction = detected + 24 h. A
  reopened ticket keeps its deadlines (the contract measures from the anomaly, not the reopen).
  The repair-start clock stops at ``start`` (or ``resolve``, or a generated repair script); the
  correction clock stops at ``resolve`` (``repaired_at``) and restarts if the repair is disproved.
* A check that comes back CONSISTENT never closes a ticket silently: a ticket that was not marked
  repaired becomes ``repaired`` with the run as actor (event ``consistent_again``), which the SLA
  watch must then prove by re-verifying its keys; a ticket that was marked repaired is
  ``verified`` and closed by that run (the run is the second, independent observation).
* A run that still finds the anomaly after a ticket was marked repaired reopens it (only results
  of checks that started after ``repaired_at`` count).
* Every change is a ``TicketEvent`` (time, actor, detail), and every event that matters outside
  gets its deliveries written in the same transaction (:mod:`syncverify.tickets.outbox`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.catalog import Catalog
from syncverify.errors import SyncverifyError
from syncverify.results import CheckResult, Outcome
from syncverify.store import Store
from syncverify.store.models import Ticket, TicketEvent
from syncverify.tickets.clock import CORRECTION_SLA, REPAIR_START_SLA, aware, need_aware
from syncverify.tickets.evidence import EvidenceExtra, merge_evidence, ticket_kind
from syncverify.tickets.outbox import enqueue
from syncverify.tickets.sinks import configured_sink_names

OPEN, ACKNOWLEDGED, REPAIRING, REPAIRED, REOPENED, VERIFIED = (
    "open", "acknowledged", "repairing", "repaired", "reopened", "verified")
OPEN_STATUSES = (OPEN, ACKNOWLEDGED, REPAIRING, REPAIRED, REOPENED)
STATUSES = (*OPEN_STATUSES, VERIFIED)

# Most precise level first: the ticket's check_id names the most precise check that saw it.
_PRECISION = {"diff": 0, "checksum": 1, "totals": 2, "count": 3}

T = TypeVar("T")


class TicketError(SyncverifyError):
    """A ticket operation that cannot be done (unknown ticket, wrong state, missing approval)."""


def open_key_of(link_id: str | None, table: str, kind: str) -> str:
    return f"{link_id or '-'}/{table}/{kind}"[:250]


def _unit_table(result: CheckResult, catalog: Catalog | None) -> str:
    """The table part of the open key: ``table``, or ``table@source`` when the link carries the
    same table from several sources (zz04 reads yp_ypxx from the use and the entry databases):
    those are separate copies to repair, each with its own ticket."""
    multi = False
    if catalog is not None and result.link_id in catalog.links:
        multi = sum(s.table == result.table for s in catalog.links[result.link_id].tables) > 1
    elif "@" in str((result.details or {}).get("link_check") or ""):
        multi = True
    return f"{result.table}@{result.source_node}" if multi and result.source_node else result.table


def _sink_names(sinks: Sequence[str] | None) -> list[str]:
    return configured_sink_names() if sinks is None else list(sinks)


def _retrying(work: Callable[[], T], *, attempts: int = 10) -> T:
    """Run one store transaction, retrying the races that concurrent runs cause.

    IntegrityError: another run opened the same ticket first (open_key); re-read and update.
    OperationalError: SQLite 'database is locked' or a MySQL/PostgreSQL deadlock; try again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except sa.exc.IntegrityError:
            if attempt == attempts:
                raise
        except sa.exc.OperationalError as exc:
            text = str(exc.orig).lower()
            transient = "locked" in text or "deadlock" in text or "could not serialize" in text
            if not transient or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def add_event(session: Session, ticket: Ticket, event: str, *, actor: str, now: datetime,
              detail: dict[str, Any] | None = None, sinks: Sequence[str] = ()) -> TicketEvent:
    """Record one event on ``ticket`` and write its deliveries (same transaction)."""
    ticket.updated_at = now
    row = TicketEvent(ticket_id=ticket.id, at=now, actor=actor, event=event, detail=detail or {})
    session.add(row)
    session.flush()
    enqueue(session, ticket, row, sinks, now)
    return row


def _title(kind: str, result: CheckResult) -> str:
    parts = [f"{k} {getattr(result, k + '_count')}" for k in ("missing", "extra", "changed", "duplicate")
             if getattr(result, k + "_count")]
    where = f"{result.link_id or '-'}/{result.table}"
    hop = (f" ({result.source_node} → {result.target_node})"
           if result.source_node or result.target_node else "")
    return f"{kind} anomaly on {where}{hop}" + (f": {', '.join(parts)}" if parts else "")


def _counts(results: Iterable[CheckResult]) -> dict[str, int]:
    out = {"missing": 0, "extra": 0, "changed": 0, "duplicate": 0}
    for r in results:
        for k in out:
            out[k] = max(out[k], getattr(r, f"{k}_count"))
    return out


def _reopen(session: Session, ticket: Ticket, *, actor: str, now: datetime, detail: dict[str, Any],
            sinks: Sequence[str]) -> None:
    ticket.status = REOPENED
    ticket.reopen_count += 1
    ticket.repaired_at = None          # the correction clock runs again
    add_event(session, ticket, "reopened", actor=actor, now=now, detail=detail, sinks=sinks)


def _upsert_anomaly(store: Store, key: str, kind: str, results: list[CheckResult], *, run_id: str,
                    now: datetime, catalog: Catalog | None, extra: EvidenceExtra,
                    sinks: Sequence[str]) -> int:
    results = sorted(results, key=lambda r: _PRECISION.get(r.kind.value, 9))
    head = results[0]
    actor = f"run:{run_id}"

    def work() -> int:
        with store.session() as s:
            ticket = s.scalars(sa.select(Ticket).where(Ticket.open_key == key).with_for_update()).first()
            evidence: dict[str, Any] | None = None if ticket is None else dict(ticket.evidence or {})
            for r in reversed(results):      # most precise last, so its keys win
                evidence = merge_evidence(evidence, r, run_id=run_id, catalog=catalog, extra=extra)
            assert evidence is not None
            counts = _counts(results)
            if ticket is None:
                ticket = Ticket(
                    open_key=key, dedup_key=key, kind=kind, link_id=head.link_id, table_name=head.table,
                    check_id=str(head.check_id), source_node=head.source_node, target_node=head.target_node,
                    title=_title(kind, head)[:400], status=OPEN, detected_at=now,
                    repair_due_at=now + REPAIR_START_SLA, correct_due_at=now + CORRECTION_SLA,
                    reopen_count=0, last_run_id=run_id, last_seen_at=now, evidence=evidence, updated_at=now)
                s.add(ticket)
                s.flush()                    # raises IntegrityError when another run won the race
                add_event(s, ticket, "opened", actor=actor, now=now,
                          detail={"run_id": run_id, "checks": [r.check_id for r in results], **counts},
                          sinks=sinks)
                return ticket.id
            ticket.evidence = evidence
            ticket.last_run_id, ticket.last_seen_at = run_id, now
            if _PRECISION.get(head.kind.value, 9) <= _PRECISION.get(ticket.check_id.split("/")[0], 9):
                ticket.check_id, ticket.title = str(head.check_id), _title(kind, head)[:400]
            add_event(s, ticket, "seen_again", actor=actor, now=now,
                      detail={"run_id": run_id, "checks": [r.check_id for r in results], **counts},
                      sinks=sinks)
            repaired_at = aware(ticket.repaired_at)
            if ticket.status == REPAIRED and repaired_at is not None and all(
                    aware(r.started_at) is not None and aware(r.started_at) >= repaired_at  # type: ignore[operator]
                    for r in results):
                _reopen(s, ticket, actor=actor, now=now, sinks=sinks,
                        detail={"reason": "a run after the repair still finds the anomaly", "run_id": run_id,
                                **counts})
            return ticket.id

    return _retrying(work)


def _consistent_again(store: Store, key: str, results: list[CheckResult], *, run_id: str, now: datetime,
                      sinks: Sequence[str]) -> int | None:
    actor = f"run:{run_id}"

    def work() -> int | None:
        with store.session() as s:
            ticket = s.scalars(sa.select(Ticket).where(Ticket.open_key == key).with_for_update()).first()
            if ticket is None:
                return None
            detail = {"run_id": run_id, "checks": [r.check_id for r in results]}
            if ticket.status == REPAIRED:
                _close_verified(s, ticket, actor=actor, now=now, sinks=sinks,
                                detail={**detail, "how": "the check is consistent again after the repair"})
            else:
                # Not closed silently: marked repaired (by the pipeline itself, e.g. a late copy),
                # which the SLA watch has to prove by re-verifying the keys.
                ticket.status = REPAIRED
                ticket.repaired_at = now
                if ticket.repair_started_at is None:
                    ticket.repair_started_at = now
                add_event(s, ticket, "consistent_again", actor=actor, now=now, sinks=sinks,
                          detail={**detail, "next": "re-verification by the SLA watch"})
            return ticket.id

    return _retrying(work)


def _close_verified(session: Session, ticket: Ticket, *, actor: str, now: datetime, detail: dict[str, Any],
                    sinks: Sequence[str]) -> None:
    ticket.status = VERIFIED
    ticket.verified_at = ticket.closed_at = now
    ticket.open_key = None
    add_event(session, ticket, "verified", actor=actor, now=now, detail=detail, sinks=sinks)


def open_or_update(store: Store, results: Sequence[CheckResult], *, run_id: str, now: datetime | None = None,
                   catalog: Catalog | None = None, evidence_extra: EvidenceExtra = None,
                   sinks: Sequence[str] | None = None) -> list[int]:
    """Open (or update) one ticket per (link, table, kind) with an INCONSISTENT result.

    ``evidence_extra``: a mapping added to every ticket's evidence (e.g. ``{"incidents": [...]}``),
    or a callable giving it per result. CONSISTENT results move matching open tickets on (see the
    module docstring); NOT_RUN results are ignored. ``sinks``: names of the sinks that get the
    deliveries (default: :func:`~syncverify.tickets.sinks.configured_sink_names`).
    Returns the ids of the tickets opened or updated for anomalies.
    """
    at = need_aware(now)
    names = _sink_names(sinks)
    groups: dict[str, tuple[str, list[CheckResult], list[CheckResult]]] = {}
    for r in results:
        if r.outcome is Outcome.NOT_RUN:
            continue
        kind = ticket_kind(r)
        key = open_key_of(r.link_id, _unit_table(r, catalog), kind)
        _, bad_list, good_list = groups.setdefault(key, (kind, [], []))
        (bad_list if r.is_anomaly else good_list).append(r)
    ids: list[int] = []
    for key, (kind, bad, good) in groups.items():
        if bad:
            ids.append(_upsert_anomaly(store, key, kind, bad, run_id=run_id, now=at, catalog=catalog,
                                       extra=evidence_extra, sinks=names))
        elif good:
            _consistent_again(store, key, good, run_id=run_id, now=at, sinks=names)
    return ids


# ---- operator actions -----------------------------------------------------------------------------

def _change(store: Store, ticket_id: int, allowed: Iterable[str], apply: Callable[[Session, Ticket], None],
            what: str) -> Ticket:
    allowed = tuple(allowed)

    def work() -> Ticket:
        with store.session() as s:
            ticket = s.scalars(sa.select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
            if ticket is None:
                raise TicketError(f"no ticket {ticket_id}")
            if ticket.status not in allowed:
                raise TicketError(f"ticket {ticket_id} is {ticket.status}: cannot {what} "
                                  f"(only when {', '.join(allowed)})")
            apply(s, ticket)
            return ticket

    return _retrying(work)


def acknowledge(store: Store, ticket_id: int, *, actor: str, now: datetime | None = None,
                note: str | None = None, sinks: Sequence[str] | None = None) -> Ticket:
    """Someone has seen the ticket. Does not stop the repair-start clock."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        t.status, t.acknowledged_at = ACKNOWLEDGED, at
        add_event(s, t, "acknowledged", actor=who, now=at, detail=_note(note), sinks=names)
    return _change(store, ticket_id, (OPEN, REOPENED), apply, "acknowledge")


def start_repair(store: Store, ticket_id: int, *, actor: str, now: datetime | None = None,
                 note: str | None = None, sinks: Sequence[str] | None = None) -> Ticket:
    """Repair has started: stops the 8-hour clock."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        t.status = REPAIRING
        if t.repair_started_at is None:
            t.repair_started_at = at
        add_event(s, t, "repair_started", actor=who, now=at, detail=_note(note), sinks=names)
    return _change(store, ticket_id, (OPEN, ACKNOWLEDGED, REOPENED), apply, "start the repair")


def mark_repaired(store: Store, ticket_id: int, *, actor: str, now: datetime | None = None,
                  note: str | None = None, sinks: Sequence[str] | None = None) -> Ticket:
    """The data is said to be corrected: stops the 24-hour clock until re-verification says otherwise."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        t.status, t.repaired_at = REPAIRED, at
        if t.repair_started_at is None:
            t.repair_started_at = at
        add_event(s, t, "repaired", actor=who, now=at, detail=_note(note), sinks=names)
    return _change(store, ticket_id, (OPEN, ACKNOWLEDGED, REPAIRING, REOPENED), apply, "resolve")


def verify(store: Store, ticket_id: int, *, actor: str, now: datetime | None = None,
           detail: dict[str, Any] | None = None, sinks: Sequence[str] | None = None) -> Ticket:
    """Re-verification proved the repair: close the ticket."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        _close_verified(s, t, actor=who, now=at, detail=detail or {}, sinks=names)
    return _change(store, ticket_id, (REPAIRED,), apply, "verify")


def reopen(store: Store, ticket_id: int, *, actor: str, now: datetime | None = None,
           detail: dict[str, Any] | None = None, sinks: Sequence[str] | None = None) -> Ticket:
    """Re-verification disproved the repair."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        _reopen(s, t, actor=who, now=at, detail=detail or {}, sinks=names)
    return _change(store, ticket_id, (REPAIRED,), apply, "reopen")


def record(store: Store, ticket_id: int, event: str, *, actor: str, now: datetime | None = None,
           detail: dict[str, Any] | None = None, sinks: Sequence[str] | None = None,
           start_repair_clock: bool = False) -> Ticket:
    """Record an event that does not change the status (scripts generated, applied, ...)."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        if start_repair_clock and t.open_key is not None and t.repair_started_at is None:
            t.repair_started_at = at
        add_event(s, t, event, actor=who, now=at, detail=detail or {}, sinks=names)
    return _change(store, ticket_id, STATUSES, apply, f"record {event}")


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise TicketError("an actor (who does this) is required")
    return actor[:100]


def _note(note: str | None) -> dict[str, Any]:
    return {"note": note} if note else {}


# ---- reading --------------------------------------------------------------------------------------

def get_ticket(store: Store, ticket_id: int) -> tuple[Ticket, list[TicketEvent]]:
    with store.session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        events = list(s.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                .order_by(TicketEvent.id)))
        return ticket, events


def list_tickets(store: Store, *, status: str | None = None, open_only: bool = False,
                 link_id: str | None = None) -> list[Ticket]:
    if status is not None and status not in STATUSES:
        raise TicketError(f"unknown ticket status {status!r}; known: {', '.join(STATUSES)}")
    with store.session() as s:
        q = sa.select(Ticket).order_by(Ticket.id)
        if status:
            q = q.where(Ticket.status == status)
        if open_only:
            q = q.where(Ticket.open_key.is_not(None))
        if link_id:
            q = q.where(Ticket.link_id == link_id)
        return list(s.scalars(q))
