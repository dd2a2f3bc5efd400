"""Store version 4: schema snapshots, the normalised shape of each copy of a table per month and change.

Revision ID: v4
Revises: v3
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v4"
down_revision = "v3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("sv_schema_snapshots"):
        return      # a store of the hand-written migrations whose version table lacks a row
    op.create_table(
        "sv_schema_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(60), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("month", sa.String(7)),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(40)),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_sv_schema_snapshots_month", "sv_schema_snapshots", ["month"])
    op.create_index("ix_sv_schema_snapshot_node_table", "sv_schema_snapshots", ["node", "table_name", "captured_at"])


def downgrade() -> None:
    op.drop_table("sv_schema_snapshots")
