"""Alembic migrations are the schema: they match the models and undo cleanly, on every backend."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from routing.adapters.db import migrations
from routing.adapters.db.models import Base

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
    "outbox_events",
    "outbox_deliveries",
    "outbox_attempts",
    "webhook_subscriptions",
}
#: What 0007 adds.
OUTBOX_TABLES = {"outbox_events", "outbox_deliveries", "outbox_attempts", "webhook_subscriptions"}


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
    assert (TABLES - OUTBOX_TABLES) - after_downgrade == {"sync_checkpoints"}


def test_0007_adds_the_outbox_and_webhook_subscriptions_and_undoes_cleanly(database_url):
    migrations.upgrade(database_url, "0006")

    migrations.upgrade(database_url, "0007")
    added = _tables(database_url) - (TABLES - OUTBOX_TABLES)
    migrations.downgrade(database_url, "0006")
    after_downgrade = _tables(database_url)

    assert added == OUTBOX_TABLES | {"alembic_version"}
    assert after_downgrade == (TABLES - OUTBOX_TABLES) | {"alembic_version"}
