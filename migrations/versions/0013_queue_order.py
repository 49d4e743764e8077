"""The staff queue's order on the inquiry row, and the indexes a year of data needs.

The queue sorts open emergencies, pending and undecided inquiries, open urgent reviews and held inquiries
first, then by urgency, oldest first. Those inputs lived in three tables (the decision in force, the audit
trail's acknowledgements), so every page sorted the whole table. Now the inquiry keeps its decision's
``urgency`` and ``hold`` and when it was ``acknowledged_at``, and the database computes ``queue_rank`` from
them and ``status``: the index (queue_rank, received_at, id) gives a page without a sort, and keyset pages go
on from a row's place in it. The audit search by actor gets its index too, and the booking worker's claim one
over the pending inquiries alone, in the order it takes them.

Existing rows are filled from their decision in force and their first ``acknowledge`` audit event.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: As routing.adapters.db.models.QUEUE_RANK_SQL (copied: a migration must not change when the models do).
QUEUE_RANK_SQL = (
    "CASE"
    " WHEN urgency = 'emergency' AND status <> 'closed' AND acknowledged_at IS NULL THEN 0"
    " WHEN status = 'pending_booking' OR urgency IS NULL THEN 10"
    " WHEN status = 'urgent_review' AND acknowledged_at IS NULL THEN 20"
    " WHEN status = 'needs_review' AND hold IS NOT NULL THEN 30"
    " ELSE 40 END"
    " + CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 WHEN 'soon' THEN 2 WHEN 'routine' THEN 3"
    " ELSE 4 END"
)


def upgrade() -> None:
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("urgency", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("hold", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text(
            "UPDATE inquiries SET"
            " urgency = (SELECT d.urgency FROM triage_decisions d"
            " WHERE d.inquiry_id = inquiries.id AND d.superseded_at IS NULL ORDER BY d.created_at DESC LIMIT 1),"
            " hold = (SELECT d.hold FROM triage_decisions d"
            " WHERE d.inquiry_id = inquiries.id AND d.superseded_at IS NULL ORDER BY d.created_at DESC LIMIT 1),"
            " acknowledged_at = (SELECT min(a.at) FROM audit_events a"
            " WHERE a.inquiry_id = inquiries.id AND a.action = 'acknowledge')"
        )
    )
    # Not under batch: SQLite adds a virtual generated column in place (it cannot add a stored one). PostgreSQL
    # stores it: it indexes only stored generated columns (18 would make it virtual unless told).
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    computed = sa.Computed(QUEUE_RANK_SQL, persisted=stored)
    op.add_column("inquiries", sa.Column("queue_rank", sa.SmallInteger(), computed, nullable=True))
    op.create_index("ix_inquiries_queue_order", "inquiries", ["queue_rank", "received_at", "id"], unique=False)
    op.create_index(
        "ix_inquiries_location_queue_order",
        "inquiries",
        ["location_id", "queue_rank", "received_at", "id"],
        unique=False,
    )
    op.create_index("ix_audit_events_actor_name_at_id", "audit_events", ["actor_name", "at", "id"], unique=False)
    op.create_index(
        "ix_inquiries_due",
        "inquiries",
        ["next_attempt_at", "received_at"],
        unique=False,
        sqlite_where=sa.text("status = 'pending_booking'"),
        postgresql_where=sa.text("status = 'pending_booking'"),
    )


def downgrade() -> None:
    op.drop_index("ix_inquiries_due", table_name="inquiries")
    op.drop_index("ix_audit_events_actor_name_at_id", table_name="audit_events")
    op.drop_index("ix_inquiries_location_queue_order", table_name="inquiries")
    op.drop_index("ix_inquiries_queue_order", table_name="inquiries")
    # Plain SQL on both databases (SQLite >= 3.35): batch mode would copy the generated column along.
    op.execute(sa.text("ALTER TABLE inquiries DROP COLUMN queue_rank"))
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("hold")
        batch_op.drop_column("urgency")
