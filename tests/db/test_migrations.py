"""Alembic migrations are the schema: they match the models and undo cleanly, on every backend."""

from __future__ import annotations

import json
import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from routing.adapters.db import migrations
from routing.adapters.db.models import Base
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH

TABLES = {
    "inquiries",
    "triage_decisions",
    "slots",
    "appointments",
    "staff_tokens",
    "console_sessions",
    "referrals",
    "scheduler_events",
    "sync_checkpoints",
    "audit_events",
    "contact_opt_outs",
    "outbox_events",
    "outbox_deliveries",
    "outbox_attempts",
    "webhook_subscriptions",
    "waitlist_entries",
    "waitlist_offers",
    "rulebook_versions",
    "rulebook_previews",
    "locations",
}
#: What 0008 adds.
OUTBOX_TABLES = {"outbox_events", "outbox_deliveries", "outbox_attempts", "webhook_subscriptions"}
WAITLIST_TABLES = {"waitlist_entries", "waitlist_offers"}
RULEBOOK_TABLES = {"rulebook_versions", "rulebook_previews"}
#: Tables later migrations add (not there at 0005 or 0006 either).
ADDED_AFTER_0006 = {"contact_opt_outs", *OUTBOX_TABLES, *WAITLIST_TABLES, *RULEBOOK_TABLES, "locations"}


def _schema_differences(url) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _tables(url) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_on_an_empty_database_matches_the_models(database_url):
    migrations.upgrade(database_url)

    assert _tables(database_url) == TABLES | {"alembic_version"}
    assert _schema_differences(database_url) == []


def test_downgrade_base_removes_every_table(database_url):
    migrations.upgrade(database_url)

    migrations.downgrade(database_url, "base")

    assert _tables(database_url) <= {"alembic_version"}


def test_upgrade_after_downgrade_rebuilds_the_same_schema(database_url):
    migrations.upgrade(database_url)
    migrations.downgrade(database_url, "base")

    migrations.upgrade(database_url)

    assert _schema_differences(database_url) == []


def test_migration_history_is_linear():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations.MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1


def test_0005_adds_console_sessions_and_token_expiry_keeping_tokens_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0004")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff_tokens (id, name, role, token_hash, created_at) "
                    "VALUES (:id, 'Nina Nurse', 'staff', :hash, CURRENT_TIMESTAMP)"
                ),
                {"id": uuid.UUID(int=1).hex, "hash": "a" * 64},
            )
        migrations.upgrade(database_url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name, expires_at FROM staff_tokens")).all() == [("Nina Nurse", None)]
        assert "console_sessions" in _tables(database_url)

        migrations.downgrade(database_url, "0004")

        assert "console_sessions" not in _tables(database_url)
        columns = {c["name"] for c in inspect(engine).get_columns("staff_tokens")}
        assert "expires_at" not in columns
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM staff_tokens")).scalars().all() == ["Nina Nurse"]
    finally:
        engine.dispose()


def test_0006_adds_the_poll_checkpoint_table_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0005")

    migrations.upgrade(database_url, "0006")
    engine = create_engine(database_url)
    try:
        columns = [c["name"] for c in inspect(engine).get_columns("sync_checkpoints")]
        migrations.downgrade(database_url, "0005")
        after_downgrade = _tables(database_url)
    finally:
        engine.dispose()

    assert columns == ["name", "position", "checked_at"]
    assert "sync_checkpoints" not in after_downgrade
    assert TABLES - after_downgrade == {"sync_checkpoints", *ADDED_AFTER_0006}


def test_0007_adds_opt_outs_and_the_reminder_mark_keeping_appointments_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0006")
    engine = create_engine(database_url)
    inquiry_id = uuid.uuid4().hex
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload, status, "
                    "received_at, updated_at, booking_attempts) VALUES (:id, 'k', 'h', 'application/json', :raw, "
                    "'{}', 'booked', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
                ),
                {"id": inquiry_id, "raw": b"{}"},
            )
            connection.execute(
                text(
                    'INSERT INTO appointments (id, inquiry_id, slot_type, start, "end", scheduler, status, created_at) '
                    "VALUES (:id, :inquiry, 'consult', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'embedded', 'booked', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"id": uuid.uuid4().hex, "inquiry": inquiry_id},
            )
        migrations.upgrade(database_url, "0007")
        inspector = inspect(engine)
        opt_out_columns = [c["name"] for c in inspector.get_columns("contact_opt_outs")]
        indexes = {index["name"] for index in inspector.get_indexes("appointments")}
        with engine.connect() as connection:
            marks = connection.execute(text("SELECT reminder_recorded_at FROM appointments")).scalars().all()
        migrations.downgrade(database_url, "0006")
        after = inspect(engine)
        tables_after = set(after.get_table_names())
        columns_after = {c["name"] for c in after.get_columns("appointments")}
        with engine.connect() as connection:
            appointments = connection.execute(text("SELECT count(*) FROM appointments")).scalar()
    finally:
        engine.dispose()

    assert opt_out_columns == ["id", "channel", "contact", "opted_out", "source", "changed_at"]
    assert marks == [None]
    assert "ix_appointments_status_start" in indexes
    assert "contact_opt_outs" not in tables_after
    assert "reminder_recorded_at" not in columns_after
    assert appointments == 1


def test_0008_adds_the_outbox_and_webhook_subscriptions_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0007")

    migrations.upgrade(database_url, "0008")
    later = WAITLIST_TABLES | RULEBOOK_TABLES | {"locations"}
    added = _tables(database_url) - (TABLES - OUTBOX_TABLES - later)
    migrations.downgrade(database_url, "0007")
    after_downgrade = _tables(database_url)

    assert added == OUTBOX_TABLES | {"alembic_version"}
    assert after_downgrade == (TABLES - OUTBOX_TABLES - later) | {"alembic_version"}


def test_0009_adds_the_waitlist_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0008")
    before = _tables(database_url)

    migrations.upgrade(database_url, "0009")
    added = _tables(database_url) - before
    migrations.downgrade(database_url, "0008")

    assert added == WAITLIST_TABLES
    assert _tables(database_url) == before


def test_0010_adds_rulebook_versions_with_the_shipped_rulebook_active_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0009")
    before = _tables(database_url)

    migrations.upgrade(database_url, "0010")
    added = _tables(database_url) - before
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            seeded = connection.execute(text("SELECT id, label, state, created_by FROM rulebook_versions")).all()
    finally:
        engine.dispose()
    migrations.downgrade(database_url, "0009")

    shipped = json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))["version"]
    assert added == RULEBOOK_TABLES
    assert [tuple(row) for row in seeded] == [(1, shipped, "active", "migration")]
    assert _tables(database_url) == before


