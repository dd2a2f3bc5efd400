"""Store version 1: runs, check results, tickets, events, deliveries, repair scripts, sync-log analyses.

The tables as the first hand-written migration created them; later columns come with later
revisions (a store of those migrations at version N is stamped ``vN`` and upgraded from there).

Revision ID: v1
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v1"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "sv_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("month", sa.String(7)),
        sa.Column("window_start", _TIME),
        sa.Column("window_end", _TIME),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sv_runs_kind", "sv_runs", ["kind"])
    op.create_index("ix_sv_runs_month", "sv_runs", ["month"])

    op.create_table(
        "sv_check_results",
        _id(),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("sv_runs.id"), nullable=False),
        sa.Column("check_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("link_id", sa.String(60)),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("source_node", sa.String(60)),
        sa.Column("target_node", sa.String(60)),
        sa.Column("window_start", _TIME),
        sa.Column("window_end", _TIME),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("source_rows", sa.BigInteger()),
        sa.Column("target_rows", sa.BigInteger()),
        sa.Column("missing_count", sa.BigInteger(), nullable=False),
        sa.Column("extra_count", sa.BigInteger(), nullable=False),
        sa.Column("changed_count", sa.BigInteger(), nullable=False),
        sa.Column("duplicate_count", sa.BigInteger(), nullable=False),
        sa.Column("in_flight_count", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", _TIME),
        sa.Column("finished_at", _TIME),
        sa.UniqueConstraint("run_id", "check_id", name="uq_sv_result_run_check"),
    )
    for column in ("run_id", "kind", "link_id", "outcome"):
        op.create_index(f"ix_sv_check_results_{column}", "sv_check_results", [column])

    op.create_table(
        "sv_tickets",
        _id(),
        sa.Column("open_key", sa.String(250), unique=True),
        sa.Column("dedup_key", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("link_id", sa.String(60)),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("check_id", sa.String(200), nullable=False),
        sa.Column("source_node", sa.String(60)),
        sa.Column("target_node", sa.String(60)),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detected_at", _TIME, nullable=False),
        sa.Column("repair_due_at", _TIME, nullable=False),
        sa.Column("correct_due_at", _TIME, nullable=False),
        sa.Column("acknowledged_at", _TIME),
        sa.Column("repair_started_at", _TIME),
        sa.Column("repaired_at", _TIME),
        sa.Column("verified_at", _TIME),
        sa.Column("closed_at", _TIME),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.String(40)),
        sa.Column("last_seen_at", _TIME),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_index("ix_sv_tickets_dedup_key", "sv_tickets", ["dedup_key"])
    op.create_index("ix_sv_tickets_status", "sv_tickets", ["status"])

    op.create_table(
        "sv_ticket_events",
        _id(),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("sv_tickets.id"), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sv_ticket_events_ticket_id", "sv_ticket_events", ["ticket_id"])

    op.create_table(
        "sv_deliveries",
        _id(),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("sv_tickets.id"), nullable=False),
        sa.Column("sink", sa.String(60), nullable=False),
        sa.Column("idempotency_key", sa.String(120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("delivered_at", _TIME),
        sa.Column("last_error", sa.Text()),
        sa.UniqueConstraint("sink", "idempotency_key", name="uq_sv_delivery_sink_key"),
    )
    op.create_index("ix_sv_deliveries_ticket_id", "sv_deliveries", ["ticket_id"])
    op.create_index("ix_sv_deliveries_status", "sv_deliveries", ["status"])

    op.create_table(
        "sv_repair_scripts",
        _id(),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("sv_tickets.id"), nullable=False),
        sa.Column("dialect", sa.String(20), nullable=False),
        sa.Column("target_node", sa.String(60)),
        sa.Column("apply_sql", sa.Text(), nullable=False),
        sa.Column("rollback_sql", sa.Text(), nullable=False),
        sa.Column("precheck_sql", sa.Text(), nullable=False),
        sa.Column("generated_at", _TIME, nullable=False),
        sa.Column("approved_by", sa.String(100)),
        sa.Column("applied_at", _TIME),
        sa.Column("applied_by", sa.String(100)),
        sa.Column("outcome", sa.String(40)),
    )
    op.create_index("ix_sv_repair_scripts_ticket_id", "sv_repair_scripts", ["ticket_id"])

    op.create_table(
        "sv_synclog_analyses",
        _id(),
        sa.Column("run_id", sa.String(40)),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sv_synclog_analyses_run_id", "sv_synclog_analyses", ["run_id"])
    op.create_index("ix_sv_synclog_analyses_month", "sv_synclog_analyses", ["month"])


def downgrade() -> None:
    for table in ("sv_synclog_analyses", "sv_repair_scripts", "sv_deliveries", "sv_ticket_events", "sv_tickets",
                  "sv_check_results", "sv_runs"):
        op.drop_table(table)
