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
  ``occurred_at`` (when the fault happened, from the data or the log event that explains it)
  is shown beside ``detected_at``. The repair-start clock stops only at an actual start:
  ``start``, ``resolve`` by a person, or an applied repair script (generating one starts
  nothing); the correction clock stops at ``resolve`` (``repaired_at``) and restarts if the
  repair is disproved.
* A check that comes back CONSISTENT never closes a ticket silently: a ticket that was not marked
  repaired becomes ``repaired`` with the run as actor (event ``consistent_again``), which the SLA
  watch must then prove by re-verifying its keys and its check; a ticket that was marked repaired
  is ``verified`` and closed by that run (the second, independent observation) only when the run
  compared rows (a diff) or the ticket holds no row keys — a count or totals check that agrees
  cannot prove that the ticket's own rows are equal, so the SLA watch decides.
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
from syncverify.results import CheckKind, CheckResult
from syncverify.store import Store
from syncverify.store.models import Ticket, TicketEvent
from syncverify.tickets.cause import earliest_event
from syncverify.tickets.clock import CORRECTION_SLA, REPAIR_START_SLA, aware, need_aware
from syncverify.tickets.evidence import EvidenceExtra, attach_evidence, differing_keys, merge_evidence
from syncverify.tickets.incidents import QUALITY, ROW_KEYED, Attribution, Unit, attribute
from syncverify.tickets.outbox import enqueue
from syncverify.tickets.sinks import configured_sink_names

OPEN, ACKNOWLEDGED, REPAIRING, REPAIRED, REOPENED, VERIFIED = (
    "open", "acknowledged", "repairing", "repaired", "reopened", "verified")
OPEN_STATUSES = (OPEN, ACKNOWLEDGED, REPAIRING, REPAIRED, REOPENED)
STATUSES = (*OPEN_STATUSES, VERIFIED)

# Most precise level first: the ticket's check_id names the most precise check that saw it.
_PRECISION = {"diff": 0, "checksum": 1, "totals": 2, "count": 3}

T = TypeVar("T")
OccurredAt = Callable[[CheckResult], datetime | None] | None


class TicketError(SyncverifyError):
    """A ticket operation that cannot be done (unknown ticket, wrong state, missing approval)."""


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


def _title(unit: Unit, counts: dict[str, int], coarse: dict[str, int] | None = None) -> str:
    parts = [f"{k} {v} rows" if k != "duplicate" else f"duplicate {v} keys" for k, v in counts.items() if v]
    if not parts and coarse:
        if coarse.get("days_differing"):
            parts.append(f"totals differ on {coarse['days_differing']} days")
        if coarse.get("row_count_difference"):
            parts.append(f"target rows {coarse['row_count_difference']:+d}")
    if unit.kind == QUALITY:
        where, hop = f"{unit.source_node or '-'}/{unit.table}", ""
    else:
        where = f"{unit.link_id or '-'}/{unit.table}"
        hop = (f" ({unit.source_node} → {unit.target_node})" if unit.source_node or unit.target_node else "")
    return f"{unit.kind} anomaly on {where}{hop}" + (f": {', '.join(parts)}" if parts else "")


def _counts(heads: Sequence[Attribution]) -> dict[str, int]:
    """Rows that differ, from the row-level results only: a totals check's 'changed' are days and
    a count's are windows, never rows (see :func:`_coarse`). Empty without a row-level result."""
    out: dict[str, int] = {}
    for a in heads:
        if a.result.kind not in ROW_KEYED and a.result.kind is not CheckKind.QUALITY:
            continue
        for k in ("missing", "extra", "changed", "duplicate"):
            n = len(a.keys[k]) if k in a.keys else getattr(a.result, f"{k}_count")
            out[k] = max(out.get(k, 0), n)
    return out


