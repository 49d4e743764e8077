"""The booking worker's claim reads the due index alone: the pending inquiries leave the status index.

The claim takes the first due pending inquiry in the order of ``ix_inquiries_due`` (pending inquiries only,
by when they are due). But two other indexes led with ``status``, and when a backlog built up faster than the
statistics were refreshed (a scheduling system down for a while; on a year's table, PostgreSQL re-analyses
only after some 50,000 changed rows), the planner, still counting one or two pending inquiries, read every
pending inquiry through the status index and sorted them, for each claim: the longer the backlog, the slower
each claim. Those indexes also kept an entry for every version an inquiry had while pending, which a claim
walked until the next vacuum.

Now ``ix_inquiries_status`` leaves out the pending inquiries (the due index has them, in order), and
``ix_inquiries_status_next_attempt_at``, which the due index replaced, is dropped. Lookups of any other status
(an open urgent review, those held for staff) use the status index as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NOT_PENDING = "status <> 'pending_booking'"


def upgrade() -> None:
    op.drop_index("ix_inquiries_status_next_attempt_at", table_name="inquiries")
    op.drop_index("ix_inquiries_status", table_name="inquiries")
    op.create_index(
        "ix_inquiries_status",
        "inquiries",
        ["status"],
        unique=False,
        sqlite_where=sa.text(NOT_PENDING),
        postgresql_where=sa.text(NOT_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_inquiries_status", table_name="inquiries")
    op.create_index("ix_inquiries_status", "inquiries", ["status"], unique=False)
    op.create_index("ix_inquiries_status_next_attempt_at", "inquiries", ["status", "next_attempt_at"], unique=False)
