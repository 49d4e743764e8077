"""Patient notifications: contacts that opted out, and which appointments had their reminder.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_opt_outs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_opt_outs")),
        sa.UniqueConstraint("channel", "contact", name=op.f("uq_contact_opt_outs_channel_contact")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_appointments_status_start", ["status", "start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_status_start")
        batch_op.drop_column("reminder_recorded_at")
    op.drop_table("contact_opt_outs")
