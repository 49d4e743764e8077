"""Rulebook versions in the database (the repository's file seeds version 1, active) and their impact previews.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state = 'active'")
#: The rulebook shipped with the service when this migration was written: version 1.
SEED = Path(__file__).resolve().parents[2] / "routing" / "domain" / "triage" / "rulebook.json"


def upgrade() -> None:
    versions = op.create_table(
        "rulebook_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["based_on"], ["rulebook_versions.id"], name=op.f("fk_rulebook_versions_based_on_rulebook_versions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_tokens.id"], name=op.f("fk_rulebook_versions_created_by_id_staff_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["staff_tokens.id"], name=op.f("fk_rulebook_versions_approved_by_id_staff_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rulebook_versions")),
        sa.UniqueConstraint("label", name=op.f("uq_rulebook_versions_label")),
    )
    with op.batch_alter_table("rulebook_versions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_rulebook_versions_active", ["state"], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE
        )
    op.create_table(
        "rulebook_previews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["rulebook_versions.id"], name=op.f("fk_rulebook_previews_version_id_rulebook_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rulebook_previews")),
    )
    with op.batch_alter_table("rulebook_previews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rulebook_previews_version_id"), ["version_id"], unique=False)
        batch_op.create_index("ix_rulebook_previews_status_requested_at", ["status", "requested_at"], unique=False)
    text = SEED.read_text(encoding="utf-8")
    document = json.loads(text)
    op.bulk_insert(
        versions,
        [
            {
                "label": document["version"],
                "document": document,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "state": "active",
                "note": "the rulebook shipped with the service (routing/domain/triage/rulebook.json)",
                "created_at": datetime.now(UTC),
                "created_by": "migration",
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("rulebook_previews")
    op.drop_table("rulebook_versions")
