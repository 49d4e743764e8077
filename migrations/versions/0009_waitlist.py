"""The waitlist: entries waiting for a slot inside their urgency window, and the offers made to them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LIVE_ENTRY = sa.text("status IN ('waiting', 'offered')")
LIVE_OFFER = sa.text("status IN ('holding', 'open', 'booking')")


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("slot_type", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_slot", sa.JSON(), nullable=True),
        sa.Column("unavailable_times", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_waitlist_entries_inquiry_id_inquiries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_entries_inquiry_id"), ["inquiry_id"], unique=False)
        batch_op.create_index(
            "ix_waitlist_entries_status_slot_type_priority", ["status", "slot_type", "priority"], unique=False
        )
        batch_op.create_index(
            "uq_waitlist_entries_live_inquiry",
            ["inquiry_id"],
            unique=True,
            sqlite_where=LIVE_ENTRY,
            postgresql_where=LIVE_ENTRY,
        )
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("slot_ref", sa.String(length=255), nullable=False),
        sa.Column("slot_type", sa.String(length=20), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("hold_ref", sa.String(length=255), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["waitlist_entries.id"], name=op.f("fk_waitlist_offers_entry_id_waitlist_entries")
        ),
        sa.ForeignKeyConstraint(["inquiry_id"], ["inquiries.id"], name=op.f("fk_waitlist_offers_inquiry_id_inquiries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
    )
    with op.batch_alter_table("waitlist_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_offers_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_offers_inquiry_id"), ["inquiry_id"], unique=False)
        batch_op.create_index("ix_waitlist_offers_status_expires_at", ["status", "expires_at"], unique=False)
        for name, column in (
            ("uq_waitlist_offers_live_slot", "slot_ref"),
            ("uq_waitlist_offers_live_entry", "entry_id"),
        ):
            batch_op.create_index(name, [column], unique=True, sqlite_where=LIVE_OFFER, postgresql_where=LIVE_OFFER)


def downgrade() -> None:
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_entries")
