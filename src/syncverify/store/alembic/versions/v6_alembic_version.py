"""Store version 6: Alembic keeps the store's version; the hand-written version table goes.

A store of the hand-written migrations was stamped with its version (``sv_schema_version``) and
upgraded to here; from now on ``alembic_version`` alone says where a store is.

Revision ID: v6
Revises: v5
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v6"
down_revision = "v5"
branch_labels = None
depends_on = None

LEGACY_VERSION_TABLE = "sv_schema_version"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(LEGACY_VERSION_TABLE):
        op.drop_table(LEGACY_VERSION_TABLE)


def downgrade() -> None:
    """Nothing: a store below v6 has no version table of its own until the hand-written
    migrations (which are gone) would create it."""
