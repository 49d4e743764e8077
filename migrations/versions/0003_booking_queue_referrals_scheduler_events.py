"""Booking queue (attempts, due time, worker lease), referrals, and scheduler events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("code_system", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("display", sa.String(length=255), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduler", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inquiry_id"], ["inquiries.id"], name=op.f("fk_referrals_inquiry_id_inquiries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_inquiry_id"), ["inquiry_id"], unique=False)

    op.create_table(
        "scheduler_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_key", sa.String(length=255), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("appointment_external_id", sa.String(length=255), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_scheduler_events_inquiry_id_inquiries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_events")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_scheduler_events_delivery_key")),
    )
    with op.batch_alter_table("scheduler_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduler_events_inquiry_id"), ["inquiry_id"], unique=False)

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_slot_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("booking_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("referral_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointments_external_id"), ["external_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_appointments_booking_key"), ["booking_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_referral_id_referrals"), "referrals", ["referral_id"], ["id"]
        )

    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booking_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proposed_slot", sa.JSON(), nullable=True))
        batch_op.create_index("ix_inquiries_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiries_status_next_attempt_at")
        batch_op.drop_column("proposed_slot")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("booking_attempts")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_appointments_referral_id_referrals"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_appointments_booking_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_appointments_external_id"))
        batch_op.drop_column("referral_id")
        batch_op.drop_column("booking_key")
        batch_op.drop_column("external_slot_id")

    with op.batch_alter_table("scheduler_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_events_inquiry_id"))

    op.drop_table("scheduler_events")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_inquiry_id"))

    op.drop_table("referrals")
