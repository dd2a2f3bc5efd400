"""Tables of the results store: runs, check results, tickets and their events, deliveries,
repair scripts and sync-log analyses. SQLite for the embedded default, PostgreSQL in production.

Types are kept portable (JSON, DateTime with time zone, Text) so the same models run on SQLite,
PostgreSQL and MariaDB. Every timestamp is stored in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: sa.JSON, list[Any]: sa.JSON, datetime: sa.DateTime(timezone=True)}


class Run(Base):
    """One verification run (monthly, incremental, patrol, ad hoc, demo)."""

    __tablename__ = "sv_runs"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    month: Mapped[str | None] = mapped_column(sa.String(7), index=True)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(20))          # running, completed, partial, failed
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)

    results: Mapped[list[CheckResultRow]] = relationship(back_populates="run")


class CheckResultRow(Base):
    """A :class:`syncverify.results.CheckResult`, one per (run, check)."""

    __tablename__ = "sv_check_results"
    __table_args__ = (sa.UniqueConstraint("run_id", "check_id", name="uq_sv_result_run_check"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("sv_runs.id"), index=True)
    check_id: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    link_id: Mapped[str | None] = mapped_column(sa.String(60), index=True)
    table_name: Mapped[str] = mapped_column(sa.String(128))
    source_node: Mapped[str | None] = mapped_column(sa.String(60))
    target_node: Mapped[str | None] = mapped_column(sa.String(60))
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(sa.String(20), index=True)
    source_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    target_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    missing_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    extra_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    changed_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    duplicate_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    in_flight_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)   # the full CheckResult.to_dict()
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    run: Mapped[Run] = relationship(back_populates="results")


class Ticket(Base):
    """A repair ticket: one open ticket per (link, table, kind); ``open_key`` enforces it.

    ``open_key`` holds ``link/table/kind`` while the ticket is not closed and NULL after, so the
    unique constraint admits any number of closed tickets but only one open one, also when two
    runs race (the loser's INSERT fails and it updates the winner's ticket instead).
    """

    __tablename__ = "sv_tickets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    open_key: Mapped[str | None] = mapped_column(sa.String(250), unique=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(250), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    link_id: Mapped[str | None] = mapped_column(sa.String(60))
    table_name: Mapped[str] = mapped_column(sa.String(128))
    check_id: Mapped[str] = mapped_column(sa.String(200))
    source_node: Mapped[str | None] = mapped_column(sa.String(60))
    target_node: Mapped[str | None] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(400))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    detected_at: Mapped[datetime]
    # Migration 3: when the fault happened, from the data (the earliest affected row's window
    # time) or the log event that explains it; detected_at is when a check saw it.
    occurred_at: Mapped[datetime | None] = mapped_column(nullable=True)
    repair_due_at: Mapped[datetime]
    correct_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    repair_started_at: Mapped[datetime | None]
    repaired_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[str | None] = mapped_column(sa.String(40))
    last_seen_at: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]

    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    __tablename__ = "sv_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("sv_tickets.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(100))
    event: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Delivery(Base):
    """Outbox of ticket deliveries to sinks: a sink that is down never loses a ticket."""

    __tablename__ = "sv_deliveries"
    __table_args__ = (sa.UniqueConstraint("sink", "idempotency_key", name="uq_sv_delivery_sink_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("sv_tickets.id"), index=True)
    sink: Mapped[str] = mapped_column(sa.String(60))
    idempotency_key: Mapped[str] = mapped_column(sa.String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)   # pending, sending, delivered
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Migration 3: the sender that claimed the delivery and until when (status 'sending'); a
    # sender that died leaves a claim that expires.
    claim_token: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)


class RepairScript(Base):
    __tablename__ = "sv_repair_scripts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("sv_tickets.id"), index=True)
    dialect: Mapped[str] = mapped_column(sa.String(20))
    target_node: Mapped[str | None] = mapped_column(sa.String(60))
    apply_sql: Mapped[str] = mapped_column(sa.Text)
    rollback_sql: Mapped[str] = mapped_column(sa.Text)
    precheck_sql: Mapped[str] = mapped_column(sa.Text, default="")
    generated_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(sa.String(100))
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[str | None] = mapped_column(sa.String(100))
    outcome: Mapped[str | None] = mapped_column(sa.String(40))
    # Migration 2: the script as structured statements (pre-check with expected counts, apply,
    # rollback), exactly the text of the files, so the apply command never parses SQL.
    plan: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    # Migration 3: what kind of plan (``sql`` statements on a table, or a Kafka ``republish``
    # plan), its content hash, the approval (who, when, a note, the hash approved) and the lease
    # of an apply in progress (a process that died mid-apply leaves a lease that expires).
    plan_kind: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    plan_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    approval_note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    approved_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)


class TicketEscalation(Base):
    """One row per (ticket, escalation level): the unique constraint makes each escalation
    raised (and so delivered) at most once, however many SLA watches run at the same time."""

    __tablename__ = "sv_ticket_escalations"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "level", name="uq_sv_escalation_ticket_level"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("sv_tickets.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime]


class SyncLogAnalysis(Base):
    """The month's sync-log analysis as structured data (rendered by the report)."""

    __tablename__ = "sv_synclog_analyses"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    created_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SchemaSnapshot(Base):
    """Migration 4: the normalised shape of one copy of a table (node, logical table) as a run
    saw it. A row is written when the shape changes, and once per month, so a change between
    two runs is reported with what changed and when it was first seen."""

    __tablename__ = "sv_schema_snapshots"
    __table_args__ = (sa.Index("ix_sv_schema_snapshot_node_table", "node", "table_name", "captured_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(sa.String(60))
    table_name: Mapped[str] = mapped_column(sa.String(128))
    month: Mapped[str | None] = mapped_column(sa.String(7), index=True)
    captured_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(sa.String(40))
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)   # the TableShape as JSON
    hash: Mapped[str] = mapped_column(sa.String(64))


class OffsetSnapshot(Base):
    """Migration 5: one consumer group's offsets on one partition at one moment, as the Kafka
    backlog check saw them. A single snapshot cannot tell a stuck consumer from a busy one (a
    group stuck at lag 10 is under any fixed threshold); the history can (see
    :mod:`syncverify.kafka.health`)."""

    __tablename__ = "sv_offset_snapshots"
    __table_args__ = (sa.Index("ix_sv_offset_snapshot_group", "group_id", "topic", "partition", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    taken_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(sa.String(40))
    link_id: Mapped[str | None] = mapped_column(sa.String(60))
    group_id: Mapped[str] = mapped_column(sa.String(200))
    topic: Mapped[str] = mapped_column(sa.String(249))
    partition: Mapped[int]
    end_offset: Mapped[int] = mapped_column(sa.BigInteger)
    committed_offset: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    lag: Mapped[int] = mapped_column(sa.BigInteger)
