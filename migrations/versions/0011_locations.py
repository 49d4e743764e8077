"""Locations: the practice's sites, the slots each offers, and where an inquiry is routed.

Every existing slot moves to the default location ``main``, whose name, address, phone and time zone are
left empty: empty fields fall back to the clinic's settings (``ROUTING_CLINIC_*``, ``ROUTING_TIMEZONE``), so
a one-site practice changes nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DEFAULT_LOCATION = "main"
SLOT_TYPES = ["consult", "imaging", "injection"]


def upgrade() -> None:
    locations = op.create_table(
        "locations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("slot_types", sa.JSON(), nullable=False),
        sa.Column("fhir_location", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("fhir_location", name=op.f("uq_locations_fhir_location")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        locations,
        [
            {
                "id": DEFAULT_LOCATION,
                "name": "Main site",
                "slot_types": SLOT_TYPES,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.String(length=40), nullable=True))
    op.execute(sa.text("UPDATE slots SET location_id = :main").bindparams(main=DEFAULT_LOCATION))
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.alter_column("location_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_foreign_key(op.f("fk_slots_location_id_locations"), "locations", ["location_id"], ["id"])
        batch_op.drop_constraint("uq_slots_slot_type_start", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_slots_location_id_slot_type_start"), ["location_id", "slot_type", "start"]
        )
        # Searches order by start, then site: the index gives them in that order without a sort.
        batch_op.drop_index("ix_slots_type_status_start")
        batch_op.create_index(
            "ix_slots_type_status_start_location", ["slot_type", "status", "start", "location_id"], unique=False
        )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_inquiries_location_id"), ["location_id"], unique=False)
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locations", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_column("locations")
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiries_location_id"))
        batch_op.drop_column("location_id")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("location_id")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_type_status_start_location")
        batch_op.create_index("ix_slots_type_status_start", ["slot_type", "status", "start"], unique=False)
        batch_op.drop_constraint(op.f("uq_slots_location_id_slot_type_start"), type_="unique")
        batch_op.create_unique_constraint("uq_slots_slot_type_start", ["slot_type", "start"])
        batch_op.drop_constraint(op.f("fk_slots_location_id_locations"), type_="foreignkey")
        batch_op.drop_column("location_id")
    op.drop_table("locations")
