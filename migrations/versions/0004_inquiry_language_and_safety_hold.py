"""The inquiry's language, and why a decision holds it for staff (the reader's safety net).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("triage_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triage_decisions", schema=None) as batch_op:
        batch_op.drop_column("hold")
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_column("language")
