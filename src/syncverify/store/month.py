"""The state of a month: the latest result of every check across all the runs of that month.

A monthly report once read one run — the latest — so a partial re-run (one link, the README's
``links: ["zz11"]``) became the whole month: 31 items at 64.52 % turned into 1 item at 0.00 %.
A month is verified by several runs over time (the monthly run, re-runs of a link after a
repair, a resumed run), so its state is, per check id, the result of the run that finished last
and holds that check. Every result keeps the run that produced it, so a report can say so.

Runs that cover only hours or a day of the month (``incremental``, ``patrol``) carry the month
but never stand for it: their counts are of a few hours, not of the month's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncverify.results import CheckResult
from syncverify.store.models import Run
from syncverify.store.rows import read_results

# Kinds of run whose window is a few hours or one day: never part of a month's state.
PARTIAL_RUN_KINDS = ("incremental", "patrol")


@dataclass
class MonthResult:
    """One check's latest result in the month and the run that produced it."""

    result: CheckResult
    run_id: str
    run_kind: str
    run_finished_at: datetime | None   # UTC; None only for the unfinished run asked for by ``with_run``


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.max.replace(tzinfo=UTC)     # the run still running is the newest
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def month_runs(session: Session, month: str, *, with_run: str | None = None) -> list[Run]:
    """The runs that make up ``month``'s state, oldest finish first.

    Finished runs of a kind that covers the month; ``with_run`` adds one run even while it is
    still running (a step of that run — the trace, the sync-log correlation — reads the month as
    it will be once the run is closed).
    """
    runs = list(session.scalars(sa.select(Run).where(Run.month == month)))
    chosen = [r for r in runs
              if r.kind not in PARTIAL_RUN_KINDS and (r.finished_at is not None or r.id == with_run)]
    return sorted(chosen, key=lambda r: (_utc(r.finished_at), _utc(r.started_at), r.id))


def month_results(session: Session, month: str, *, with_run: str | None = None,
                  warnings: list[str] | None = None) -> list[MonthResult]:
    """Per check id, the result of the last run (by finish time) that holds it.

    Results come in a stable order: the order in which each check first appeared in the month,
    so a re-run of one link changes its own lines of a report and moves nothing else.
    """
    latest: dict[str, MonthResult] = {}
    for run in month_runs(session, month, with_run=with_run):
        finished = None if run.finished_at is None else _utc(run.finished_at)
        for result in read_results(session, run.id, warnings):
            key = result.check_id or ""
            latest[key] = MonthResult(result, run.id, run.kind, finished)
    return list(latest.values())


__all__ = ["PARTIAL_RUN_KINDS", "MonthResult", "month_results", "month_runs"]
