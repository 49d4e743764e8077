"""An activation (and a rollback) made in one process is in force in another running server within seconds,
without a restart, and the decisions that server stores carry the new version's label."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests

from routing import create_app
from tests.conftest import settings_for
from tests.gunicorn_helpers import start_gunicorn
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import add_slots, inquiry
from tests.http.rulebook_helpers import SHIPPED_LABEL, approved_version, decision_label

#: How often the server's processes ask which version is active (the default is 2 s; 1 s keeps the test short).
CHECK_SECONDS = 1.0
NEW_LABEL = "2026-12-07.1"


@pytest.fixture
def setup(migrated_url):
    """This process's app (where staff act) and a gunicorn server with two workers on the same database."""
    app = create_app(settings_for(migrated_url))
    add_slots(app, "consult", [26 + n for n in range(24)])
    env = {
        **os.environ,
        "DATABASE_URL": migrated_url.render_as_string(hide_password=False),
        "ROUTING_WEBHOOK_SECRET": "",
        "ROUTING_SCHEDULER": "embedded",
        "ROUTING_RATE_LIMITS": "off",
        "ROUTING_RULEBOOK_CHECK_SECONDS": str(CHECK_SECONDS),
        "LOG_LEVEL": "WARNING",
    }
    server, base = start_gunicorn(env, workers=2)
    try:
        yield app, server, base
    finally:
        server.terminate()
        server.wait(timeout=30)
        app.extensions["routing"].db.dispose()


def _served_inquiries(app, base: str, count: int) -> list[tuple[str, str, str]]:
    """Post ``count`` inquiries (the STRAIN message: rule R10) to the server; each stored decision's
    (label, rule, urgency)."""
    decided = []
    for _ in range(count):
        response = requests.post(
            f"{base}/v1/inquiries", json=inquiry(), headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=10
        )
        assert response.status_code in (201, 202), response.text
        decided.append(decision_label(app, response.json()["id"]))
    return decided


def _served_version(base: str, token: str, expected: str) -> str:
    """The version the server reports in force, polled until it is ``expected`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        version = requests.get(f"{base}/v1/admin/rulebook", headers=bearer(token), timeout=10).json()["version"]
        if version == expected or time.monotonic() > deadline:
            return version
        time.sleep(0.1)


def test_activation_and_rollback_reach_a_running_server_without_a_restart(setup):
    app, server, base = setup
    client = app.test_client()
    sam, ada, ben = (make_token(app, *who) for who in (("Sam", "staff"), ("Ada", "admin"), ("Ben", "admin")))
    assert _served_inquiries(app, base, 2) == [(SHIPPED_LABEL, "R10", "routine")] * 2
    version_id = approved_version(client, sam, ada, NEW_LABEL, r10_urgency="soon")

    activated = client.post(f"/v1/admin/rulebooks/{version_id}/activate", json={}, headers=bearer(ben))
    seen_after_activation = _served_version(base, sam, NEW_LABEL)
    # Every worker has checked since the activation once a check interval has passed: all decide with it now.
    time.sleep(CHECK_SECONDS + 0.5)
    after_activation = _served_inquiries(app, base, 6)

    rolled_back = client.post("/v1/admin/rulebooks/rollback", json={}, headers=bearer(ada))
    seen_after_rollback = _served_version(base, sam, SHIPPED_LABEL)
    time.sleep(CHECK_SECONDS + 0.5)
    after_rollback = _served_inquiries(app, base, 6)

    assert (activated.status_code, rolled_back.status_code) == (200, 200)
    assert server.poll() is None  # the same server, never restarted
    assert seen_after_activation == NEW_LABEL
    assert after_activation == [(NEW_LABEL, "R10", "soon")] * 6
    assert seen_after_rollback == SHIPPED_LABEL
    assert after_rollback == [(SHIPPED_LABEL, "R10", "routine")] * 6
