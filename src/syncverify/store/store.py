"""The results store API: runs and check results in, results out. Tickets live in the same
database (see :mod:`syncverify.tickets`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncverify.dialects import for_url
from syncverify.errors import UnreachableError
from syncverify.masking import mask_url
from syncverify.results import CheckResult, Outcome
from syncverify.store import migrations
from syncverify.store.models import CheckResultRow, Run, SyncLogAnalysis

if TYPE_CHECKING:
    from syncverify.store.month import MonthResult


def home() -> Path:
    """Where the embedded default keeps its files (``$SYNCVERIFY_HOME``, default ``.syncverify``)."""
    return Path(os.environ.get("SYNCVERIFY_HOME", ".syncverify")).resolve()


def default_url() -> str:
    return os.environ.get("SYNCVERIFY_STORE_URL") or f"sqlite:///{home() / 'results.sqlite'}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Store:
    """Results database. ``Store()`` opens the embedded default and migrates it (Alembic, see
    :mod:`syncverify.store.migrations`)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True, create: bool = True) -> None:
        """``create=False`` (read-only commands: tickets list/show, report): a store whose
        database does not exist is an error naming it, and no file or folder is made — a
        mistyped path must not leave an empty store behind. Runs and the demo create it."""
        self.url = url or default_url()
        if not create:
            _require_existing(self.url)
        # Several runs (threads, or Airflow tasks in processes) write the same store: the
        # dialect makes their read-check-write transactions run one after another.
        self.engine = for_url(self.url).store_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            try:
                migrations.migrate(self.engine)
            except sa.exc.OperationalError as exc:
                raise UnreachableError(f"results store {mask_url(self.url)} is not reachable: "
                                       f"{str(exc.orig).splitlines()[0]}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # ---- runs -------------------------------------------------------------------------------
    def start_run(self, kind: str, *, month: str | None = None, window_start: datetime | None = None,
                  window_end: datetime | None = None, params: dict[str, Any] | None = None,
                  run_id: str | None = None) -> str:
        """Open a run. Passing the ``run_id`` of an unfinished run resumes it."""
        with self.session() as s:
            if run_id is not None and s.get(Run, run_id) is not None:
                run = s.get(Run, run_id)
                assert run is not None
                run.status = "running"
                return run_id
            run_id = run_id or f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            s.add(Run(id=run_id, kind=kind, month=month, window_start=window_start, window_end=window_end,
                      started_at=datetime.now(UTC), status="running", params=params or {},
                      summary={}))
        return run_id

    def finish_run(self, run_id: str, *, status: str | None = None, summary: dict[str, Any] | None = None) -> str:
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise KeyError(run_id)
            rows = s.scalars(sa.select(CheckResultRow.outcome).where(CheckResultRow.run_id == run_id)).all()
            if status is None:
                status = "partial" if Outcome.NOT_RUN.value in rows else "completed"
            run.status = status
            run.finished_at = datetime.now(UTC)
            run.summary = summary or {}
            return status

    def run(self, run_id: str) -> Run | None:
        with self.session() as s:
            return s.get(Run, run_id)

    def runs(self, *, kind: str | None = None, month: str | None = None) -> list[Run]:
        with self.session() as s:
            q = sa.select(Run).order_by(Run.started_at)
            if kind:
                q = q.where(Run.kind == kind)
            if month:
                q = q.where(Run.month == month)
            return list(s.scalars(q))

    def latest_run(self, *, kind: str | None = None, month: str | None = None,
                   finished: bool = True) -> Run | None:
        runs = [r for r in self.runs(kind=kind, month=month) if r.finished_at or not finished]
        return runs[-1] if runs else None

    # ---- check results --------------------------------------------------------------------------
    def record(self, run_id: str, result: CheckResult) -> None:
        """Insert or replace the result of one check in a run (a resumed run overwrites).
        The runner files a schema result's shapes as snapshots before recording it."""
        payload = result.to_dict()
        values = dict(
            run_id=run_id, check_id=result.check_id, kind=result.kind.value, link_id=result.link_id,
            table_name=result.table, source_node=result.source_node, target_node=result.target_node,
            window_start=result.window_start, window_end=result.window_end, outcome=result.outcome.value,
            source_rows=result.source_rows, target_rows=result.target_rows,
            missing_count=result.missing_count, extra_count=result.extra_count,
            changed_count=result.changed_count, duplicate_count=result.duplicate_count,
            in_flight_count=result.in_flight_count, payload=payload, error=result.error,
            started_at=result.started_at, finished_at=result.finished_at,
        )
        with self.session() as s:
            row = s.scalars(sa.select(CheckResultRow).where(
                CheckResultRow.run_id == run_id, CheckResultRow.check_id == result.check_id)).first()
            if row is None:
                s.add(CheckResultRow(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)

    def finished_check_ids(self, run_id: str) -> set[str]:
        """Checks of a run that ran to an outcome (a resumed run skips these)."""
        with self.session() as s:
            return set(s.scalars(sa.select(CheckResultRow.check_id).where(
                CheckResultRow.run_id == run_id, CheckResultRow.outcome != Outcome.NOT_RUN.value)))

    def results(self, run_id: str | None = None, *, month: str | None = None,
                kind: str | None = None, warnings: list[str] | None = None) -> list[CheckResult]:
        """Results of one run, or of the latest finished run of ``month``.

        A corrupt row (payload that is not JSON, an unknown enum value, missing fields) is
        skipped and named — table, row id, check id — in ``warnings`` and the log: one bad row
        must not hide the rest of the month (see :mod:`syncverify.store.rows`).
        """
        from syncverify.store.rows import read_results

        if run_id is None:
            run = self.latest_run(month=month, kind=kind)
            if run is None:
                return []
            run_id = run.id
        with self.session() as s:
            return read_results(s, run_id, warnings)

    def month_results(self, month: str, *, with_run: str | None = None,
                      warnings: list[str] | None = None) -> list[MonthResult]:
        """The month's state: per check id, the latest result across every run of ``month``
        (not only the latest run — a partial re-run updates its checks and keeps the others),
        each with the run that produced it. See :mod:`syncverify.store.month`."""
        from syncverify.store.month import month_results

        with self.session() as s:
            return month_results(s, month, with_run=with_run, warnings=warnings)

    # ---- sync-log analyses ------------------------------------------------------------------------
    def save_synclog_analysis(self, month: str, payload: dict[str, Any], run_id: str | None = None) -> None:
        with self.session() as s:
            s.add(SyncLogAnalysis(run_id=run_id, month=month, payload=payload,
                                  created_at=datetime.now(UTC)))

    def synclog_analysis(self, month: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.scalars(sa.select(SyncLogAnalysis).where(SyncLogAnalysis.month == month)
                            .order_by(SyncLogAnalysis.id.desc())).first()
            return None if row is None else row.payload


def _require_existing(url: str) -> None:
    problem = for_url(url).missing_database(sa.engine.make_url(url))
    if problem:
        raise UnreachableError(f"results store {mask_url(url)} does not exist: {problem}; nothing was created "
                               "(`syncverify run` creates the store)")


__all__ = ["Store", "_utc", "default_url", "home"]
