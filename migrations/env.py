"""Alembic environment: runs migrations online against DATABASE_URL (or the URL set in code)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from routing.adapters.db.models import Base
from routing.config import load_settings

config = context.config
target_metadata = Base.metadata


def _url():
    configured = config.get_main_option("sqlalchemy.url")
    return configured or load_settings().database_url


def run_migrations_online() -> None:
    """Run migrations in one transaction per migration on a dedicated connection."""
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
