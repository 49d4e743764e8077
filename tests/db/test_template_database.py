"""The test databases: migrated ones are copies of a template the real migrations built once per session."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from routing.adapters.db import migrations


def _tables(url: URL) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revision(url: URL) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return migrations.current_revision(connection)
    finally:
        engine.dispose()


def _template_url(request, url: URL) -> URL:
    if url.get_backend_name() == "sqlite":
        return make_url(f"sqlite:///{request.getfixturevalue('sqlite_template')}")
    return url.set(database=request.getfixturevalue("postgres_template"))


def test_database_url_alone_is_empty_so_the_migration_tests_start_from_nothing(database_url):
    assert _tables(database_url) == set()


def test_migrated_url_is_the_tests_database_at_the_head_revision(database_url, migrated_url):
    assert migrated_url == database_url
    assert _revision(migrated_url) == migrations.head_revision()


def test_writes_to_a_migrated_database_leave_the_template_as_the_migrations_made_it(request, migrated_url):
    engine = create_engine(migrated_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (id INTEGER)"))
        connection.execute(text("UPDATE alembic_version SET version_num = 'scratch'"))
    engine.dispose()

    # Reading the PostgreSQL template connects to it; _revision() disposes its engine, or every later
    # CREATE DATABASE ... TEMPLATE would be refused while the connection lived.
    template = _template_url(request, migrated_url)
    assert "scratch" not in _tables(template)
    assert _revision(template) == migrations.head_revision()


def test_migrated_url_asked_for_after_an_empty_database_url_is_migrated(request, database_url):
    assert _tables(database_url) == set()

    url = request.getfixturevalue("migrated_url")

    assert url == database_url
    assert _revision(url) == migrations.head_revision()
