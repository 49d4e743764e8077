"""The outbox delivered by real ``flask worker`` processes: an emergency's alert reaches an on-call receiver
within 10 seconds of the intake's answer, and a worker killed mid-delivery loses nothing (another worker
sends it again, with the same webhook-id, once the lease runs out)."""

from __future__ import annotations

import base64
import os
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select as query

from routing import create_app
from routing.adapters.db.models import OutboxAttempt, OutboxDelivery
from tests.conftest import settings_for
from tests.gunicorn_helpers import REPO
from tests.http.admin_helpers import RED_FLAG, make_token
from tests.http.intake_helpers import PATIENT, add_slots, inquiry
from tests.outbox.helpers import subscribe
from tests.outbox.receiver import Receiver

ALERT_SECRET = "whsec_" + base64.b64encode(b"on-call alert secret, 32 bytes!!").decode()
#: The issue's goal: an emergency reaches the on-call receiver within this many seconds of the intake's answer.
ALERT_WITHIN = 10.0


def _environment(url, **settings: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False), "LOG_LEVEL": "WARNING"}
    env.pop("ROUTING_WEBHOOK_SECRET", None)
    env.update(settings)
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """``flask worker`` as served, once it says it started (the app loaded, the schema checked)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([worker.stdout], [], [], 1.0)
        if ready and "worker started" in worker.stdout.readline():
            return worker
        if worker.poll() is not None:
            break
    worker.kill()
    raise AssertionError("the worker did not start")


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=60)


@pytest.fixture
def alerted(migrated_url):
    """An on-call receiver, the app set to alert it, and a worker process delivering."""
    with Receiver(secret=ALERT_SECRET) as receiver:
        settings = {"ROUTING_ALERT_WEBHOOK_URLS": receiver.url, "ROUTING_ALERT_WEBHOOK_SECRET": ALERT_SECRET}
        app = create_app(settings_for(migrated_url, **settings))
        worker = start_worker(_environment(migrated_url, **settings))
        try:
            yield app, receiver
        finally:
            stop(worker)
            app.extensions["routing"].db.dispose()


def test_an_emergency_alert_reaches_the_on_call_receiver_within_10_seconds_of_the_answer(alerted):
    app, receiver = alerted
    client = app.test_client()
    answers, answered = [], {}

    # Three emergencies at uneven moments, so they meet the worker's one-second poll at different points.
    for pause in (0.0, 0.37, 0.71):
        time.sleep(pause)
        response = client.post("/v1/inquiries", json=inquiry(RED_FLAG), headers={"Idempotency-Key": str(pause)})
        answered[response.get_json()["id"]] = time.monotonic()
        answers.append(response)
    got = receiver.wait_for(3, timeout=30)

    assert [a.status_code for a in answers] == [201] * 3
    assert [a.get_json()["triage"]["urgency"] for a in answers] == ["emergency"] * 3
    assert sorted(r.body["data"]["inquiry_id"] for r in got) == sorted(answered)
    latencies = [r.at - answered[r.body["data"]["inquiry_id"]] for r in got]
    print(f"alert latencies: {', '.join(f'{s:.2f}' for s in latencies)} s")  # shown with pytest -s
    assert max(latencies) < ALERT_WITHIN
    assert all(r.verified for r in got)
    assert {r.body["type"] for r in got} == {"inquiry.urgent_review"}
    assert all(r.body["text"].startswith("EMERGENCY: inquiry ") for r in got)
    assert not any(value in r.body["text"] for r in got for value in PATIENT.values())


def test_a_worker_killed_mid_delivery_loses_nothing_and_another_sends_it_again_with_the_same_id(migrated_url):
    app = create_app(settings_for(migrated_url))
    add_slots(app, "consult", [26 + n for n in range(5)])
    admin = make_token(app, "Ada Admin", "admin")
    client = app.test_client()
    # One sender, a short lease and short timeouts: the third delivery is in flight when the worker dies.
    env = _environment(
        migrated_url,
        ROUTING_OUTBOX_SENDERS="1",
        ROUTING_OUTBOX_LEASE_SECONDS="3",
        ROUTING_WEBHOOK_CONNECT_TIMEOUT="0.5",
        ROUTING_WEBHOOK_READ_TIMEOUT="2",
    )
    with Receiver() as receiver:
        receiver.secret = subscribe(client, admin, receiver.url, ["inquiry.received"])["secret"]
        receiver.hold_arrival = 3
        for _ in range(5):
            client.post("/v1/inquiries", json=inquiry(), headers={"Idempotency-Key": uuid.uuid4().hex})
        first = start_worker(env)
        try:
            assert len(receiver.wait_for(3, timeout=30)) == 3
            first.send_signal(signal.SIGKILL)  # mid-send: the receiver has not answered the third yet
            first.wait(timeout=30)
        finally:
            stop(first)
        receiver.release.set()
        second = start_worker(env)
        try:
            got = receiver.wait_for(6, timeout=30)
        finally:
            stop(second)

    ids = [r.webhook_id for r in got]
    assert len(got) == 6
    assert len(set(ids)) == 5  # every event arrived
    assert ids.count(ids[2]) == 2  # the one in flight when the worker died arrived again, same webhook-id
    assert all(r.verified for r in got)
    with app.extensions["routing"].db.session() as session:
        rows = session.scalars(query(OutboxDelivery)).all()
        killed = next(row for row in rows if str(row.event_id) == ids[2])
        logged = session.scalars(query(OutboxAttempt.result).where(OutboxAttempt.delivery_id == killed.id)).all()
    assert sorted(row.status for row in rows) == ["delivered"] * 5
    assert killed.attempts == 2
    assert logged == ["delivered"]  # the dead worker's attempt never came back to be logged
    app.extensions["routing"].db.dispose()
