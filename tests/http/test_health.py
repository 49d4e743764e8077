"""Probes: /healthz says the process is up; /readyz says whether it can serve."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from routing import create_app
from tests.conftest import settings_for


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_the_schema_is_at_head(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["migrations"]["current"] == body["migrations"]["head"] == "0014"


def test_readyz_is_503_with_retry_after_until_migrations_are_applied(database_url):
    app = create_app(settings_for(database_url))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["migrations"] == {"current": None, "head": "0014"}
    assert "db upgrade" in body["detail"]
    assert response.headers["Retry-After"] == "5"
    app.extensions["routing"].db.dispose()


def test_readyz_is_503_with_retry_after_when_the_database_is_unreachable():
    # Port 1 on loopback refuses at once: a database that is down.
    app = create_app(settings_for(make_url("postgresql+psycopg://routing:secret@127.0.0.1:1/routing")))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unreachable"
    assert response.headers["Retry-After"] == "5"
    assert "secret" not in response.get_data(as_text=True)


def test_healthz_stays_up_when_the_database_is_down():
    app = create_app(settings_for(make_url("postgresql+psycopg://routing@127.0.0.1:1/routing")))

    assert app.test_client().get("/healthz").status_code == 200
