"""The production entry point: gunicorn serving wsgi:app on a migrated database answers over HTTP,
slow clients do not starve it, and scripts/serve.sh runs web and booking worker together."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from bench.slow_clients_bench import Dribblers
from routing import create_app
from routing.adapters.db import migrations
from routing.adapters.db.models import Appointment, Inquiry
from tests.conftest import settings_for
from tests.gunicorn_helpers import REPO, free_port, start_gunicorn
from tests.http.intake_helpers import inquiry


@pytest.fixture
def served(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}", "LOG_LEVEL": "WARNING"}
    for step in (["db", "upgrade"], ["schedule", "seed", "--days", "7"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *step], cwd=REPO, env=env, check=True, timeout=120
        )
    server, base = start_gunicorn(env)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_serves_health_readiness_spec_and_problem_errors(served):
    assert requests.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{served}/readyz", timeout=5).json()["status"] == "ready"
    assert requests.get(f"{served}/openapi.json", timeout=5).json()["openapi"].startswith("3.")
    missing = requests.get(f"{served}/nowhere", timeout=5)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"


def test_health_answers_while_a_hundred_connections_dribble_their_headers(served):
    port = int(served.rsplit(":", 1)[1])
    with Dribblers("127.0.0.1", port, 100):
        time.sleep(1)  # every dribbling connection has reached a worker by now
        # Under sync workers these wait until the dribblers give up or are killed (about 25 s): the
        # 5 s bound is a generous "answered at all", not a speed claim (bench/slow_clients_bench.py).
        answers = [requests.get(f"{served}/healthz", timeout=5).json() for _ in range(5)]

    assert answers == [{"status": "ok"}] * 5


def test_a_dribbling_client_is_cut_off_once_its_headers_are_late(served):
    port = int(served.rsplit(":", 1)[1])
    with Dribblers("127.0.0.1", port, 1, interval=0.5) as dribbler:
        deadline = time.monotonic() + 20
        while dribbler.closed_by_server == 0 and time.monotonic() < deadline:
            time.sleep(0.5)

    assert dribbler.closed_by_server >= 1


_FREEZE_PROBE = """
import gc, json, runpy
from wsgi import app
before = len(gc.get_objects())
runpy.run_path("gunicorn.conf.py")["post_worker_init"](None)
print(json.dumps({"before": before, "after": len(gc.get_objects()), "frozen": gc.get_freeze_count()}))
"""


def test_a_worker_hides_what_it_built_at_start_from_the_garbage_collector(tmp_path):
    # A full collection walks every tracked object: the app's own (hundreds of thousands) made each one a pause
    # of ~90 ms, stalling every request on the worker (the staff queue's p99 in bench/scale_year.py).
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gc.sqlite3'}",
        "LOG_LEVEL": "ERROR",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    probe = subprocess.run(
        [sys.executable, "-c", _FREEZE_PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr

    counts = json.loads(probe.stdout.strip().splitlines()[-1])
    assert counts["frozen"] >= counts["before"] > 50_000
    assert counts["after"] < 1_000


# --- scripts/serve.sh -------------------------------------------------------------------------------


def _serve_env(tmp_path, marker: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ROUTING_", "PROMETHEUS_"))}
    # The marker lets the test find every process of this run (by environment) to prove none is left.
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        PORT=str(free_port()),
        TMPDIR=str(tmp_path),
        SERVE_TEST_MARKER=marker,
        LOG_LEVEL="WARNING",
    )
    return env


def _processes_of(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if f"SERVE_TEST_MARKER={marker}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _wait_gone(marker: str, seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _processes_of(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def serve_sh(tmp_path):
    """Starts scripts/serve.sh; yields (process, env, lines read so far); kills whatever is left after."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("finding the processes of a run needs Linux's /proc")
    marker = uuid.uuid4().hex
    env = _serve_env(tmp_path, marker)
    started = []

    def start():
        process = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("routing is running at"):
                return process, lines
        raise AssertionError("serve.sh stopped before saying it runs:\n" + "".join(lines))

    yield start, env, marker
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    for pid in _processes_of(marker):
        os.kill(pid, signal.SIGKILL)


def _pending_with_an_expired_lease(url: str) -> uuid.UUID:
    """An inquiry left as a web worker that died mid-request leaves it: pending, leased, lease run out."""
    migrations.upgrade(make_url(url))
    app = create_app(settings_for(make_url(url)))
    try:
        response = app.test_client().post("/v1/inquiries", json=inquiry())
        inquiry_id = uuid.UUID(response.get_json()["id"])
        with app.extensions["routing"].db.session() as session, session.begin():
            session.execute(update(Appointment).values(status="cancelled"))
            session.execute(
                update(Inquiry)
                .where(Inquiry.id == inquiry_id)
                .values(
                    status="pending_booking",
                    next_attempt_at=datetime.now(UTC) - timedelta(minutes=5),
                    lease_until=datetime.now(UTC) - timedelta(minutes=1),
                )
            )
    finally:
        app.extensions["routing"].db.dispose()
    return inquiry_id


def _status(url: str, inquiry_id: uuid.UUID) -> str:
    app = create_app(settings_for(make_url(url)))
    try:
        with app.extensions["routing"].db.session() as session:
            return session.scalar(select(Inquiry.status).where(Inquiry.id == inquiry_id))
    finally:
        app.extensions["routing"].db.dispose()


def test_serve_sh_books_what_a_dead_request_left_pending_and_counts_every_worker_in_metrics(serve_sh):
    start, env, marker = serve_sh
    inquiry_id = _pending_with_an_expired_lease(env["DATABASE_URL"])

    process, lines = start()
    base = re.search(r"http://\S+", lines[-1]).group(0)
    assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    deadline = time.monotonic() + 60
    while _status(env["DATABASE_URL"], inquiry_id) == "pending_booking" and time.monotonic() < deadline:
        time.sleep(0.5)
    settled = _status(env["DATABASE_URL"], inquiry_id)

    for _ in range(20):  # a new connection each: both web workers answer some
        assert requests.get(f"{base}/nowhere", timeout=5).status_code == 404
    text = requests.get(f"{base}/metrics", timeout=5).text
    counted = {
        sample.labels["method"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "routing_http_requests_total" and sample.labels["route"] == "<unmatched>"
    }

    process.send_signal(signal.SIGINT)  # Ctrl-C
    process.wait(timeout=60)
    assert settled in {"booked", "needs_review"}
    assert counted == {"GET": 20}
    assert process.returncode == 130
    assert _wait_gone(marker) == []
    assert list(Path(env["TMPDIR"]).glob("routing-metrics.*")) == []


def test_serve_sh_stops_the_web_server_and_fails_when_the_worker_dies(serve_sh):
    start, env, marker = serve_sh
    migrations.upgrade(make_url(env["DATABASE_URL"]))
    process, _ = start()
    worker = [pid for pid in _processes_of(marker) if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(worker) == 1

    os.kill(worker[0], signal.SIGKILL)
    rest = process.stdout.read()
    process.wait(timeout=60)

    assert process.returncode != 0
    assert "the booking worker stopped (exit 137); stopping the web server" in rest
    assert _wait_gone(marker) == []


def test_serve_sh_says_the_port_is_taken_and_fails(tmp_path):
    env = _serve_env(tmp_path, uuid.uuid4().hex)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["PORT"])))
        taken.listen()
        result = subprocess.run(
            ["bash", "scripts/serve.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )

    assert result.returncode == 1
    assert f"error: port {env['PORT']} on 127.0.0.1 is already in use" in result.stderr
    assert "routing is running" not in result.stdout
