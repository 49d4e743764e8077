"""Inquiry outcome: the message shown to the patient and the slot proposed when none fit the window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.add_column(sa.Column("patient_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("proposed_slot_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_inquiries_proposed_slot_id_slots"), "slots", ["proposed_slot_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_constraint(op.f("fk_inquiries_proposed_slot_id_slots"), type_="foreignkey")
        batch_op.drop_column("proposed_slot_id")
        batch_op.drop_column("patient_message")
