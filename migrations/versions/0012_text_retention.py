"""Text retention: when an inquiry's free text (the patient's words) was removed under the retention policy.

``inquiries.text_redacted_at`` marks a redacted inquiry; the partial index on ``received_at`` of the inquiries
whose text is still kept is the retention job's query (it stays as small as the retention period's inquiries,
however many redacted ones accumulate).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TEXT_KEPT = sa.text("text_redacted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_redacted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_inquiries_text_kept_received_at",
            ["received_at"],
            unique=False,
            sqlite_where=TEXT_KEPT,
            postgresql_where=TEXT_KEPT,
        )


def downgrade() -> None:
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiries_text_kept_received_at")
        batch_op.drop_column("text_redacted_at")
