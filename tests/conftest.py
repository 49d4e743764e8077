"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when available) and the app.

Database tests take ``database_url``; it is parametrised so each runs once per backend. PostgreSQL
comes from ``TEST_POSTGRES_URL`` (``scripts/test.sh`` starts a throwaway server and sets it). Without
it those cases skip, unless ``ROUTING_REQUIRE_POSTGRES=1`` (set by the test script) makes them fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

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


def _postgres_server_url() -> URL | None:
    raw = os.environ.get("TEST_POSTGRES_URL")
    if raw:
        return make_url(raw)
    if os.environ.get("ROUTING_REQUIRE_POSTGRES") == "1":
        pytest.fail("ROUTING_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set; run scripts/test.sh.")
    pytest.skip("PostgreSQL not configured (set TEST_POSTGRES_URL, or run scripts/test.sh)")
    return None


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[URL]:
    """An empty database of each backend, dropped afterwards."""
    if request.param == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'routing.sqlite3'}")
        return
    server = _postgres_server_url()
    name = f"routing_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated_url(database_url) -> URL:
    """A database of each backend with every migration applied."""
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
