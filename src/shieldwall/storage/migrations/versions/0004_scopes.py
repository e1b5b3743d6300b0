"""Bank scopes: a bank may apply only to scans made with its scope (one community's banks).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(sa.Column("scope", sa.String(64), nullable=True))
        batch.create_index(batch.f("ix_banks_scope"), ["scope"])


def downgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.drop_index(batch.f("ix_banks_scope"))
        batch.drop_column("scope")