def test_0011_moves_every_slot_to_the_default_site_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0010")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    'INSERT INTO slots (id, slot_type, start, "end", status, version, created_at) VALUES '
                    "('5e0c5a1e9b7d4c1e8a3f000000000001', 'consult', '2026-12-07 14:00:00', '2026-12-07 14:30:00', "
                    "'free', 1, '2026-12-06 00:00:00')"
                )
            )
        migrations.upgrade(database_url, "0011")
        with engine.connect() as connection:
            sites = connection.execute(text("SELECT id, name, address, active FROM locations")).all()
            slots = connection.execute(text("SELECT slot_type, location_id FROM slots")).all()
        migrations.downgrade(database_url, "0010")
        with engine.connect() as connection:
            after = connection.execute(text("SELECT slot_type FROM slots")).all()
    finally:
        engine.dispose()

    assert [tuple(row) for row in sites] == [("main", "Main site", None, True)]
    assert [tuple(row) for row in slots] == [("consult", "main")]
    assert [tuple(row) for row in after] == [("consult",)]
    assert "locations" not in _tables(database_url)


def test_0012_adds_the_text_removed_mark_keeping_inquiries_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0011")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload, status, "
                    "received_at, updated_at, booking_attempts) VALUES ('5e0c5a1e9b7d4c1e8a3f000000000002', 'k1', "
                    "'00', 'application/json', :raw, '{}', 'booked', '2026-12-06 00:00:00', '2026-12-06 00:00:00', 0)"
                ),
                {"raw": b"{}"},
            )
        migrations.upgrade(database_url, "0012")
        with engine.connect() as connection:
            marks = connection.execute(text("SELECT idempotency_key, text_redacted_at FROM inquiries")).all()
            indexes = {index["name"] for index in inspect(connection).get_indexes("inquiries")}
        migrations.downgrade(database_url, "0011")
        with engine.connect() as connection:
            columns = {column["name"] for column in inspect(connection).get_columns("inquiries")}
            kept = connection.execute(text("SELECT idempotency_key FROM inquiries")).all()
    finally:
        engine.dispose()

    assert [tuple(row) for row in marks] == [("k1", None)]
    assert "ix_inquiries_text_kept_received_at" in indexes
    assert "text_redacted_at" not in columns
    assert [tuple(row) for row in kept] == [("k1",)]


