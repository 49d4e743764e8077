"""Web workers killed with SIGKILL mid-request under load: every stored inquiry is still decided and settled
(booked, or in front of staff) within 60 seconds, with a booking worker running beside gunicorn and no
human action."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from routing import create_app
from routing.adapters.db.models import Inquiry, TriageDecision
from tests.conftest import settings_for
from tests.gunicorn_helpers import REPO, start_gunicorn
from tests.http.intake_helpers import add_slots, inquiry

MESSAGES = [
    "Lifted a couch yesterday and my lower back went into spasm. Pain about 6/10.",
    "Severe back pain and I can't control my bladder, numb when I wipe.",
    "Back pain for three months, muscle relaxants did nothing. Diagnosed with facet arthritis.",
    "Me duele la espalda baja desde que levanté una caja ayer.",
]
SETTLED_WITHIN = 60  # seconds


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.fixture
def service(migrated_url, tmp_path):
    """gunicorn as served (gunicorn.conf.py), 2 workers, and one booking worker, on the test database."""
    app = create_app(settings_for(migrated_url))
    add_slots(app, "consult", [26 + hour / 4 for hour in range(200)])
    add_slots(app, "imaging", [50 + hour for hour in range(50)], minutes=60)
    add_slots(app, "injection", [24 * 20 + hour for hour in range(50)], minutes=60)
    env = {**os.environ, "DATABASE_URL": migrated_url.render_as_string(hide_password=False), "LOG_LEVEL": "WARNING"}
    env.pop("ROUTING_WEBHOOK_SECRET", None)
    web, base = start_gunicorn(env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--idle-sleep", "0.5"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield app, base, web
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)
        app.extensions["routing"].db.dispose()


def _unsettled(app) -> tuple[int, int, int]:
    """(stored, still pending, without a decision in force)."""
    with app.extensions["routing"].db.session() as session:
        stored = session.scalar(select(func.count()).select_from(Inquiry))
        pending = session.scalar(select(func.count()).where(Inquiry.status == "pending_booking"))
        decided = select(TriageDecision.inquiry_id).where(TriageDecision.superseded_at.is_(None))
        undecided = session.scalar(select(func.count()).where(Inquiry.id.not_in(decided)))
    return stored, pending, undecided


def test_killing_web_workers_mid_request_leaves_no_inquiry_undecided_or_unsettled(service):
    app, base, web = service
    acknowledged: list[str] = []
    failed = 0
    stop = threading.Event()

    def client(number: int) -> None:
        nonlocal failed
        session = requests.Session()
        sent = 0
        while not stop.is_set():
            body = inquiry(MESSAGES[sent % len(MESSAGES)])
            try:
                answer = session.post(
                    f"{base}/v1/inquiries",
                    json=body,
                    headers={"Idempotency-Key": f"{number}-{uuid.uuid4()}"},
                    timeout=10,
                )
            except requests.RequestException:  # the worker serving it was killed: the client would retry
                failed += 1
                session = requests.Session()
                continue
            if answer.status_code in (200, 201, 202):
                acknowledged.append(answer.json()["id"])
            sent += 1

    clients = [threading.Thread(target=client, args=(number,)) for number in range(4)]
    for thread in clients:
        thread.start()
    kills = 0
    for _ in range(4):
        time.sleep(1.0)
        for pid in _children(web.pid)[:1]:
            os.kill(pid, signal.SIGKILL)  # gunicorn's master starts a new worker
            kills += 1
    time.sleep(1.0)
    stop.set()
    for thread in clients:
        thread.join()

    deadline = time.monotonic() + SETTLED_WITHIN
    stored, pending, undecided = _unsettled(app)
    while (pending or undecided) and time.monotonic() < deadline:
        time.sleep(1)
        stored, pending, undecided = _unsettled(app)

    assert kills == 4
    assert len(acknowledged) > 20
    assert stored >= len(acknowledged)
    assert (pending, undecided) == (0, 0)
    with app.extensions["routing"].db.session() as session:
        found = set(session.scalars(select(Inquiry.id)).all())
    assert {uuid.UUID(inquiry_id) for inquiry_id in acknowledged} <= found
