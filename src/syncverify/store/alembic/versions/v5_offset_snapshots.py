"""Store version 5: offset snapshots, consumer groups' end and committed offsets over time.

Revision ID: v5
Revises: v4
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v5"
down_revision = "v4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("sv_offset_snapshots"):
        return      # a store of the hand-written migrations whose version table lacks a row
    op.create_table(
        "sv_offset_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(40)),
        sa.Column("link_id", sa.String(60)),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.BigInteger(), nullable=False),
        sa.Column("committed_offset", sa.BigInteger()),
        sa.Column("lag", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_sv_offset_snapshot_group", "sv_offset_snapshots", ["group_id", "topic", "partition", "taken_at"])


def downgrade() -> None:
    op.drop_table("sv_offset_snapshots")
