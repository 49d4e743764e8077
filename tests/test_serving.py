"""The production entry point: gunicorn serving wsgi:app on a migrated database answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}", "LOG_LEVEL": "WARNING"}
    for step in (["db", "upgrade"], ["schedule", "seed", "--days", "7"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *step], cwd=REPO, env=env, check=True, timeout=120
        )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # workers still starting
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
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