def test_0013_keeps_the_queue_order_on_the_inquiry_from_its_decision_and_acknowledgement_and_undoes_cleanly(
    database_url,
):
    migrations.upgrade(database_url, "0012")
    engine = create_engine(database_url)
    inquiries = {
        "open emergency": ("5e0c5a1e9b7d4c1e8a3f000000000001", "urgent_review"),
        "held, retriaged": ("5e0c5a1e9b7d4c1e8a3f000000000002", "needs_review"),
        "acknowledged urgent": ("5e0c5a1e9b7d4c1e8a3f000000000003", "urgent_review"),
        "never triaged": ("5e0c5a1e9b7d4c1e8a3f000000000004", "needs_review"),
    }
    decisions = [  # (inquiry, urgency, hold, superseded)
        ("open emergency", "emergency", None, False),
        ("held, retriaged", "routine", None, True),
        ("held, retriaged", "soon", "language", False),
        ("acknowledged urgent", "urgent", None, False),
    ]
    try:
        with engine.begin() as connection:
            for n, (inquiry_id, status) in enumerate(inquiries.values()):
                connection.execute(
                    text(
                        "INSERT INTO inquiries (id, idempotency_key, body_sha256, content_type, raw_body, payload,"
                        " status, received_at, updated_at, booking_attempts) VALUES (:id, :key, '', 'application/json',"
                        " :raw, '{}', :status, '2026-12-06 10:00:00', '2026-12-06 10:00:00', 0)"
                    ),
                    {"id": inquiry_id, "key": f"key-{n}", "raw": b"{}", "status": status},
                )
            for n, (name, urgency, hold, superseded) in enumerate(decisions):
                connection.execute(
                    text(
                        "INSERT INTO triage_decisions (id, inquiry_id, urgency, likely_cause, route, rule_id,"
                        " needs_review, hold, reasons, facts, rulebook_version, created_at, superseded_at) VALUES"
                        " (:id, :inquiry, :urgency, 'mechanical', 'consult', 'R9', false, :hold, '[]', '{}', 'v1',"
                        " :created, :superseded)"
                    ),
                    {
                        "id": f"6e0c5a1e9b7d4c1e8a3f00000000000{n}",
                        "inquiry": inquiries[name][0],
                        "urgency": urgency,
                        "hold": hold,
                        "created": f"2026-12-06 10:0{n}:00",
                        "superseded": "2026-12-06 11:00:00" if superseded else None,
                    },
                )
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor_name, action, inquiry_id, details) VALUES"
                    " ('2026-12-06 12:00:00', 'Sam Staff', 'acknowledge', :inquiry, '{}')"
                ),
                {"inquiry": inquiries["acknowledged urgent"][0]},
            )
        migrations.upgrade(database_url, "0013")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT urgency, hold, acknowledged_at IS NOT NULL, queue_rank FROM inquiries ORDER BY id")
            ).all()
        migrations.downgrade(database_url, "0012")
        with engine.connect() as connection:
            columns = {column["name"] for column in inspect(engine).get_columns("inquiries")}
            left = connection.execute(text("SELECT count(*) FROM inquiries")).scalar()
    finally:
        engine.dispose()

    assert [tuple(row) for row in kept] == [
        ("emergency", None, False, 0),  # an open emergency: first of all
        ("soon", "language", False, 32),  # held for reading, by the decision in force (not the superseded one)
        ("urgent", None, True, 41),  # acknowledged: below the open ones, by urgency
        (None, None, False, 14),  # no decision: never out of sight
    ]
    assert not columns & {"urgency", "hold", "acknowledged_at", "queue_rank"}
    assert left == 4


def test_0014_leaves_pending_inquiries_to_the_due_index_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0014")
    engine = create_engine(database_url)
    try:
        upgraded = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("inquiries")}
        migrations.downgrade(database_url, "0013")
        downgraded = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("inquiries")}
    finally:
        engine.dispose()

    assert "ix_inquiries_status_next_attempt_at" not in upgraded
    assert upgraded["ix_inquiries_status"] == ["status"]
    assert upgraded["ix_inquiries_due"] == ["next_attempt_at", "received_at"]
    assert set(downgraded) - set(upgraded) == {"ix_inquiries_status_next_attempt_at"}
    assert downgraded["ix_inquiries_status_next_attempt_at"] == ["status", "next_attempt_at"]
