"""The store queries of the monthly report: which runs stand for a month, its latest results,
its tickets and their repair scripts. Read only; nothing here talks to production."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from syncverify.calendar import BUREAU_TZ, month_window
from syncverify.report.views import aware
from syncverify.results import CheckResult
from syncverify.store import Store
from syncverify.store.models import RepairScript, Run, Ticket, TicketEvent
from syncverify.store.month import PARTIAL_RUN_KINDS, MonthResult, month_runs


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


def month_run_rows(store: Store, month: str) -> list[Run]:
    with store.session() as s:
        return list(month_runs(s, month))


def month_state(store: Store, month: str, warnings: list[str] | None = None
                ) -> tuple[list[CheckResult], dict[str, MonthResult]]:
    """The month's latest results and, per check id, where each came from."""
    state = store.month_results(month, warnings=warnings)
    return [m.result for m in state], {m.result.check_id or "": m for m in state}


def produced_by(rs: list[CheckResult], origin: dict[str, MonthResult]) -> MonthResult | None:
    """The run that last updated an item: the latest-finishing run among its results."""
    found = [origin[r.check_id or ""] for r in rs if (r.check_id or "") in origin]
    return max(found, key=lambda m: (m.run_finished_at or datetime.max.replace(tzinfo=UTC), m.run_id)) if found else None


def month_utc(month: str) -> tuple[datetime, datetime]:
    """The calendar month in the bureau's time zone, as UTC instants (tickets are stored in UTC)."""
    start, end = month_window(month)
    return start.replace(tzinfo=BUREAU_TZ).astimezone(UTC), end.replace(tzinfo=BUREAU_TZ).astimezone(UTC)


def month_tickets(store: Store, run_ids: set[str], window: tuple[datetime, datetime]) -> list[Ticket]:
    """Tickets of the month: raised or seen by one of its runs, or detected inside its period."""
    with store.session() as s:
        tickets = list(s.scalars(sa.select(Ticket).order_by(Ticket.id)))
    out = []
    for t in tickets:
        runs = {c.get("run_id") for c in ((t.evidence or {}).get("checks") or {}).values() if isinstance(c, dict)}
        detected = aware(t.detected_at)
        in_period = detected is not None and window[0] <= detected < window[1]
        if t.last_run_id in run_ids or runs & run_ids or in_period:
            out.append(t)
    return out


def repair_scripts(store: Store, ticket_ids: list[int]) -> tuple[list[RepairScript], list[TicketEvent]]:
    """Every repair script of these tickets (oldest first) and the tickets' script and verification events."""
    if not ticket_ids:
        return [], []
    with store.session() as s:
        scripts = list(s.scalars(sa.select(RepairScript).where(RepairScript.ticket_id.in_(ticket_ids))
                                 .order_by(RepairScript.id)))
        events = list(s.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids))
                                .order_by(TicketEvent.id)))
    return scripts, events