def _coarse(heads: Sequence[Attribution]) -> dict[str, int]:
    """What the coarser levels found, in their own units: days with differing totals, and the
    net row-count difference of a count check."""
    out: dict[str, int] = {}
    for a in heads:
        r = a.result
        if r.kind is CheckKind.TOTALS:
            out["days_differing"] = max(out.get("days_differing", 0), r.differences)
        elif r.kind is CheckKind.COUNT and r.source_rows is not None and r.target_rows is not None:
            out["row_count_difference"] = r.target_rows - r.source_rows
    return out


def _reopen(session: Session, ticket: Ticket, *, actor: str, now: datetime, detail: dict[str, Any],
            sinks: Sequence[str]) -> None:
    if ticket.open_key is None:
        # A verified (closed) ticket whose repair was undone: it is open again under its own key,
        # unless another ticket of the same unit was opened meanwhile.
        other = session.scalars(sa.select(Ticket.id).where(Ticket.open_key == ticket.dedup_key)).first()
        if other is not None:
            raise TicketError(f"ticket {ticket.id} cannot be reopened: ticket {other} is open for "
                              f"the same link and table; work that ticket")
        ticket.open_key = ticket.dedup_key
        ticket.verified_at = ticket.closed_at = None
    ticket.status = REOPENED
    ticket.reopen_count += 1
    ticket.repaired_at = None          # the correction clock runs again
    add_event(session, ticket, "reopened", actor=actor, now=now, detail=detail, sinks=sinks)


