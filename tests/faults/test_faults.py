"""The database going away mid-test (a real PostgreSQL server behind a proxy that is cut and restored)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from routing import create_app
from routing.adapters.db import database
from routing.adapters.db.models import Inquiry
from tests.conftest import settings_for
from tests.faults.tcp_proxy import TcpProxy
from tests.http.intake_helpers import add_slots, inquiry


def post(client, n: int):
    return client.post(
        "/v1/inquiries",
        json=inquiry(message=f"Lifted boxes on day {n}, back spasm."),
        headers={"Idempotency-Key": f"fault-{n}"},
    )


@pytest.fixture
def database_behind_a_proxy(migrated_url):
    if migrated_url.get_backend_name() != "postgresql":
        pytest.skip("a database server that goes away is PostgreSQL; SQLite is a file in the process")
    proxy = TcpProxy(migrated_url.host, migrated_url.port)
    yield migrated_url.set(host="127.0.0.1", port=proxy.port), proxy
    proxy.close()


def test_a_database_outage_answers_503_and_the_service_recovers_without_restart(database_behind_a_proxy):
    url, proxy = database_behind_a_proxy
    app = create_app(settings_for(url))
    add_slots(app, "consult", [26, 27, 28, 29])
    client = app.test_client()
    assert post(client, 1).status_code == 201

    proxy.cut()
    down = [post(client, 2), client.get("/readyz")]
    proxy.restore()
    back = [post(client, 3), client.get("/readyz")]

    for response in down:
        assert response.status_code == 503
        assert response.content_type == "application/problem+json"
    assert down[0].headers["Retry-After"]
    assert [r.status_code for r in back] == [201, 200]
    with app.extensions["routing"].db.session() as session:
        keys = session.scalars(select(Inquiry.idempotency_key)).all()
    assert sorted(keys) == ["fault-1", "fault-3"]  # the 503 stored nothing; the client retries it
    app.extensions["routing"].db.dispose()


def test_a_connection_dropped_between_requests_costs_no_request(database_behind_a_proxy):
    url, proxy = database_behind_a_proxy
    app = create_app(settings_for(url))
    add_slots(app, "consult", [26, 27])
    client = app.test_client()
    assert post(client, 1).status_code == 201

    proxy.cut()  # the database restarts between two requests: the pooled connection is dead
    proxy.restore()
    response = post(client, 2)

    assert response.status_code == 201
    assert response.get_json()["status"] == "booked"
    app.extensions["routing"].db.dispose()


def test_a_connection_idle_in_the_pool_is_checked_before_use(database_behind_a_proxy, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.05)
    url, proxy = database_behind_a_proxy
    app = create_app(settings_for(url))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    proxy.cut()
    proxy.restore()
    time.sleep(0.1)

    assert client.get("/readyz").status_code == 200
    app.extensions["routing"].db.dispose()


def test_an_inquiry_on_a_connection_pinged_after_idling_is_stored_and_booked(database_behind_a_proxy, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.05)
    url, _proxy = database_behind_a_proxy
    app = create_app(settings_for(url))
    add_slots(app, "consult", [26, 27])
    client = app.test_client()
    assert post(client, 1).status_code == 201

    time.sleep(0.1)  # the pooled connection is pinged at its next checkout
    response = post(client, 2)

    assert response.status_code == 201
    app.extensions["routing"].db.dispose()
