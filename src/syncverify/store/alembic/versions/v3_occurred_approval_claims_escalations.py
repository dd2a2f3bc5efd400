"""Store version 3: tickets' occurred_at; repair scripts' plan kind and hash, approval and apply
lease; deliveries' sender claim; escalations raised once per ticket and level.

Revision ID: v3
Revises: v2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v3"
down_revision = "v2"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)

def _columns() -> dict[str, list[sa.Column]]:
    return {
        "sv_tickets": [sa.Column("occurred_at", _TIME)],
        "sv_repair_scripts": [
            sa.Column("plan_kind", sa.String(20)),
            sa.Column("plan_hash", sa.String(64)),
            sa.Column("approved_at", _TIME),
            sa.Column("approval_note", sa.Text()),
            sa.Column("approved_hash", sa.String(64)),
            sa.Column("lease_owner", sa.String(100)),
            sa.Column("lease_until", _TIME),
        ],
        "sv_deliveries": [sa.Column("claim_token", sa.String(40)), sa.Column("claimed_until", _TIME)],
    }


def upgrade() -> None:
    # Only what is missing: the hand-written migrations built tables from the models of the day,
    # so a store they stamped at version 1 or 2 may already hold some of this.
    inspector = sa.inspect(op.get_bind())
    for table, columns in _columns().items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for column in columns:
            if column.name not in have:
                op.add_column(table, column)
    if not inspector.has_table("sv_ticket_escalations"):
        op.create_table(
            "sv_ticket_escalations",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("sv_tickets.id"), nullable=False),
            sa.Column("level", sa.String(40), nullable=False),
            sa.Column("at", _TIME, nullable=False),
            sa.UniqueConstraint("ticket_id", "level", name="uq_sv_escalation_ticket_level"),
        )
        op.create_index("ix_sv_ticket_escalations_ticket_id", "sv_ticket_escalations", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("sv_ticket_escalations")
    for table, columns in _columns().items():
        for column in columns:
            op.drop_column(table, column.name)