def _upsert_anomaly(store: Store, unit: Unit, heads: list[Attribution], attached: list[Attribution], *,
                    run_id: str, now: datetime, catalog: Catalog | None, extra: EvidenceExtra,
                    sinks: Sequence[str], occurred_at: OccurredAt) -> int:
    heads = sorted(heads, key=lambda a: _PRECISION.get(a.result.kind.value, 9))
    head = heads[0].result
    actor = f"run:{run_id}"
    checks = [a.result.check_id for a in heads]
    # Read from the databases before the store transaction opens (never inside it). The rows'
    # own times first; a totals check only knows the day.
    times_by_level: dict[bool, list[datetime]] = {}
    for a in heads:
        t = occurred_at(a.result) if occurred_at else None
        if t is not None:
            times_by_level.setdefault(a.result.kind in ROW_KEYED, []).append(t)
    data_times = times_by_level.get(True) or times_by_level.get(False) or []

    def work() -> int:
        with store.session() as s:
            ticket = s.scalars(sa.select(Ticket).where(Ticket.open_key == unit.key).with_for_update()).first()
            evidence: dict[str, Any] = {} if ticket is None else dict(ticket.evidence or {})
            for a in reversed(heads):      # most precise last, so its keys win
                evidence = merge_evidence(evidence, a.result, run_id=run_id, catalog=catalog, extra=extra,
                                          keys=a.keys or None)
            for a in attached:
                evidence = attach_evidence(evidence, a.result, role=a.role, because=a.because, run_id=run_id,
                                           catalog=catalog, keys=a.keys or None)
            counts = _counts(heads)
            occurred = min(data_times) if data_times else earliest_event(evidence.get("root_cause"))
            detail = {"run_id": run_id, "checks": checks, **counts, **_coarse(heads),
                      **({"evidence_from": [a.result.check_id for a in attached]} if attached else {})}
            if ticket is None:
                ticket = Ticket(
                    open_key=unit.key, dedup_key=unit.key, kind=unit.kind, link_id=unit.link_id,
                    table_name=unit.table, check_id=str(head.check_id), source_node=unit.source_node,
                    target_node=unit.target_node, title=_title(unit, counts, _coarse(heads))[:400], status=OPEN,
                    detected_at=now, occurred_at=occurred, repair_due_at=now + REPAIR_START_SLA,
                    correct_due_at=now + CORRECTION_SLA,
                    reopen_count=0, last_run_id=run_id, last_seen_at=now, evidence=evidence, updated_at=now)
                s.add(ticket)
                s.flush()                    # raises IntegrityError when another run won the race
                add_event(s, ticket, "opened", actor=actor, now=now, detail=detail, sinks=sinks)
                return ticket.id
            ticket.evidence = evidence
            ticket.last_run_id, ticket.last_seen_at = run_id, now
            if occurred is not None and (ticket.occurred_at is None or occurred < aware(ticket.occurred_at)):  # type: ignore[operator]
                ticket.occurred_at = occurred
            if _PRECISION.get(head.kind.value, 9) <= _PRECISION.get(ticket.check_id.split("/")[0], 9):
                ticket.check_id = str(head.check_id)
                if any(counts.values()):
                    ticket.title = _title(unit, counts)[:400]
            add_event(s, ticket, "seen_again", actor=actor, now=now, detail=detail, sinks=sinks)
            repaired_at = aware(ticket.repaired_at)
            if ticket.status == REPAIRED and repaired_at is not None and all(
                    aware(a.result.started_at) is not None and aware(a.result.started_at) >= repaired_at  # type: ignore[operator]
                    for a in heads):
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
            proves_rows = any(r.kind in ROW_KEYED for r in results) or not differing_keys(ticket.evidence)
            if ticket.status == REPAIRED and not proves_rows:
                add_event(s, ticket, "consistent_at_coarser_level", actor=actor, now=now, sinks=sinks,
                          detail={**detail, "next": "re-verification of the ticket's keys by the SLA watch"})
            elif ticket.status == REPAIRED:
                _close_verified(s, ticket, actor=actor, now=now, sinks=sinks,
                                detail={**detail, "how": "the check is consistent again after the repair"})
            else:
                # Not closed silently: marked repaired (by the pipeline itself, e.g. a late copy),
                # which the SLA watch has to prove by re-verifying the keys.
                # Nobody started a repair: the repair-start clock is left as it is (only `tickets
                # start` or an applied script meets it).
                ticket.status = REPAIRED
                ticket.repaired_at = now
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
                   sinks: Sequence[str] | None = None, occurred_at: OccurredAt = None) -> list[int]:
    """Open (or update) one ticket per root fault (see :mod:`syncverify.tickets.incidents`).

    Results that repeat a fault (flow traces, echoes downstream, quality rules broken by a
    consistency fault) are attached to that fault's ticket as evidence, never tickets of their
    own. ``evidence_extra``: a mapping added to every ticket's evidence, or a callable giving it
    per head result (the root cause, say). CONSISTENT results move matching open tickets on (see
    the module docstring); NOT_RUN results are ignored. ``sinks``: names of the sinks that get
    the deliveries (default: :func:`~syncverify.tickets.sinks.configured_sink_names`).
    ``occurred_at``: when the fault a head result shows happened, from the data (see
    :func:`syncverify.tickets.cause.data_time`); without it, the earliest log event that explains
    the fault (``evidence_extra``'s ``root_cause``), if any.
    Returns the ids of the tickets opened or updated for anomalies.
    """
    at = need_aware(now)
    names = _sink_names(sinks)
    groups: dict[str, tuple[Unit, list[Attribution], list[Attribution], list[CheckResult]]] = {}
    for a in attribute(results, catalog):
        _, heads, attached, good = groups.setdefault(a.unit.key, (a.unit, [], [], []))
        if a.role != "head":
            attached.append(a)
        elif a.result.is_anomaly:
            heads.append(a)
        else:
            good.append(a.result)
    ids: list[int] = []
    for key, (unit, heads, attached, good) in groups.items():
        if heads:
            ids.append(_upsert_anomaly(store, unit, heads, attached, run_id=run_id, now=at, catalog=catalog,
                                       extra=evidence_extra, sinks=names, occurred_at=occurred_at))
        elif good and not attached:
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
    """Re-verification disproved the repair, or the repair was rolled back (a verified ticket
    opens again with its deadlines, which run from the anomaly)."""
    at, names, who = need_aware(now), _sink_names(sinks), _actor(actor)

    def apply(s: Session, t: Ticket) -> None:
        _reopen(s, t, actor=who, now=at, detail=detail or {}, sinks=names)
    return _change(store, ticket_id, (REPAIRED, VERIFIED), apply, "reopen")


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
