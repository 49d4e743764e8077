"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when available) and the app.

Database tests take ``database_url``; it is parametrised so each runs once per backend. PostgreSQL
comes from ``TEST_POSTGRES_URL`` (``scripts/test.sh`` starts a throwaway server and sets it). Without
it those cases skip, unless ``ROUTING_REQUIRE_POSTGRES=1`` (set by the test script) makes them fail.

Tests that take ``migrated_url`` get a copy of a template database that the real Alembic migrations
built once per session and backend (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL): running the migrations for every test made the suite minutes slower. Tests of the
migrations themselves take ``database_url`` alone and start from an empty database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import core as hypothesis_core
from hypothesis.vendor import pretty
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from routing import create_app
from routing.adapters.db import migrations

# schemathesis's pytest plugin swaps Hypothesis's printer for one that prints falsifying examples blank;
# put the real one back so a failing property test shows its input.
hypothesis_core.RepresentationPrinter = pretty.RepresentationPrinter

BACKENDS = ("sqlite", "postgresql")

#: The quick loop, ``pytest tests/unit -m fast``: tests of pure code that need no database, server,
#: subprocess or browser and together finish in seconds. These unit modules are left out, and why.
FAST_FOLDER = Path(__file__).resolve().parent / "unit"
NOT_FAST = {
    "test_config.py": "starts the WSGI entry point in a subprocess",
    "test_lexicon.py": "most tests compile a fresh copy of the lexicons, seconds each",
    "test_text_properties.py": "Hypothesis reads hundreds of generated texts, seconds per test",
}
#: Whether the test's ``database_url`` was copied from the migrated template.
_FROM_TEMPLATE = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the quick loop's tests ``fast`` by module, so no test file has to carry the mark."""
    for item in items:
        if item.path.parent == FAST_FOLDER and item.path.name not in NOT_FAST:
            item.add_marker(pytest.mark.fast)


def _postgres_server_url() -> URL | None:
    raw = os.environ.get("TEST_POSTGRES_URL")
    if raw:
        return make_url(raw)
    if os.environ.get("ROUTING_REQUIRE_POSTGRES") == "1":
        pytest.fail("ROUTING_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set; run scripts/test.sh.")
    pytest.skip("PostgreSQL not configured (set TEST_POSTGRES_URL, or run scripts/test.sh)")
    return None


def _create_postgres_database(server: URL, name: str, template: str | None = None) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    finally:
        admin.dispose()


def _drop_postgres_database(server: URL, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with every migration applied, built once per session; copy it, never open it."""
    path = tmp_path_factory.mktemp("template") / "routing.sqlite3"
    # Alembic's engine (migrations/env.py) uses no pool and is disposed: no connection is left open,
    # and it never turns on WAL, so the one file is the whole database.
    migrations.upgrade(make_url(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a PostgreSQL database with every migration applied, built once per session."""
    server = _postgres_server_url()
    # A unique name: two sessions may share one server.
    name = f"routing_template_{uuid.uuid4().hex[:12]}"
    _create_postgres_database(server, name)
    try:
        # PostgreSQL refuses to copy a template while anyone is connected to it; Alembic's engine
        # has no pool and is disposed once the migrations ran (migrations/env.py).
        migrations.upgrade(server.set(database=name))
        yield name
    finally:
        _drop_postgres_database(server, name)


@contextmanager
def migrated_postgres_copy(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A copy of the migrated PostgreSQL template for a test that picks its backend itself (skips without
    TEST_POSTGRES_URL, as ``database_url`` does); dropped afterwards."""
    server = _postgres_server_url()
    name = f"routing_test_{uuid.uuid4().hex[:12]}"
    _create_postgres_database(server, name, request.getfixturevalue("postgres_template"))
    try:
        yield server.set(database=name)
    finally:
        _drop_postgres_database(server, name)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[URL]:
    """The test's database of each backend, dropped afterwards.

    Empty, unless the test also takes ``migrated_url``: then it is a copy of the migrated template,
    so both fixtures name the same database and no test runs the migrations on its own.
    """
    migrated = "migrated_url" in request.fixturenames
    request.node.stash[_FROM_TEMPLATE] = migrated
    if request.param == "sqlite":
        path = tmp_path / "routing.sqlite3"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield make_url(f"sqlite:///{path}")
        return
    server = _postgres_server_url()
    template = request.getfixturevalue("postgres_template") if migrated else None
    name = f"routing_test_{uuid.uuid4().hex[:12]}"
    _create_postgres_database(server, name, template)
    try:
        yield server.set(database=name)
    finally:
        _drop_postgres_database(server, name)


@pytest.fixture
def migrated_url(request, database_url) -> URL:
    """A database of each backend with every migration applied (a copy of the session's template)."""
    if not request.node.stash[_FROM_TEMPLATE]:
        # Asked for with getfixturevalue() after database_url made an empty database: migrate it.
        migrations.upgrade(database_url)
    return database_url


def settings_for(url: URL, **overrides: object) -> dict[str, object]:
    """create_app() overrides for a test database; the process environment cannot leak in."""
    return {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "ROUTING_WEBHOOK_SECRET": "",
        "ROUTING_SCHEDULER": "embedded",
        "ROUTING_TIMEZONE": "America/New_York",
        "LOG_LEVEL": "INFO",
        "TESTING": True,
        **overrides,
    }


@pytest.fixture
def app(migrated_url):
    """The application on a migrated database."""
    application = create_app(settings_for(migrated_url))
    yield application
    application.extensions["routing"].db.dispose()


@pytest.fixture
def client(app):
    """A test client for :func:`app`."""
    return app.test_client()
