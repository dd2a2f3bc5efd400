"""Store version 2: repair scripts keep their structured plan (pre-check, apply, rollback statements).

Revision ID: v2
Revises: v1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v2"
down_revision = "v1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The hand-written version 1 created its tables from the models of the day, so a store it
    # built after the plan existed already has the column: add it only where it is missing.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("sv_repair_scripts")}
    if "plan" not in have:
        op.add_column("sv_repair_scripts", sa.Column("plan", sa.JSON()))


def downgrade() -> None:
    op.drop_column("sv_repair_scripts", "plan")
