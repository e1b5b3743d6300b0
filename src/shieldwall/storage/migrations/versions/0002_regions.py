"""Region signatures (derived-fake detection): a payload per signal, a region threshold per bank.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(
            sa.Column("region_threshold", sa.Integer(), server_default="16", nullable=False)
        )
    with op.batch_alter_table("entry_signals") as batch:
        batch.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entry_signals") as batch:
        batch.drop_column("payload")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("region_threshold")
